/**
 * Files for the CLI: atomic writes (temp file, fsync, rename), output paths checked before long work,
 * a fallback file when the final write fails anyway, and model checkpoints read with bounded sizes.
 * Errors name the file the user gave, never the hidden temporary one.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { CHECKPOINT_MAGIC, CheckpointError } from "../nn/checkpoint.js";
import type { Sequential } from "../nn/layers.js";
import { modelFromCheckpoint, saveModel as encodeSavedModel, type ModelMeta, type ModelMetaInput } from "../nn/saved-model.js";

/** A write that failed: `reason` is short and human ("permission denied"), for messages that add context. */
export class WriteError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot write ${path} (${reason})`);
    this.name = "WriteError";
  }
}

const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  ENOENT: "no such file or folder",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "it is a directory",
  ENAMETOOLONG: "the name is too long",
  EEXIST: "it already exists",
  EBUSY: "it is busy",
  EIO: "input/output error",
};

/** Our temporary files: `.NAME.PID.MILLISECONDS.tmp` next to the target. */
const TEMP_NAME = /^\.(.+)\.(\d+)\.(\d+)\.tmp$/;

/** The reason an fs call failed, without the paths Node puts in its messages (they may be our temp file's). */
export function reasonOf(e: unknown): string {
  if (e instanceof WriteError) return e.reason;
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code in REASONS) return REASONS[code];
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/\S*\/?\.[^/\s]+\.\d+\.\d+\.tmp'?/g, "").trim() || (typeof code === "string" ? code : "unknown error");
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"; // exists, owned by someone else
  }
}

/** A day: older temporaries are stale even if their pid now belongs to some other, live process. */
const STALE_MS = 24 * 3600 * 1000;

/**
 * Removes temporaries that killed saves to `path` left behind: only files named like ours for this
 * very target, whose process is gone or that are older than a day. Best effort; returns how many went.
 */
export function cleanStaleTemporaries(path: string, now = Date.now()): number {
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || m[1] !== basename(path)) continue;
    const pid = Number(m[2]);
    const old = now - Number(m[3]) > STALE_MS;
    if (!old && (pid === process.pid || isAlive(pid))) continue;
    const file = join(dirname(path), name);
    try {
      if (!lstatSync(file).isFile()) continue;
      unlinkSync(file);
      removed++;
    } catch {
      // Another save may have cleaned it first.
    }
  }
  return removed;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or never created.
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/** So that the rename itself survives a crash; not every file system lets a folder be fsynced. */
function syncFolder(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Best effort.
  }
}

/**
 * Writes `data` so that `path` holds either the old file or the whole new one, never half of it.
 * Concurrent writers to one path do not mix: the last rename wins. Throws WriteError naming `path`.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  cleanStaleTemporaries(path);
  const tmp = tempPathFor(path);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  try {
    const fd = openSync(tmp, "w");
    try {
      writeAll(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    removeQuietly(tmp);
    throw new WriteError(path, reasonOf(e));
  }
  syncFolder(dirname(path));
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null; // ensureFolder says which part is not a folder
    throw e;
  }
}

/** Creates `dir` and its missing parents one by one (recursive mkdir can spin forever on /proc). */
function ensureFolder(dir: string, flag: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    const st = statOrNull(p);
    if (st) {
      if (!st.isDirectory()) throw new Error(`${flag}: ${p} is not a folder`);
      break;
    }
    missing.push(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw new Error(`${flag}: cannot create the folder ${m} (${reasonOf(e)})`);
    }
  }
}

/**
 * Checks, before long work starts, that `path` can be written: not empty, not a directory or a device,
 * its folder exists (created if missing) and accepts a new file (a probe file is created and removed).
 */
export function prepareOutputPath(path: string, flag: string, example = "model.bp"): void {
  if (path.trim() === "") throw new Error(`${flag} needs a file name`);
  let st: Stats | null;
  try {
    st = statOrNull(path);
  } catch (e) {
    throw new Error(`${flag}: cannot write ${path} (${reasonOf(e)})`);
  }
  if (st?.isDirectory()) throw new Error(`${flag}: ${path} is a directory; give a file name such as ${join(path, example)}`);
  if (st && !st.isFile()) throw new Error(`${flag}: ${path} is not a regular file`);
  ensureFolder(dirname(path), flag);
  const probe = tempPathFor(path);
  try {
    closeSync(openSync(probe, "wx"));
  } catch (e) {
    throw new Error(`${flag}: cannot write ${path} (${reasonOf(e)})`);
  }
  removeQuietly(probe);
}

export interface SaveResult {
  /** Where the data went: `path`, or the fallback file. */
  written: string;
  fallback?: string;
  /** Why `path` could not be written. */
  error?: string;
}

/**
 * Writes `data` to `path`, or if that fails, to a new file in `fallbackDir` (the working directory),
 * so that the result of a long run is not lost to a path that went bad during it.
 */
export function saveWithFallback(
  path: string,
  data: Uint8Array | string,
  options: { write?: (path: string, data: Uint8Array | string) => void; fallbackDir?: string } = {},
): SaveResult {
  const write = options.write ?? writeFileAtomic;
  try {
    write(path, data);
    return { written: path };
  } catch (e) {
    const ext = extname(path);
    const fallback = join(options.fallbackDir ?? process.cwd(), `${basename(path, ext) || "output"}-${Date.now()}${ext}`);
    try {
      writeFileAtomic(fallback, data);
    } catch (e2) {
      throw new Error(`cannot write ${path} (${reasonOf(e)}), nor the fallback ${fallback} (${reasonOf(e2)})`);
    }
    return { written: fallback, fallback, error: reasonOf(e) };
  }
}

export { modelFromCheckpoint, type Architecture, type ModelMeta, type ModelMetaInput } from "../nn/saved-model.js";

/** A model and its metadata as checkpoint bytes (the metadata checked as loading checks it). */
export const encodeModel = (model: Sequential, meta: ModelMetaInput): Uint8Array => encodeSavedModel(model, meta);

export function saveModel(path: string, model: Sequential, meta: ModelMetaInput): void {
  writeFileAtomic(path, encodeModel(model, meta));
}

/** Larger files are refused before they are read: far above any MLP this CLI trains. */
export const MAX_CHECKPOINT_BYTES = 1 << 30;

/** Reads a checkpoint file: only a regular file of bounded size, and only after its magic bytes match. */
export function readCheckpointFile(path: string): Uint8Array {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw new Error(`${path}: ${reasonOf(e)}`);
  }
  if (st.isDirectory()) throw new Error(`${path} is a directory, not a checkpoint`);
  // Devices and FIFOs are refused before opening: reading /dev/zero never ends, opening a FIFO blocks.
  if (!st.isFile()) throw new Error(`${path} is not a regular file (a checkpoint is one)`);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new Error(`${path}: ${reasonOf(e)}`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_CHECKPOINT_BYTES) throw new CheckpointError(`${path}: ${size} bytes is more than a checkpoint may have (${MAX_CHECKPOINT_BYTES})`);
    const head = new Uint8Array(8);
    const got = readSync(fd, head, 0, 8, 0);
    if (size < 16 || got < 8 || new TextDecoder().decode(head) !== CHECKPOINT_MAGIC)
      throw new CheckpointError(`${path}: not a backprop checkpoint (bad magic bytes)`);
    const bytes = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, bytes, off, Math.min(size - off, 1 << 24), off);
      if (n === 0) break;
      off += n;
    }
    return bytes.subarray(0, off);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new Error(`${path}: ${reasonOf(e)}`);
  } finally {
    closeSync(fd);
  }
}

/** Reads a saved model; errors say what is wrong and name the file. */
export function loadModel(path: string): { model: Sequential; meta: ModelMeta } {
  return modelFromCheckpoint(readCheckpointFile(path), path);
}
