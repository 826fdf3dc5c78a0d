/**
 * Building an ONNX graph node by node: fresh value names, deduplicated int64 initializers (shapes,
 * axes, indices), constants of our dtypes. The primitive rules (prims.ts) write through it.
 */
import type { DType } from "../../core/dtype.js";
import { attrInt, doubleTensor, floatTensor, int64Tensor, onnxNode, OnnxDataType, type OnnxAttribute, type OnnxNode, type OnnxTensor } from "./proto.js";

/** The ONNX element type of each of our dtypes. */
export function elemTypeOf(dtype: DType): number {
  return dtype === "float64" ? OnnxDataType.DOUBLE : OnnxDataType.FLOAT;
}

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private counter = 0;
  private readonly intConsts = new Map<string, string>();

  /** A value name not used before, from a hint ("t", "c", ...). */
  fresh(hint: string): string {
    return `${hint}${this.counter++}`;
  }

  /** Appends a node of the standard domain and returns the name of its (single) output. */
  op(opType: string, inputs: readonly string[], attributes: OnnxAttribute[] = [], output?: string): string {
    const out = output ?? this.fresh(`${opType.toLowerCase()}_`);
    this.nodes.push(onnxNode(opType, inputs, [out], attributes));
    return out;
  }

  /** An int64 initializer (a shape, axes, indices); equal ones are shared. `dims` defaults to 1-D. */
  ints(values: ArrayLike<number>, dims?: readonly number[]): string {
    const shape = dims ?? [values.length];
    const key = `${shape.join(",")}:${Array.from(values).join(",")}`;
    const hit = this.intConsts.get(key);
    if (hit) return hit;
    const name = this.fresh("i64_");
    this.initializers.push(int64Tensor(name, shape, values));
    this.intConsts.set(key, name);
    return name;
  }

  /** A float initializer of our dtype. */
  values(values: ArrayLike<number>, dims: readonly number[], dtype: DType, name?: string): string {
    const n = name ?? this.fresh("c");
    this.initializers.push(dtype === "float64" ? doubleTensor(n, dims, values) : floatTensor(n, dims, values));
    return n;
  }

  /** `x` converted to `to` (no node when it already is). */
  cast(x: string, from: DType, to: DType): string {
    return from === to ? x : this.op("Cast", [x], [attrInt("to", elemTypeOf(to))]);
  }
}
