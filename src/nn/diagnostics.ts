/** Diagnostics: parameter counts, gradient norms, dead ReLUs, symmetric weights, and backward-pass shapes. */
import { Tensor } from "../core/tensor.js";
import { formatShape } from "../core/shape.js";
import { noGrad } from "../core/bind.js";
import { zeros } from "../core/ops/create.js";
import { Module } from "./module.js";
import { Linear, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh } from "./layers.js";
import { AvgPool2d, Conv2d, Flatten, MaxPool2d, Unflatten } from "./conv-layers.js";
import { BatchNorm1d, BatchNorm2d, LayerNorm } from "./norm-layers.js";

export interface LayerCount {
  name: string;
  weights: number;
  biases: number;
  /** What the layer is: Linear(8 -> 10), Conv2d(1 -> 16, 3x3, padding 1), BatchNorm2d(16). */
  layer: string;
}

/**
 * Weights and biases per layer with parameters (Linear, Conv2d, the normalizations...): a field `bias`
 * counts as biases, every other parameter as weights. [8,10,10,3] has 210 weights and 23 biases (233 in
 * all); a Conv2d(C -> O, kh x kw) has O*C/groups*kh*kw weights and O biases.
 */
export function parameterCounts(model: Module): { layers: LayerCount[]; weights: number; biases: number; total: number } {
  const layers: LayerCount[] = [];
  const walk = (m: Module, name: string): void => {
    // The module's own parameters: its fields, as Module finds them (children are counted as their own layers).
    const own = Object.entries(m).filter((e): e is [string, Tensor] => e[1] instanceof Tensor && e[1].requiresGrad);
    if (own.length > 0) {
      const count = (bias: boolean) => own.filter(([k]) => (k === "bias") === bias).reduce((a, [, t]) => a + t.size, 0);
      layers.push({ name, weights: count(false), biases: count(true), layer: layerName(m) });
    }
    for (const [child, c] of m.children()) walk(c, name ? `${name}.${child}` : child);
  };
  walk(model, "");
  const weights = layers.reduce((a, l) => a + l.weights, 0);
  const biases = layers.reduce((a, l) => a + l.biases, 0);
  return { layers, weights, biases, total: weights + biases };
}

/** L2 norm of each parameter's gradient (null before backward). */
export function gradientNorms(model: Module): { name: string; norm: number | null }[] {
  return model.namedParameters().map(([name, p]) => {
    if (!p.grad) return { name, norm: null };
    let s = 0;
    for (const g of p.grad.data) s += g * g;
    return { name, norm: Math.sqrt(s) };
  });
}

/** Fraction of units (columns of a (N, units) activation) that are zero for every example: dead ReLUs. */
export function deadFraction(activations: Tensor): number {
  const [n, units] = activations.ndim === 2 ? activations.shape : [1, activations.size];
  let dead = 0;
  for (let j = 0; j < units; j++) {
    let alive = false;
    for (let i = 0; i < n && !alive; i++) alive = activations.data[i * units + j] > 0;
    if (!alive) dead++;
  }
  return units === 0 ? 0 : dead / units;
}

/** Warnings for Linear layers whose weights are all equal: every unit gets the same gradient, forever. */
export function symmetryWarnings(model: Module): string[] {
  // Only Linear weights: a normalization layer's weight starts all ones by design.
  const linear = new Set<Tensor>();
  const walk = (m: Module): void => {
    if (m instanceof Linear) linear.add(m.weight);
    for (const [, c] of m.children()) walk(c);
  };
  walk(model);
  const out: string[] = [];
  for (const [name, p] of model.namedParameters()) {
    if (!linear.has(p) || p.size < 2) continue;
    const w0 = p.data[0];
    if (p.data.every((w) => w === w0)) {
      out.push(`${name}: all ${p.size} weights equal ${w0}; the units of this layer get identical gradients and symmetry never breaks (initialize randomly)`);
    }
  }
  return out;
}

/** Fraction of dead ReLUs per ReLU layer of a Sequential, measured on a batch. */
export function deadRelus(model: Sequential, x: Tensor): { layer: string; fraction: number }[] {
  const out: { layer: string; fraction: number }[] = [];
  let h = x;
  model.layers.forEach((l, i) => {
    h = l.forward(h);
    if (l instanceof ReLU) out.push({ layer: `layers.${i}`, fraction: deadFraction(h) });
  });
  return out;
}

/** "3x3" for a square or rectangular window. */
const windowText = (k: number | readonly [number, number]): string => (typeof k === "number" ? `${k}x${k}` : `${k[0]}x${k[1]}`);

function layerName(l: Module): string {
  if (l instanceof Linear) return `Linear(${l.inFeatures} -> ${l.outFeatures})`;
  if (l instanceof Conv2d) {
    const extra = [
      ...(l.stride.some((v) => v !== 1) ? [`stride ${l.stride[0] === l.stride[1] ? l.stride[0] : l.stride.join("x")}`] : []),
      ...(l.padding !== 0 ? [`padding ${Array.isArray(l.padding) ? l.padding.join("x") : String(l.padding)}`] : []),
      ...(l.groups !== 1 ? [`groups ${l.groups}`] : []),
    ];
    return `Conv2d(${l.inChannels} -> ${l.outChannels}, ${windowText(l.kernelSize)}${extra.map((e) => `, ${e}`).join("")})`;
  }
  if (l instanceof MaxPool2d || l instanceof AvgPool2d) return `${l instanceof MaxPool2d ? "MaxPool2d" : "AvgPool2d"}(${windowText(l.options.kernelSize)})`;
  if (l instanceof BatchNorm1d || l instanceof BatchNorm2d) return `${l instanceof BatchNorm1d ? "BatchNorm1d" : "BatchNorm2d"}(${l.numFeatures})`;
  if (l instanceof LayerNorm) return `LayerNorm(${l.normalizedShape.join(", ")})`;
  if (l instanceof Flatten) return "Flatten";
  if (l instanceof Unflatten) return `Unflatten(${l.dim}, (${l.sizes.join(", ")}))`;
  if (l instanceof ReLU) return "ReLU";
  if (l instanceof LeakyReLU) return `LeakyReLU(${l.slope})`;
  if (l instanceof Sigmoid) return "Sigmoid";
  if (l instanceof Tanh) return "Tanh";
  return l.constructor.name;
}

