/** Shapes, strides and the shape rules shared by the kernels, the ops and the CLI. */

export type Shape = readonly number[];

/** Thrown for any shape problem; the message names the op and every shape involved. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

/** NumPy's tuple notation: `()`, `(3,)`, `(2,3)`. */
export function formatShape(shape: Shape): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(",")})`;
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C order) strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function prefix(op: string | undefined): string {
  return op ? `${op}: ` : "";
}

/** Resolves a possibly negative axis against `ndim`, with an error naming the op. */
export function normalizeAxis(axis: number, ndim: number, op?: string): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) {
    throw new ShapeError(`${prefix(op)}axis ${axis} is out of bounds for a tensor of dimension ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Normalizes an axis argument (one axis, several, or all when undefined) to sorted unique axes. */
export function normalizeAxes(axes: number | readonly number[] | undefined | null, ndim: number, op?: string): number[] {
  if (axes === undefined || axes === null) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axes === "number" ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(a, ndim, op));
  const unique = [...new Set(out)].sort((a, b) => a - b);
  if (unique.length !== out.length) throw new ShapeError(`${prefix(op)}repeated axis in (${list.join(",")})`);
  return unique;
}

/** NumPy's limit on the number of axes. */
export const MAX_DIMS = 64;

/** A short, safe rendering of a value a user passed where a shape belongs. */
function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v !== "object" || v === null) return String(v);
  return Array.isArray(v) ? `[${v.slice(0, 8).map(describe).join(", ")}${v.length > 8 ? ", ..." : ""}]` : Object.prototype.toString.call(v);
}

/**
 * Checks that `shape` is an array of at most 64 non-negative integers whose product is an exact
 * integer (at most 2^53), with errors that name the op and the shape.
 */
export function checkShape(shape: unknown, op?: string): asserts shape is Shape {
  if (!Array.isArray(shape)) throw new ShapeError(`${prefix(op)}a shape is an array of non-negative integers, got ${describe(shape)}`);
  if (shape.length > MAX_DIMS) throw new ShapeError(`${prefix(op)}a tensor has at most ${MAX_DIMS} dimensions, got ${shape.length}`);
  let n = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      const dims = shape.map((e) => (typeof e === "number" ? String(e) : describe(e)));
      throw new ShapeError(`${prefix(op)}invalid shape (${dims.join(",")}${dims.length === 1 ? "," : ""}): dimensions must be non-negative integers`);
    }
    n *= d;
  }
  if (n > Number.MAX_SAFE_INTEGER) {
    throw new ShapeError(`${prefix(op)}array is too big: shape ${formatShape(shape)} has more than 2^53 elements`);
  }
}

/**
 * NumPy's three broadcasting rules: pad the shorter shape with ones on the left; a dimension of 1
 * stretches to match; any other disagreement is an error naming both shapes, as NumPy words it.
 */
export function broadcastShapes(a: Shape, b: Shape, op?: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else {
      throw new ShapeError(`${prefix(op)}operands could not be broadcast together with shapes ${formatShape(a)} ${formatShape(b)}`);
    }
  }
  return out;
}

/** Broadcasts any number of shapes; the error names the first pair that fails, with every shape listed. */
export function broadcastAll(shapes: readonly Shape[], op?: string): number[] {
  let out: number[] = [];
  for (const s of shapes) {
    try {
      out = broadcastShapes(out, s);
    } catch {
      throw new ShapeError(`${prefix(op)}operands could not be broadcast together with shapes ${shapes.map(formatShape).join(" ")}`);
    }
  }
  return out;
}

/**
 * NumPy's matmul shape rule: a 1-D first operand gets a 1 prepended and a 1-D second operand a 1
 * appended (both removed again from the result); the batch dimensions broadcast.
 */
export function matmulShape(a: Shape, b: Shape, op = "matmul"): number[] {
  // Formatted only for an error: every product in a training step passes through here.
  const shapes = () => `${formatShape(a)} @ ${formatShape(b)}`;
  if (a.length === 0 || b.length === 0) {
    throw new ShapeError(`${op}: operands must have at least 1 dimension, got ${shapes()} (use mul for scalars)`);
  }
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const k1 = a2[a2.length - 1];
  const k2 = b2[b2.length - 2];
  if (k1 !== k2) {
    throw new ShapeError(
      `${op}: inner dimensions do not match for ${shapes()}: ${k1} (last axis of the first) != ${k2} (${b.length === 1 ? "only" : "second-to-last"} axis of the second)`,
    );
  }
  const batchA = a2.slice(0, -2);
  const batchB = b2.slice(0, -2);
  let batch: number[];
  try {
    batch = broadcastShapes(batchA, batchB);
  } catch {
    throw new ShapeError(`${op}: batch dimensions could not be broadcast together for ${shapes()}: ${formatShape(batchA)} ${formatShape(batchB)}`);
  }
  const out = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]);
  if (b.length > 1) out.push(b2[b2.length - 1]);
  return out;
}

/** Parses `(4,2)`, `[4, 2]`, `(3,)`, `()` or `4,2` into a shape; throws a readable error otherwise. */
export function parseShape(text: string): number[] {
  const t = text.trim();
  const inner = /^[([]/.test(t) ? t.slice(1, -1) : t;
  if (/^[([]/.test(t) && !/^(\(.*\)|\[.*\])$/.test(t)) throw new ShapeError(`cannot read shape "${text}": unbalanced brackets`);
  const parts = inner.split(",").map((p) => p.trim());
  if (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  const dims = parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new ShapeError(`cannot read shape "${text}": "${p}" is not a non-negative integer`);
    return Number(p);
  });
  return dims;
}
