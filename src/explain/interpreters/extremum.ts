/**
 * max(a, b) and min(a, b) at a point: which operand the stage picks (the branch its indicator rules
 * 1[a > b] and 1[a <= b] take), and the warning at a tie, where neither rule holds and the core splits
 * the gradient evenly (1/2 each, as PyTorch and JAX do).
 */
import type * as bp from "../core.js";
import { printText } from "../language/print.js";
import type { Stage } from "./stage.js";

/** Each argument of a stage as a scalar with its label (name, or the constant as written); null for arrays. */
function operands(s: Stage, values: ReadonlyMap<string, bp.Tensor>, fmt: (x: number) => string): { name: string | null; text: string; value: number }[] | null {
  const out: { name: string | null; text: string; value: number }[] = [];
  for (const a of s.args) {
    const t = a.kind === "ref" ? values.get(a.name) : a.value;
    if (t === undefined || t.size !== 1) return null;
    out.push({ name: a.kind === "ref" ? a.name : null, text: a.kind === "ref" ? `${a.name} = ${fmt(t.item())}` : printText(a.expr), value: t.item() });
  }
  return out;
}

/** "x = 2 > y = 1" for max or min stages with scalar operands; a tie says how the gradient is split. */
export function extremumBranch(s: Stage, values: ReadonlyMap<string, bp.Tensor>, fmt: (x: number) => string): string | null {
  if (s.op !== "maximum" && s.op !== "minimum") return null;
  const ops = operands(s, values, fmt);
  if (ops === null) return null;
  const [a, b] = ops;
  if (a.value === b.value) return `${[a.name, b.name].filter((n) => n !== null).join(" = ")} = ${fmt(a.value)}, a tie: split 1/2 each`;
  if (Number.isNaN(a.value) || Number.isNaN(b.value)) return null;
  return `${a.text} ${a.value > b.value ? ">" : "<"} ${b.text}`;
}

/** Kink warnings: max or min stages whose operands tie somewhere at the point. */
export function extremumWarnings(stages: readonly Stage[], values: ReadonlyMap<string, bp.Tensor>, eq: (s: Stage) => string): string[] {
  const w: string[] = [];
  for (const s of stages) {
    if (s.op !== "maximum" && s.op !== "minimum") continue;
    const [a, b] = s.args.map((x) => (x.kind === "ref" ? values.get(x.name) : x.value));
    if (a === undefined || b === undefined) continue;
    const at = (t: bp.Tensor, i: number) => t.data[t.size === 1 ? 0 : i % t.size];
    const n = Math.max(a.size, b.size);
    // Broadcasting pairs elements in ways this index does not follow for general shapes, so only
    // equal sizes and scalars are compared; a tie elsewhere is still exact in the gradients.
    if (a.size !== b.size && a.size !== 1 && b.size !== 1) continue;
    let tie = false;
    for (let i = 0; i < n && !tie; i++) tie = at(a, i) === at(b, i);
    if (tie)
      w.push(
        `kink: stage ${eq(s)}: ${s.op === "maximum" ? "max" : "min"} is not differentiable where its operands are equal; the gradient there is split evenly, 1/2 to each (as in PyTorch and JAX)`,
      );
  }
  return w;
}
