/** Files for the CLI: atomic writes (temp file, fsync, rename) and model checkpoints on disk. */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { decodeCheckpoint, encodeCheckpoint } from "../nn/checkpoint.js";
import { mlp, type Activation, type Sequential } from "../nn/layers.js";

/** Writes `data` so that `path` holds either the old file or the whole new one, never half of it. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fd = openSync(tmp, "w");
  try {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export interface Architecture {
  kind: "mlp";
  sizes: number[];
  activation: Activation;
}

export interface ModelMeta {
  architecture: Architecture;
  dataset: string;
  classes: string[];
  seed: number;
  testFraction: number;
  [key: string]: unknown;
}

export function saveModel(path: string, model: Sequential, meta: ModelMeta): void {
  writeFileAtomic(path, encodeCheckpoint(model.namedParameters(), meta as unknown as Record<string, unknown>));
}

/** Rebuilds the network recorded in a checkpoint and loads its weights; errors say what is wrong. */
export function loadModel(path: string): { model: Sequential; meta: ModelMeta } {
  const { meta, tensors } = decodeCheckpoint(new Uint8Array(readFileSync(path)));
  const m = meta as unknown as ModelMeta;
  const a = m.architecture;
  if (!a || a.kind !== "mlp" || !Array.isArray(a.sizes)) throw new Error(`${path}: the checkpoint does not describe an MLP architecture`);
  const model = mlp(a.sizes, { activation: a.activation });
  model.loadStateDict(tensors);
  return { model, meta: m };
}
