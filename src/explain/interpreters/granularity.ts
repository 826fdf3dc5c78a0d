/**
 * Staging at the granularity of primitives: each gate call (sigmoid, tanh, mse, softmax_ce) rewritten as
 * its primitive form (language/gates.ts) before the stager splits a statement into stages. The result
 * may share nodes (a gate's argument used twice), so it is walked with `postorderOnce`.
 */
import { BUILTIN_FUNCTIONS, children, postorder, type Expr } from "../language/ast.js";
import { GATE_PRIMITIVES, gateOf } from "../language/gates.js";

/** `e` with its children replaced (the same node when none changed). */
function withChildren(e: Expr, kids: readonly Expr[]): Expr {
  const old = children(e);
  if (kids.every((k, i) => k === old[i])) return e;
  switch (e.kind) {
    case "neg":
    case "call":
      return { ...e, arg: kids[0] };
    case "bin":
      return { ...e, left: kids[0], right: kids[1] };
    case "array":
      return { ...e, items: kids };
    case "apply":
      return { ...e, args: kids };
    default:
      return e;
  }
}

/**
 * The statement's expression with every gate call that depends on a variable (or an abstract function)
 * written in primitives; constant calls (sigmoid(2)) stay as written, since constants are not staged.
 */
export function expandGates(root: Expr): Expr {
  const out = new Map<Expr, Expr>();
  const varying = new Map<Expr, boolean>();
  for (const n of postorder(root)) {
    const kids = children(n);
    varying.set(n, n.kind === "var" || (n.kind === "apply" && !BUILTIN_FUNCTIONS.has(n.fn)) || kids.some((c) => varying.get(c)));
    const args = kids.map((c) => out.get(c)!);
    const gate = gateOf(n);
    out.set(n, gate !== null && varying.get(n) ? GATE_PRIMITIVES[gate](args, n.span) : withChildren(n, args));
  }
  return out.get(root)!;
}

/** Nodes in post-order, each node once even where it is shared (for a tree, the same as `postorder`). */
export function postorderOnce(root: Expr): Expr[] {
  const out: Expr[] = [];
  const seen = new Set<Expr>();
  const stack: [Expr, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const kids = children(top[0]);
    if (top[1] < kids.length) {
      const k = kids[top[1]++];
      if (!seen.has(k)) {
        seen.add(k);
        stack.push([k, 0]);
      }
    } else {
      stack.pop();
      out.push(top[0]);
    }
  }
  return out;
}
