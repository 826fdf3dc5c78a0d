/** Input values: `--at x=1,y=3`, `--at W=[[0.1,0.5],[-0.3,0.8]]`, `--at y=pi/2`, all in float64. */
import * as bp from "../core.js";
import { CONSTANTS, postorder, type Expr } from "./ast.js";
import { MULTI_OPS, applyBin, applyFn, applyOp } from "./functions.js";
import { ExplainSyntaxError, parseExpression } from "./parser.js";

/** Evaluates an expression with no free variables (numbers, e, pi, arrays, functions) to a float64 tensor. */
export function evalConstant(root: Expr, source: string): bp.Tensor {
  const val = new Map<Expr, bp.Tensor>();
  for (const e of postorder(root))
    val.set(
      e,
      evalNode(e, (c) => val.get(c)!, source),
    );
  return val.get(root)!;
}

function evalNode(e: Expr, get: (child: Expr) => bp.Tensor, source: string): bp.Tensor {
  switch (e.kind) {
    case "num":
      return bp.scalar(e.value, "float64");
    case "const":
      return bp.scalar(CONSTANTS.get(e.name)!, "float64");
    case "var":
      throw new ExplainSyntaxError(`a value cannot refer to the name '${e.name}'`, e.span?.start ?? 0, source);
    case "neg":
      return bp.neg(get(e.arg));
    case "bin":
      return applyBin(e.op, get(e.left), get(e.right));
    case "call":
      return applyFn(e.fn, get(e.arg));
    case "apply":
      // The parser admits only the built-in functions of several arguments and declared abstract functions; the latter have no value.
      if (MULTI_OPS.has(e.fn)) return applyOp(MULTI_OPS.get(e.fn)!, e.args.map(get));
      throw new ExplainSyntaxError(`${e.fn} is an abstract function (declared with fn): it has no value`, e.span?.start ?? 0, source);
    case "array": {
      if (e.items.length === 0) return bp.tensor([], { dtype: "float64" });
      const items = e.items.map(get);
      const first = items[0].shape;
      items.forEach((t, k) => {
        if (t.shape.join() !== first.join()) {
          throw new ExplainSyntaxError(
            `array items must have the same shape: item ${k + 1} has shape ${bp.formatShape(t.shape)}, item 1 has ${bp.formatShape(first)}`,
            e.items[k].span?.start ?? 0,
            source,
          );
        }
      });
      return bp.stack(items, 0);
    }
  }
}

/** Splits `x=1,y=[1,2]` on commas outside brackets and parentheses. */
export function splitAssignments(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of text) {
    if (ch === "[" || ch === "(") depth++;
    if (ch === "]" || ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Parses every `--at` argument into named float64 tensors; errors say which assignment is wrong. */
export function parseAssignments(args: readonly string[]): Map<string, bp.Tensor> {
  const values = new Map<string, bp.Tensor>();
  for (const arg of args) {
    for (const part of splitAssignments(arg)) {
      const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/s.exec(part);
      if (!m) throw new ExplainSyntaxError(`expected NAME=VALUE, got "${part}"`, 0, part);
      const [, name, valueText] = m;
      if (CONSTANTS.has(name)) throw new ExplainSyntaxError(`'${name}' is a constant and cannot be given a value`, 0, part);
      if (valueText.trim() === "") throw new ExplainSyntaxError(`missing value for '${name}'`, part.length, part);
      const offset = part.indexOf("=") + 1;
      try {
        values.set(name, evalConstant(parseExpression(valueText), valueText));
      } catch (e) {
        if (e instanceof ExplainSyntaxError) throw new ExplainSyntaxError(`in the value of '${name}': ${e.message}`, offset + e.position, part, e.hint);
        throw e;
      }
    }
  }
  return values;
}
