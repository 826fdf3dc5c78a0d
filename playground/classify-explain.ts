// The explainer's program for one example through the Classify tab's current network: the same
// forward pass the worker trains (h = act(W x + b) per hidden layer, or W x + b for "linear"; softmax
// cross-entropy on the logits, or regression's squared error of the one output; no L1/L2 penalty),
// written in the explain language with the weights as values, so the Explain tab stages the forward
// and backward pass of the very weight that was clicked.
import type { FeatureName } from "./classify-data.js";
import { features } from "./classify-data.js";
import type { ClassifyActivation, ClassifyProblem, LayerWeights } from "./classify-protocol.js";

/** A number as the explainer reads it: 7 significant digits (float32 holds about that many). */
const num = (v: number) => String(Number(v.toPrecision(7)));
const vector = (v: readonly number[]) => `[${v.map(num).join(",")}]`;

/** The explainer's W is the lecture's (out, in), the transpose of the library's (in, out). */
function matrix(l: LayerWeights): string {
  const rows: string[] = [];
  for (let o = 0; o < l.outputs; o++) rows.push(vector(Array.from({ length: l.inputs }, (_, i) => l.W[i * l.outputs + o])));
  return `[${rows.join(",")}]`;
}

/** The name of layer k's weight matrix in the program (W1 is the first). */
export const weightName = (layer: number) => `W${layer + 1}`;

export interface ExplainProgram {
  expr: string;
  at: string;
}

export function explainProgram(
  weights: readonly LayerWeights[],
  activation: ClassifyActivation,
  chosen: readonly FeatureName[],
  example: { x: number; y: number; label: 0 | 1; value?: number },
  problem: ClassifyProblem = "classification",
): ExplainProgram {
  const lines: string[] = [];
  const values = [`x=${vector(features(example.x, example.y, chosen))}`];
  let input = "x";
  weights.forEach((l, k) => {
    const W = weightName(k);
    const b = `b${k + 1}`;
    values.push(`${W}=${matrix(l)}`, `${b}=${vector(l.b)}`);
    if (k + 1 < weights.length) {
      // "linear" is no activation at all: the hidden layer is the affine map itself.
      lines.push(activation === "linear" ? `h${k + 1} = linear(${W}, ${input}, ${b})` : `h${k + 1} = ${activation}(linear(${W}, ${input}, ${b}))`);
      input = `h${k + 1}`;
    } else lines.push(`z = linear(${W}, ${input}, ${b})`);
  });
  // Regression: the squared error of the one output against the point's value (the library's mse).
  if (problem === "regression") {
    lines.push("L = mse(z, y)");
    values.push(`y=[${num(example.value ?? 0)}]`);
  } else {
    lines.push("L = softmax_ce(z, y)");
    values.push(`y=${example.label === 1 ? "[0,1]" : "[1,0]"}`);
  }
  return { expr: lines.join("\n"), at: values.join(", ") };
}
