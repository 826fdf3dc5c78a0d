/** Walking the recorded graph: both the backward and the forward interpreter visit it in this order. */
import type { Tensor } from "./tensor.js";

let walkCounter = 0;

/**
 * Tensors reachable backwards from `roots` through tensors that require grad, in topological order
 * (inputs before the tensors made from them). Iterative, so a chain of a million nodes is fine.
 * Tensors in `stop` are included but not expanded.
 */
export function topoOrder(roots: readonly Tensor[], stop: ReadonlySet<Tensor>): { order: Tensor[]; done: number } {
  // Each walk gets two fresh mark values: `open` while a tensor's inputs are pending, `done` after.
  const open = (walkCounter += 2) - 1;
  const done = walkCounter;
  const order: Tensor[] = [];
  const stack: Tensor[] = [];
  for (const r of roots) if (r.requiresGrad && r.visitMark < open) stack.push(r);
  while (stack.length > 0) {
    const t = stack[stack.length - 1];
    if (t.visitMark === done) {
      stack.pop();
      continue;
    }
    if (t.visitMark === open) {
      t.visitMark = done;
      order.push(t);
      stack.pop();
      continue;
    }
    t.visitMark = open;
    if (t.node && (stop.size === 0 || !stop.has(t))) {
      for (const i of t.node.inputs) if (i.requiresGrad && i.visitMark < open) stack.push(i);
    }
  }
  return { order, done };
}
