/**
 * The ONNX interpreter over the primitive table: walks a captured graph (core/capture.ts) from its
 * outputs back to its sources and writes each primitive application with its rule from prims.ts.
 * Sources become graph inputs, tensors no source flows into become initializers, and our dtype
 * promotion is made explicit with Casts (ONNX operators take operands of one type).
 */
import type { Capture } from "../../core/capture.js";
import type { DType } from "../../core/dtype.js";
import type { Prim } from "../../core/prim.js";
import { PRIMS } from "../../core/primitives.js";
import type { Tensor } from "../../core/tensor.js";
import { elemTypeOf, GraphBuilder } from "./builder.js";
import { ONNX_RULES, type OnnxRule, type OnnxRules, type RuleArgs } from "./prims.js";
import { attrInt, OnnxDataType, tensorValueInfo, type OnnxGraph } from "./proto.js";

/** A graph input or output; `int64` declares it so in the graph, with a Cast to or from the tensor's dtype. */
export interface GraphPort {
  readonly name: string;
  readonly tensor: Tensor;
  readonly int64?: boolean;
}

export class UnmappedPrimitiveError extends Error {
  constructor(readonly prim: Prim) {
    super(`ONNX export: primitive '${prim}' has no standard ONNX mapping (its rule in src/interop/onnx/prims.ts is null), and the computation uses it`);
    this.name = "UnmappedPrimitiveError";
  }
}

/** Writes the computation from `inputs` to `outputs` recorded in `capture` as an ONNX graph. */
export function emitGraph(
  capture: Capture,
  inputs: readonly GraphPort[],
  outputs: readonly GraphPort[],
  name: string,
  rules: OnnxRules = ONNX_RULES,
): OnnxGraph {
  const g = new GraphBuilder();
  const names = new Map<Tensor, string>();
  const taken = new Set<string>();
  const claim = (n: string, what: string): void => {
    if (taken.has(n)) throw new Error(`ONNX export: the name '${n}' is used twice (${what})`);
    taken.add(n);
  };
  for (const p of inputs) {
    claim(p.name, "graph input");
    if (names.has(p.tensor)) throw new Error(`ONNX export: inputs '${names.get(p.tensor)}' and '${p.name}' are the same tensor`);
    names.set(p.tensor, p.int64 ? g.op("Cast", [p.name], [attrInt("to", elemTypeOf(p.tensor.dtype))]) : p.name);
  }
  for (const p of outputs) claim(p.name, "graph output");

  const resolve = (t: Tensor): Tensor => {
    let u = t;
    for (let a = capture.aliases.get(u); a; a = capture.aliases.get(u)) u = a;
    return u;
  };
  // Iterative post-order walk: a tensor is written once all its inputs have names.
  const visit = (root: Tensor): string => {
    const stack: Tensor[] = [resolve(root)];
    while (stack.length > 0) {
      const t = stack[stack.length - 1];
      if (names.has(t)) {
        stack.pop();
        continue;
      }
      const node = capture.nodes.get(t);
      if (!node) {
        names.set(t, constantOf(g, t));
        stack.pop();
        continue;
      }
      const ins = node.inputs.map(resolve);
      const pending = ins.filter((i) => !names.has(i));
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      stack.pop();
      names.set(t, apply(g, rules, node.prim, node.params, ins, names, t));
    }
    return names.get(resolve(root))!;
  };

  for (const p of outputs) {
    const v = visit(p.tensor);
    g.op(p.int64 ? "Cast" : "Identity", [v], p.int64 ? [attrInt("to", OnnxDataType.INT64)] : [], p.name);
  }
  const info = (p: GraphPort) => tensorValueInfo(p.name, p.int64 ? OnnxDataType.INT64 : elemTypeOf(p.tensor.dtype), p.tensor.shape);
  return { name, nodes: g.nodes, initializers: g.initializers, inputs: inputs.map(info), outputs: outputs.map(info), valueInfo: [] };
}

/**
 * A tensor nothing captured flows into: an initializer, or one value expanded when all are equal (the
 * backward pass's seeds and broadcast cotangents of a mean are batch-sized constants of one value).
 */
function constantOf(g: GraphBuilder, t: Tensor): string {
  const d = t.data;
  const uniform = d.length > 1 && d.every((v) => Object.is(v, d[0]));
  if (!uniform) return g.values(d, t.shape, t.dtype);
  return g.op("Expand", [g.values([d[0]], [], t.dtype), g.ints(t.shape)]);
}

function apply(
  g: GraphBuilder,
  rules: OnnxRules,
  prim: Prim,
  params: unknown,
  ins: readonly Tensor[],
  names: ReadonlyMap<Tensor, string>,
  out: Tensor,
): string {
  const rule = rules[prim] as OnnxRule<Prim> | null;
  if (!rule) throw new UnmappedPrimitiveError(prim);
  const outDtype: DType = out.dtype;
  // Our ops promote mixed operands to float64; ONNX wants them converted first (cast converts itself).
  const keep = PRIMS[prim].dtype !== undefined;
  const args: RuleArgs<Prim> = {
    inputs: ins.map((t) => (keep ? names.get(t)! : g.cast(names.get(t)!, t.dtype, outDtype))),
    inShapes: ins.map((t) => t.shape),
    inDtypes: ins.map((t) => t.dtype),
    outShape: out.shape,
    outDtype,
    params: params as RuleArgs<Prim>["params"],
  };
  return rule(g, args);
}
