/**
 * The one walk over a recorded graph that the symbolic reader, the code printer and the replaying
 * evaluator share: post-order, iterative (a chain of a million nodes cannot overflow the stack), each
 * tensor visited once however many times it is used.
 */
import type * as bp from "../core.js";

export interface GraphFold<T> {
  /** The value of a tensor that ends the walk (a named one, a constant), or undefined to look inside. */
  stop(u: bp.Tensor): T | undefined;
  /** What `u` is made from (its node's inputs unless a reader says otherwise); called before they are visited. */
  inputs?(u: bp.Tensor): readonly bp.Tensor[];
  /** The value of `u` from the values of its inputs. */
  combine(u: bp.Tensor, inputs: T[]): T;
}

export function foldGraph<T>(root: bp.Tensor, f: GraphFold<T>): T {
  const memo = new Map<bp.Tensor, T>();
  const deps = new Map<bp.Tensor, readonly bp.Tensor[]>();
  const stack: bp.Tensor[] = [root];
  while (stack.length > 0) {
    const u = stack[stack.length - 1];
    if (memo.has(u)) {
      stack.pop();
      continue;
    }
    const seen = deps.get(u);
    if (seen) {
      stack.pop();
      memo.set(
        u,
        f.combine(
          u,
          seen.map((i) => memo.get(i)!),
        ),
      );
      continue;
    }
    const stopped = f.stop(u);
    if (stopped !== undefined) {
      stack.pop();
      memo.set(u, stopped);
      continue;
    }
    const ins = f.inputs ? f.inputs(u) : (u.node?.inputs ?? []);
    deps.set(u, ins);
    for (const i of ins) if (!memo.has(i)) stack.push(i);
  }
  return memo.get(root)!;
}