/**
 * The shape after each layer of a Sequential for an input of `inShape`: the layers run once on zeros
 * (no gradients, evaluation mode so running statistics stay as they are), so any layer the library has
 * gives its true shape. An input a layer cannot take is an error naming the layer and the shape.
 */
export function layerShapes(model: Sequential, inShape: readonly number[]): number[][] {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      const dtype = model.parameters()[0]?.dtype ?? "float32";
      let h = zeros(inShape, { dtype });
      const shapes: number[][] = [[...inShape]];
      model.layers.forEach((l, i) => {
        try {
          h = l.forward(h);
        } catch (e) {
          throw new Error(`layers.${i} ${layerName(l)} cannot take an input of shape ${formatShape(h.shape)}: ${e instanceof Error ? e.message : String(e)}`);
        }
        shapes.push([...h.shape]);
      });
      return shapes;
    });
  } finally {
    model.train(wasTraining);
  }
}

/** The two lines of one layer's backward step: what it computes, and dout -> each gradient with its shape. */
function layerBackward(l: Module, where: string, inp: readonly number[], out: readonly number[]): string[] {
  const S = formatShape;
  if (l instanceof Linear) {
    return [
      `${where}: out = x W + b`,
      `  dout ${S(out)} -> dW = x^T dout ${S([l.inFeatures, l.outFeatures])} (as W), db = sum over the batch ${S([l.outFeatures])} (as b), dx = dout W^T ${S(inp)} (as x)`,
    ];
  }
  if (l instanceof Conv2d) {
    const db = l.bias ? `, db = sum of dout over N, H, W ${S(l.bias.shape)} (as b)` : "";
    return [
      `${where}: out = conv2d(x, W)${l.bias ? " + b" : ""}`,
      `  dout ${S(out)} -> dW = correlation of x with dout, summed over the batch ${S(l.weight.shape)} (as W)${db}, dx = transposed convolution of dout with W (the full convolution with W rotated 180 degrees at stride 1) ${S(inp)} (as x)`,
    ];
  }
  if (l instanceof MaxPool2d)
    return [
      `${where}: no parameters`,
      `  dout ${S(out)} -> dx = dout routed to the argmax of each ${windowText(l.options.kernelSize)} window, 0 elsewhere ${S(inp)} (as x)`,
    ];
  if (l instanceof AvgPool2d) {
    const k = l.options.kernelSize;
    const n = typeof k === "number" ? k * k : k[0] * k[1];
    return [`${where}: no parameters`, `  dout ${S(out)} -> dx = dout spread as 1/${n} over each ${windowText(k)} window ${S(inp)} (as x)`];
  }
  if (l instanceof Flatten || l instanceof Unflatten) return [`${where}: no parameters`, `  dout ${S(out)} -> dx = dout reshaped back ${S(inp)} (as x)`];
  if (l instanceof BatchNorm1d || l instanceof BatchNorm2d || l instanceof LayerNorm) {
    const over = l instanceof LayerNorm ? "the normalized axes" : inp.length > 2 ? "N, H, W" : "N";
    const params = l.weight ? `dgamma = sum of dout * xhat ${S(l.weight.shape)} (as gamma), dbeta = sum of dout ${S(l.weight.shape)} (as beta), ` : "";
    return [
      `${where}: out = gamma xhat + beta, xhat = (x - mean) / sigma over ${over}`,
      `  dout ${S(out)} -> ${params}dx = (gamma / (m sigma)) (m dout - sum(dout) - xhat sum(dout xhat)) ${S(inp)} (as x)`,
    ];
  }
  const local = l instanceof ReLU ? "1[x > 0]" : l instanceof Sigmoid ? "s (1 - s)" : l instanceof Tanh ? "1 - t^2" : "local derivative";
  return [`${where}: elementwise`, `  dout ${S(out)} -> dx = dout * ${local} ${S(inp)} (no parameters)`];
}

/**
 * The backward pass of a Sequential layer by layer, right to left, with the shape of every dout,
 * dW, db and dx: the lecture's denominator convention, where a gradient has its variable's shape.
 * `input` is one example's size (an MLP's features) or shape ([1, 28, 28] for a CNN's images).
 */
export function backwardShapes(model: Sequential, batch: number, input: number | readonly number[], classes: number): string[] {
  // Run on one example (a huge --batch allocates nothing); every layer keeps the batch axis first.
  const shapes = layerShapes(model, [1, ...(typeof input === "number" ? [input] : input)]).map((s) => [batch, ...s.slice(1)]);
  const lines: string[] = [];
  const last = shapes[shapes.length - 1];
  lines.push(`loss = softmax cross-entropy of logits ${formatShape(last)} against ${batch} class indices (${classes} classes)`);
  lines.push(`dlogits = (softmax(logits) - onehot) / ${batch}: ${formatShape(last)}`);
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const l = model.layers[i];
    lines.push(...layerBackward(l, `layers.${i} ${layerName(l)}`, shapes[i], shapes[i + 1]));
  }
  return lines;
}
