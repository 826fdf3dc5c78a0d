/**
 * Prints a recorded graph with the primitive table's own printers (text, Python, TypeScript), for
 * array programs where shapes matter: reshapes, broadcasts and reductions are printed faithfully.
 */
import * as bp from "../core.js";
import { foldGraph } from "./walk.js";

export type CodeLang = "text" | "python" | "ts";

function literal(t: bp.Tensor, lang: CodeLang): string {
  if (t.size === 1 && t.ndim === 0) return fmt(t.data[0], lang);
  const nested = nestedText(t.toArray(), lang);
  if (lang === "python") return `np.array(${nested})`;
  if (lang === "ts") return `bp.tensor(${nested}, { dtype: "float64" })`;
  return nested;
}

function nestedText(v: bp.Nested, lang: CodeLang): string {
  return typeof v === "number" ? fmt(v, lang) : `[${v.map((x) => nestedText(x, lang)).join(",")}]`;
}

/** A number literal; JSON and String() have none for Infinity and NaN that all three languages read. */
function fmt(v: number, lang: CodeLang): string {
  if (Number.isFinite(v)) return `${v}`;
  const sign = v < 0 ? "-" : "";
  if (lang === "python") return Number.isNaN(v) ? "np.nan" : `${sign}np.inf`;
  if (lang === "ts") return Number.isNaN(v) ? "NaN" : `${sign}Infinity`;
  return Number.isNaN(v) ? "(0 / 0)" : `(${sign}1 / 0)`;
}

const ATOM = /^(?:-?[\d.]+(?:e[+-]?\d+)?|[A-Za-z_][\w.]*(?:\(.*\))?|\[.*\]|np\.array\(.*\))$/;

function isBalancedCall(s: string): boolean {
  // "f(a) + g(b)" matches the ATOM pattern's call form but is not one call.
  if (!s.endsWith(")")) return true;
  let depth = 0;
  for (let i = s.indexOf("("); i < s.length; i++) {
    if (s[i] === "(") depth++;
    else if (s[i] === ")" && --depth === 0 && i !== s.length - 1) return false;
  }
  return true;
}

/** `s` as an operand: names, calls and literals as they are, anything else in parentheses. */
export function atom(s: string): string {
  return ATOM.test(s) && isBalancedCall(s) && !s.startsWith("-") ? s : `(${s})`;
}

/** Code for tensor `t`, with `names` naming the tensors that are variables in the generated code. */
export function graphCode(t: bp.Tensor, names: ReadonlyMap<bp.Tensor, string>, lang: CodeLang): string {
  return foldGraph<string>(t, {
    stop: (u) => names.get(u) ?? (u.node ? undefined : literal(u, lang)),
    combine(u, args) {
      const node = u.node!;
      // A reshape or broadcast to the shape it already has is no operation.
      if (
        (node.prim === "reshape" || node.prim === "broadcast" || node.prim === "cast") &&
        node.inputs[0].shape.join() === u.shape.join() &&
        node.inputs[0].dtype === u.dtype
      )
        return args[0];
      const spec = bp.PRIMS[node.prim] as bp.Spec<bp.Prim>;
      return spec.print[lang](args.map(atom), node.params);
    },
  });
}
