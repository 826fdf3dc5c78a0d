/**
 * A model's weights as a safetensors file, in one of two layouts:
 *   "backprop": our own names and shapes (Linear weight (in, out), as `y = x W + b`); the default of
 *               `saveSafetensors`, so a file round-trips into the same module unchanged;
 *   "pytorch":  the same names ("layers.0.weight", which is also what an nn.Sequential field named
 *               `layers` gives in PyTorch) with every Linear weight transposed to PyTorch's (out, in),
 *               so `model.load_state_dict(tensors)` takes the file as it is.
 * The layout is recorded in the metadata ("backprop.layout"); a file without it (written elsewhere) is
 * read as "pytorch", the convention of the files the format is used for.
 */
import { Tensor } from "../core/tensor.js";
import { allocate } from "../core/dtype.js";
import { Module } from "../nn/module.js";
import { Linear } from "../nn/layers.js";
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type SafetensorsContents } from "./safetensors.js";

export type WeightLayout = "backprop" | "pytorch";
export const LAYOUT_KEY = "backprop.layout";

export interface SaveSafetensorsOptions {
  /** "backprop" (default) or "pytorch" (Linear weights transposed; needs a Module to know which they are). */
  layout?: WeightLayout;
  /** Extra `__metadata__` entries (strings). */
  metadata?: Readonly<Record<string, string>>;
}

/** The names of the Linear weights in `module` ("layers.0.weight"), whose layout differs between the conventions. */
export function linearWeightNames(module: Module, prefix = ""): Set<string> {
  const out = new Set<string>();
  if (module instanceof Linear) out.add(`${prefix}weight`);
  for (const [name, child] of module.children()) for (const n of linearWeightNames(child, `${prefix}${name}.`)) out.add(n);
  return out;
}

/** A 2-D tensor transposed into a new buffer (the file's bytes are row-major in either layout). */
export function transpose2d(t: Tensor): Tensor {
  const [r, c] = t.shape;
  const out = allocate(t.dtype, t.size);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return new Tensor(out, [c, r]);
}

function checkLayout(layout: unknown, where: string): WeightLayout {
  if (layout !== "backprop" && layout !== "pytorch") throw new Error(`${where}: layout must be "backprop" or "pytorch", got ${JSON.stringify(layout)}`);
  return layout;
}

/** The state dict of `module` in `layout`: the module's own tensors, or transposed copies of its Linear weights. */
export function stateDictIn(module: Module, layout: WeightLayout): Map<string, Tensor> {
  const state = module.stateDict();
  if (layout === "backprop") return state;
  const linear = linearWeightNames(module);
  return new Map([...state].map(([name, t]) => [name, linear.has(name) ? transpose2d(t) : t]));
}

/**
 * A safetensors file of a module's parameters (or of any named tensors). With a Map the tensors are
 * written as they are, and only the "backprop" layout can be claimed for them.
 */
export function saveSafetensors(source: Module | ReadonlyMap<string, Tensor>, options: SaveSafetensorsOptions = {}): Uint8Array {
  const layout = checkLayout(options.layout ?? "backprop", "saveSafetensors");
  let tensors: ReadonlyMap<string, Tensor>;
  if (source instanceof Module) tensors = stateDictIn(source, layout);
  else if (source instanceof Map) {
    if (layout === "pytorch") throw new Error('saveSafetensors: layout "pytorch" needs the Module (to know which tensors are Linear weights), not a Map');
    tensors = source;
  } else throw new TypeError("saveSafetensors: expected a Module or a Map of tensors");
  const metadata: Record<string, string> = { ...(options.metadata ?? {}), [LAYOUT_KEY]: layout };
  // The key transformers checks to treat a file as PyTorch weights.
  if (layout === "pytorch") metadata.format ??= "pt";
  return encodeSafetensors(tensors, metadata);
}

/** The tensors and metadata of a safetensors file (see safetensors.ts for the dtypes read). */
export function loadSafetensors(bytes: Uint8Array): SafetensorsContents {
  return decodeSafetensors(bytes);
}

/**
 * Loads a safetensors file into `module`'s parameters, converting from the file's layout (its
 * metadata's, else `options.layout`, else "pytorch"). Every parameter must be present with the right
 * shape; the error names the tensor. Returns the file's metadata.
 */
export function loadSafetensorsInto(module: Module, bytes: Uint8Array, options: { layout?: WeightLayout } = {}): Record<string, string> {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const layout = checkLayout(options.layout ?? metadata[LAYOUT_KEY] ?? "pytorch", "loadSafetensorsInto");
  const linear = layout === "pytorch" ? linearWeightNames(module) : new Set<string>();
  const state = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    // (loadStateDict copies values, so a float64 file loads into float32 parameters and back.)
    state.set(name, linear.has(name) && t.shape.length === 2 ? transpose2d(t) : t);
  }
  try {
    module.loadStateDict(state);
  } catch (e) {
    const message = e instanceof Error ? e.message.replace(/^loadStateDict: /, "") : String(e);
    const hint = /has shape/.test(message) ? ` (read in the ${layout} layout; is the file in the other one?)` : "";
    throw new SafetensorsError(`loadSafetensorsInto: ${message.replaceAll("the checkpoint", "the file")}${hint}`);
  }
  return metadata;
}
