/**
 * Anomaly mode (PyTorch's `detect_anomaly`): every forward and backward result is checked for NaN and
 * infinities, and the first one throws an `AnomalyError` naming the primitive, its input shapes, which
 * input was non-finite (or which value the op itself overflowed to) and the user's call site that
 * recorded it. Off, the cost is one test of a boolean per op.
 */
import type { Prim } from "./prim.js";
import { formatShape, type Shape } from "./shape.js";

/** Thrown at the first non-finite value in anomaly mode. */
export class AnomalyError extends Error {
  /** The primitive whose forward or backward result was non-finite, or the optimizer whose step was. */
  readonly op: string;
  /** Which pass found it: an op's forward value, a backward rule's gradient, or an optimizer's update. */
  readonly pass: "forward" | "backward" | "update";
  /** Where the op was called, as a stack frame outside this library ("" when none was found). */
  readonly site: string;
  constructor(message: string, op: string, pass: "forward" | "backward" | "update", site: string) {
    super(message);
    this.name = "AnomalyError";
    this.op = op;
    this.pass = pass;
    this.site = site;
  }
}

interface ProcessLike {
  env?: Record<string, string | undefined>;
}
const env = (globalThis as { process?: ProcessLike }).process?.env;

/** Read by bind and the backward interpreter on every op (an ES live binding: no call when off). */
export let anomalyOn = env?.BACKPROP_DETECT_ANOMALY === "1";

/** True while the backward interpreter runs rules: their own ops are not reported, the rule's result is. */
export let inBackward = false;

/** Whether anomaly mode is on (inside `detectAnomaly`, after `setDetectAnomaly(true)`, or with BACKPROP_DETECT_ANOMALY=1). */
export function isAnomalyDetectionEnabled(): boolean {
  return anomalyOn;
}

/** Switches anomaly mode on or off for everything that follows. */
export function setDetectAnomaly(on: boolean): void {
  anomalyOn = on;
}

/** Runs `fn` (forward and backward) with anomaly mode on, restoring the previous mode afterwards. */
export function detectAnomaly<T>(fn: () => T): T {
  const prev = anomalyOn;
  anomalyOn = true;
  try {
    return fn();
  } finally {
    anomalyOn = prev;
  }
}

/** Runs the backward interpreter's loop with forward checks paused (its rules' results are checked instead). */
export function duringBackward<T>(fn: () => T): T {
  const prev = inBackward;
  inBackward = true;
  try {
    return fn();
  } finally {
    inBackward = prev;
  }
}

// Frames in this library's core (and the engine's own) are skipped to find the caller's line.
const CORE = new URL("./", import.meta.url).href.replace(/^file:\/\//, "");
const LIBRARY = new URL("../", import.meta.url).href.replace(/^file:\/\//, "");

/**
 * The first stack frame outside this library and other packages (the user's line), or else the first
 * outside its core (a layer's forward, for the CLI). Costs a stack trace, so it is only taken in anomaly mode.
 */
export function callSite(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const frames = stack
    .split("\n")
    .slice(1)
    .map((l) => l.trim().replace(/^at /, ""))
    .filter((l) => l !== "" && !l.includes("node:internal") && !l.includes("(native)"));
  const plain = (l: string) => l.replace(/file:\/\//g, "");
  // Other packages' frames (a CLI parser calling back) are not the user's line either.
  const user = frames.find((l) => !plain(l).includes(LIBRARY) && !l.includes("node_modules"));
  return user ?? frames.find((l) => !plain(l).includes(CORE)) ?? "";
}

/** Index and value of the first NaN or infinity in `data`, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

function largestMagnitude(data: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]));
  return m;
}

function where(site: string): string {
  return site ? `; called at ${site}` : "";
}

interface Operand {
  readonly shape: Shape;
  readonly data: ArrayLike<number>;
}

/**
 * Throws for a forward result with a NaN or infinity: says whether an input already held one (user
 * data, or a constant) or the op itself produced it from finite inputs, and the inputs' values there.
 */
export function reportForward(prim: Prim, inputs: readonly Operand[], out: Operand, elementwise: boolean): void {
  const k = firstNonFinite(out.data);
  if (k < 0) return;
  const site = callSite();
  const shapes = inputs.map((t) => formatShape(t.shape)).join(", ");
  const bad = inputs.findIndex((t) => firstNonFinite(t.data) >= 0);
  let why: string;
  if (bad >= 0) {
    const t = inputs[bad];
    const i = firstNonFinite(t.data);
    why = `its input ${bad} (shape ${formatShape(t.shape)}) already holds ${t.data[i]} at flat index ${i}`;
  } else {
    // An elementwise op's inputs of the output's size (or one element) line up with the output index;
    // for others (and broadcast inputs) the largest magnitude says what overflowed.
    const at = inputs.map((t, i) =>
      elementwise && (t.data.length === out.data.length || t.data.length === 1)
        ? `input ${i} = ${t.data[t.data.length === 1 ? 0 : k]}`
        : `largest |input ${i}| = ${largestMagnitude(t.data)}`,
    );
    why = `from finite inputs${at.length > 0 ? ` (${at.join(", ")})` : ""}`;
  }
  throw new AnomalyError(
    `anomaly: ${prim} of shapes ${shapes} gave ${out.data[k]} at flat index ${k} of its output ${formatShape(out.shape)}: ${why}${where(site)}`,
    prim,
    "forward",
    site,
  );
}

/** Throws for a backward rule's non-finite result: the op, its call site, and whether the upstream gradient was already non-finite. */
export function reportBackward(prim: Prim, site: string | undefined, inputShapes: readonly Shape[], index: number, ct: Operand, g: Operand): void {
  const k = firstNonFinite(g.data);
  if (k < 0) return;
  const up = firstNonFinite(ct.data);
  const why = up >= 0 ? `the upstream gradient already held ${ct.data[up]} at flat index ${up}` : "the upstream gradient was finite";
  throw new AnomalyError(
    `anomaly: the backward of ${prim} of shapes ${inputShapes.map(formatShape).join(", ")} gave ${g.data[k]} at flat index ${k} of the gradient for input ${index} (shape ${formatShape(g.shape)}); ${why}${where(site ?? "")}`,
    prim,
    "backward",
    site ?? "",
  );
}

/** Throws if an optimizer's update left parameter `index` non-finite (the learning rate or a gradient was too large). */
export function reportUpdate(optimizer: string, index: number, shape: Shape, data: ArrayLike<number>, grad: ArrayLike<number>): void {
  const k = firstNonFinite(data);
  if (k < 0) return;
  const site = callSite();
  const g = firstNonFinite(grad) >= 0 ? `its gradient already held ${grad[firstNonFinite(grad)]}` : `its gradient there was ${grad[k]}`;
  throw new AnomalyError(
    `anomaly: the ${optimizer} step made parameter ${index} (shape ${formatShape(shape)}) ${data[k]} at flat index ${k}; ${g} (lower the learning rate?)${where(site)}`,
    optimizer,
    "update",
    site,
  );
}
