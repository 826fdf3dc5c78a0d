/**
 * Convolution and pooling: against PyTorch (values and gradients, one python call for the whole file),
 * against hand-computed cases that need no PyTorch, gradcheck and second order in float64, and errors.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as bp from "../src/index.js";
import { assertClose, assertGradcheck, describeIf, randTensor, secondOrder } from "./helpers.js";
import { capture } from "../src/core/capture.js";
import { DEBIAN_PYTHON, pythonLacks } from "./python.js";

const PY = DEBIAN_PYTHON;
const torchMissing = pythonLacks("torch", "python3-torch");

type Inputs = Record<string, bp.Tensor>;

interface ParityCase {
  name: string;
  op: "conv2d" | "convTranspose2d" | "maxPool2d" | "avgPool2d" | "adaptiveAvgPool2d" | "unfold";
  dtype: bp.DType;
  shapes: Record<string, bp.Shape>;
  /** Keyword arguments of the torch function (test/conv-torch.py maps them). */
  args: Record<string, unknown>;
  run: (a: Inputs) => bp.Tensor | [bp.Tensor, bp.Tensor];
  /** Values from {0, 1, 2}: windows with tied maxima, where the gradient must go to the first one. */
  ties?: boolean;
}

const conv = (o: Record<string, unknown>) => ({ stride: 1, padding: 0, dilation: 1, groups: 1, ...o });
const convT = (o: Record<string, unknown>) => ({ stride: 1, padding: 0, outputPadding: 0, dilation: 1, groups: 1, ...o });
const maxArgs = (o: Record<string, unknown>) => ({ stride: null, padding: 0, dilation: 1, ceilMode: false, ...o });
const avgArgs = (o: Record<string, unknown>) => ({ stride: null, padding: 0, ceilMode: false, countIncludePad: true, ...o });

function conv2dCase(name: string, dtype: bp.DType, x: bp.Shape, w: bp.Shape, bias: boolean, args: Record<string, unknown>): ParityCase {
  const a = conv(args);
  return {
    name: `conv2d ${name} (${dtype})`,
    op: "conv2d",
    dtype,
    shapes: bias ? { x, w, b: [w[0]] } : { x, w },
    args: a,
    run: (t) => bp.conv2d(t.x, t.w, t.b ?? null, a as bp.Conv2dOptions),
  };
}

function convTCase(name: string, dtype: bp.DType, x: bp.Shape, w: bp.Shape, bias: boolean, args: Record<string, unknown>): ParityCase {
  const a = convT(args);
  return {
    name: `convTranspose2d ${name} (${dtype})`,
    op: "convTranspose2d",
    dtype,
    shapes: bias ? { x, w, b: [w[1] * (a.groups as number)] } : { x, w },
    args: a,
    run: (t) => bp.convTranspose2d(t.x, t.w, t.b ?? null, a as bp.ConvTranspose2dOptions),
  };
}

function maxCase(name: string, dtype: bp.DType, x: bp.Shape, args: Record<string, unknown>, ties = false): ParityCase {
  const a = maxArgs(args);
  return {
    name: `maxPool2d ${name} (${dtype})`,
    op: "maxPool2d",
    dtype,
    shapes: { x },
    args: a,
    run: (t) => bp.maxPool2d(t.x, { ...(a as bp.MaxPool2dOptions), returnIndices: true }),
    ties,
  };
}

function avgCase(name: string, dtype: bp.DType, x: bp.Shape, args: Record<string, unknown>): ParityCase {
  const a = avgArgs(args);
  return { name: `avgPool2d ${name} (${dtype})`, op: "avgPool2d", dtype, shapes: { x }, args: a, run: (t) => bp.avgPool2d(t.x, a as bp.AvgPool2dOptions) };
}

function adaptiveCase(dtype: bp.DType, x: bp.Shape, size: [number, number]): ParityCase {
  return {
    name: `adaptiveAvgPool2d ${x.slice(2).join("x")} -> ${size.join("x")} (${dtype})`,
    op: "adaptiveAvgPool2d",
    dtype,
    shapes: { x },
    args: { size },
    run: (t) => bp.adaptiveAvgPool2d(t.x, size),
  };
}

const PARITY: ParityCase[] = [
  conv2dCase("plain", "float64", [2, 3, 7, 6], [4, 3, 3, 3], true, {}),
  conv2dCase("stride 2, padding (1, 2)", "float64", [2, 3, 7, 8], [5, 3, 3, 2], true, { stride: 2, padding: [1, 2] }),
  conv2dCase('padding "same", odd kernel', "float64", [1, 2, 6, 5], [3, 2, 3, 3], true, { padding: "same" }),
  conv2dCase('padding "same", even kernel 4x2', "float64", [1, 2, 6, 5], [3, 2, 4, 2], false, { padding: "same" }),
  conv2dCase('padding "same", dilation 2, kernel 2x3', "float64", [1, 2, 6, 7], [2, 2, 2, 3], true, { padding: "same", dilation: 2 }),
  conv2dCase("dilation 2, padding 2", "float64", [1, 2, 9, 9], [3, 2, 3, 3], true, { dilation: 2, padding: 2 }),
  conv2dCase("groups 2, stride (1, 2)", "float64", [2, 4, 6, 6], [6, 2, 3, 3], true, { groups: 2, stride: [1, 2] }),
  conv2dCase("depthwise (groups = channels)", "float64", [1, 3, 5, 5], [3, 1, 3, 3], false, { groups: 3, padding: 1 }),
  conv2dCase("1x1 kernel", "float64", [2, 3, 4, 5], [2, 3, 1, 1], true, {}),
  conv2dCase("stride 2, padding 1", "float32", [2, 3, 8, 8], [4, 3, 3, 3], true, { stride: 2, padding: 1 }),
  conv2dCase("groups 2", "float32", [2, 4, 6, 6], [6, 2, 3, 3], true, { groups: 2 }),
  convTCase("stride 2, padding 1, outputPadding 1", "float64", [2, 4, 3, 4], [4, 3, 3, 3], true, { stride: 2, padding: 1, outputPadding: 1 }),
  convTCase("groups 2, dilation 2, stride (2, 1)", "float64", [1, 4, 3, 3], [4, 2, 2, 3], true, {
    groups: 2,
    dilation: 2,
    stride: [2, 1],
    padding: [0, 1],
    outputPadding: [1, 0],
  }),
  convTCase("outputPadding beyond the padding", "float64", [1, 2, 2, 2], [2, 2, 2, 2], false, { stride: 3, outputPadding: 2 }),
  convTCase("stride 1, dilation 2, outputPadding 1", "float64", [1, 1, 3, 3], [1, 2, 3, 3], true, { dilation: 2, outputPadding: 1, padding: 1 }),
  convTCase("stride 2, outputPadding 1", "float32", [2, 3, 4, 4], [3, 2, 3, 3], true, { stride: 2, padding: 1, outputPadding: 1 }),
  maxCase("2x2", "float64", [2, 3, 6, 6], { kernelSize: 2 }),
  maxCase("3x3 stride 2 padding 1", "float64", [1, 2, 7, 7], { kernelSize: 3, stride: 2, padding: 1 }),
  maxCase("3x3 stride 2 padding 1 ceilMode (8 -> 5 windows)", "float64", [1, 2, 8, 8], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }),
  maxCase("2x2 stride 2 padding 1 ceilMode, last window dropped", "float64", [1, 2, 5, 6], { kernelSize: 2, stride: 2, padding: 1, ceilMode: true }),
  maxCase("3x3 dilation 2 padding 1", "float64", [1, 1, 7, 6], { kernelSize: 3, stride: 1, dilation: 2, padding: 1 }),
  maxCase("2x3 stride (1, 2)", "float64", [1, 2, 5, 7], { kernelSize: [2, 3], stride: [1, 2] }),
  maxCase("2x2 stride 1 with ties", "float64", [1, 2, 5, 5], { kernelSize: 2, stride: 1 }, true),
  maxCase("3x3 stride 2 padding 1 ceilMode with ties", "float64", [1, 1, 6, 6], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }, true),
  maxCase("2x2", "float32", [2, 3, 6, 6], { kernelSize: 2 }),
  avgCase("2x2", "float64", [2, 3, 6, 6], { kernelSize: 2 }),
  avgCase("3x3 stride 2 padding 1 countIncludePad", "float64", [1, 2, 7, 7], { kernelSize: 3, stride: 2, padding: 1 }),
  avgCase("3x3 stride 2 padding 1 without the padding", "float64", [1, 2, 7, 7], { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }),
  avgCase("3x3 stride 2 padding 1 ceilMode countIncludePad", "float64", [1, 2, 8, 8], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }),
  avgCase("3x3 stride 2 padding 1 ceilMode without the padding", "float64", [1, 2, 8, 8], {
    kernelSize: 3,
    stride: 2,
    padding: 1,
    ceilMode: true,
    countIncludePad: false,
  }),
  avgCase("2x2 stride 2 ceilMode, odd size", "float64", [1, 1, 5, 7], { kernelSize: 2, stride: 2, ceilMode: true }),
  avgCase("3x3 stride 2 padding 1 ceilMode divisorOverride 5", "float64", [1, 2, 8, 8], {
    kernelSize: 3,
    stride: 2,
    padding: 1,
    ceilMode: true,
    divisorOverride: 5,
  }),
  avgCase("3x3 stride 2 padding 1", "float32", [2, 3, 7, 7], { kernelSize: 3, stride: 2, padding: 1 }),
  adaptiveCase("float64", [1, 2, 7, 7], [3, 3]),
  adaptiveCase("float64", [2, 3, 5, 5], [2, 2]),
  adaptiveCase("float64", [1, 1, 6, 4], [4, 6]),
  adaptiveCase("float32", [2, 2, 7, 5], [3, 2]),
  {
    name: "unfold 3x2 stride (2, 1) padding (1, 0) dilation (1, 2) (float64)",
    op: "unfold",
    dtype: "float64",
    shapes: { x: [2, 2, 5, 6] },
    args: { kernelSize: [3, 2], stride: [2, 1], padding: [1, 0], dilation: [1, 2] },
    run: (t) => bp.unfold(t.x, [3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2] }),
  },
];

interface TorchResult {
  shape?: number[];
  out?: number[];
  grads?: Record<string, number[]>;
  indices?: number[];
  error?: string;
}

function parityInputs(c: ParityCase, rng: bp.Rng): Inputs {
  const t: Inputs = {};
  for (const [k, s] of Object.entries(c.shapes)) {
    t[k] = c.ties
      ? bp.tensor(
          Float64Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.int(3)),
          { shape: s, dtype: c.dtype },
        )
      : randTensor(s, rng, "any", c.dtype);
  }
  return t;
}

const plain = (t: bp.Tensor) => ({ shape: [...t.shape], data: Array.from(t.data) });

describeIf("agrees with PyTorch (values and gradients)", torchMissing, () => {
  const rng = new bp.Rng(20);
  const runs = PARITY.map((c) => {
    const inputs = parityInputs(c, rng);
    const r = c.run(inputs);
    const [out, indices] = Array.isArray(r) ? r : [r, null];
    const ct = randTensor(out.shape, rng, "any", c.dtype);
    return { c, inputs, out, indices, ct };
  });
  let torch: TorchResult[] = [];
  before(() => {
    const request = runs.map(({ c, inputs, ct }) => ({
      op: c.op,
      dtype: c.dtype,
      inputs: Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, plain(t)])),
      args: c.args,
      ct: plain(ct),
    }));
    const script = fileURLToPath(new URL("./conv-torch.py", import.meta.url));
    torch = JSON.parse(execFileSync(PY, [script], { input: JSON.stringify(request), maxBuffer: 1 << 26 }).toString()) as TorchResult[];
  });
  runs.forEach(({ c, inputs, out, indices, ct }, i) => {
    it(c.name, () => {
      const want = torch[i];
      assert.equal(want.error, undefined, `torch failed: ${want.error}`);
      // float64: both sides round differently only in summation order; float32 accumulates in float32 in torch.
      const tol = c.dtype === "float64" ? 1e-10 : 1e-4;
      assert.deepEqual([...out.shape], want.shape, "output shape");
      assertClose(out.data, want.out!, tol, `${c.name} output`);
      const names = Object.keys(inputs);
      const [, back] = bp.vjp(
        (...xs: bp.Tensor[]) => {
          const r = c.run(Object.fromEntries(names.map((k, j) => [k, xs[j]])));
          return Array.isArray(r) ? r[0] : r;
        },
        ...names.map((k) => inputs[k]),
      );
      back(ct).forEach((g, j) => assertClose(g.data, want.grads![names[j]], tol, `${c.name} d${names[j]}`));
      if (indices) assert.deepEqual(Array.from(indices.data), want.indices, "argmax indices");
    });
  });
});

const f64 = (data: number[], shape: bp.Shape) => bp.tensor(data, { shape, dtype: "float64" });
const IMAGE = () => f64([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);

describe("hand-computed cases (no PyTorch needed)", () => {
  it("conv2d of a 3x3 image with a 2x2 kernel: values and every gradient", () => {
    const x = IMAGE();
    const w = f64([1, 2, 3, 4], [1, 1, 2, 2]);
    const b = f64([0.5], [1]);
    const y = bp.conv2d(x, w, b);
    assert.deepEqual(y.shape, [1, 1, 2, 2]);
    // [1 2; 4 5].[1 2; 3 4] = 1 + 4 + 12 + 20 = 37, and so on, plus the bias.
    assert.deepEqual(Array.from(y.data), [37.5, 47.5, 67.5, 77.5]);
    const [dx, dw, db] = bp.grad((a: bp.Tensor, k: bp.Tensor, c: bp.Tensor) => bp.sum(bp.conv2d(a, k, c)), [0, 1, 2])(x, w, b) as bp.Tensor[];
    // d/dx: the sum of the kernel entries that touch each pixel; d/dw: the sum of each window offset's pixels.
    assert.deepEqual(Array.from(dx.data), [1, 3, 2, 4, 10, 6, 3, 7, 4]);
    assert.deepEqual(Array.from(dw.data), [12, 16, 24, 28]);
    assert.deepEqual(Array.from(db.data), [4]);
  });

  it('conv2d padding "same" with an even kernel pads one more at the bottom and right', () => {
    const y = bp.conv2d(IMAGE(), f64([1, 1, 1, 1], [1, 1, 2, 2]), null, { padding: "same" });
    // 2x2 box sums with the window anchored at the top-left pixel (padding 0 before, 1 after).
    assert.deepEqual(Array.from(y.data), [12, 16, 9, 24, 28, 15, 15, 17, 9]);
  });

  it("convTranspose2d scatters each pixel times the kernel and sums overlaps", () => {
    const x = f64([1, 2, 3, 4], [1, 1, 2, 2]);
    const ones = f64([1, 1, 1, 1], [1, 1, 2, 2]);
    assert.deepEqual(Array.from(bp.convTranspose2d(x, ones).data), [1, 3, 2, 4, 10, 6, 3, 7, 4]);
    // Stride 2: no overlaps, each pixel becomes a 2x2 block; outputPadding adds a zero row and column.
    const y = bp.convTranspose2d(x, ones, null, { stride: 2, outputPadding: 1 });
    assert.deepEqual(y.shape, [1, 1, 5, 5]);
    assert.deepEqual(Array.from(y.data), [1, 1, 2, 2, 0, 1, 1, 2, 2, 0, 3, 3, 4, 4, 0, 3, 3, 4, 4, 0, 0, 0, 0, 0, 0]);
    // The transposed convolution is conv2d's input gradient: <conv2d(z, w), x> = <z, convT(x, w)>.
    const rng = new bp.Rng(3);
    const w = randTensor([2, 3, 3, 2], rng);
    const z = randTensor([1, 3, 7, 6], rng);
    const u = randTensor([1, 2, 4, 4], rng);
    const lhs = bp.sum(bp.mul(bp.conv2d(z, w, null, { stride: 2, padding: 1 }), u)).item();
    const rhs = bp.sum(bp.mul(z, bp.convTranspose2d(u, w, null, { stride: 2, padding: 1 }))).item();
    assert.ok(Math.abs(lhs - rhs) < 1e-12 * (1 + Math.abs(lhs)), `${lhs} != ${rhs}`);
  });

  it("maxPool2d: values, indices, and the gradient to the first of tied maxima", () => {
    const [y, idx] = bp.maxPool2d(IMAGE(), { kernelSize: 2, stride: 1, returnIndices: true });
    assert.deepEqual(Array.from(y.data), [5, 6, 8, 9]);
    assert.deepEqual(Array.from(idx.data), [4, 5, 7, 8]);
    const tied = f64([7, 7, 7, 7], [1, 1, 2, 2]);
    const g = bp.grad((a: bp.Tensor) => bp.sum(bp.maxPool2d(a, { kernelSize: 2 })))(tied);
    assert.deepEqual(Array.from(g.data), [1, 0, 0, 0], "one entry gets it all (the max reduction would give 0.25 each)");
    // Padding is -infinity, never the max, even over negative inputs.
    const neg = bp.maxPool2d(bp.neg(IMAGE()), { kernelSize: 3, stride: 2, padding: 1 });
    assert.deepEqual(Array.from(neg.data), [-1, -2, -4, -5]);
    // NaN wins its window (as in PyTorch); a window of -infinity gives -infinity, not a padding position.
    assert.deepEqual(Array.from(bp.maxPool2d(f64([1, NaN, 3, 4], [1, 1, 2, 2]), { kernelSize: 2 }).data), [NaN]);
    const inf = bp.full([1, 1, 3, 3], -Infinity, { dtype: "float64" });
    assert.deepEqual(Array.from(bp.maxPool2d(inf, { kernelSize: 2, padding: 1, returnIndices: true })[1].data), [0, 1, 3, 4], "first entry in the image");
  });

  it("maxPool2d and avgPool2d output sizes follow ceil_mode's rule", () => {
    const x = bp.zeros([1, 1, 5, 5]);
    assert.deepEqual(bp.maxPool2d(x, { kernelSize: 2 }).shape, [1, 1, 2, 2]);
    assert.deepEqual(bp.maxPool2d(x, { kernelSize: 2, ceilMode: true }).shape, [1, 1, 3, 3]);
    // ceil would give 4 windows, but the 4th would start at 6 = H + padding, inside no input: 3.
    assert.deepEqual(bp.maxPool2d(x, { kernelSize: 2, padding: 1, ceilMode: true }).shape, [1, 1, 3, 3]);
    assert.deepEqual(bp.avgPool2d(bp.zeros([2, 5, 6]), { kernelSize: 3, stride: 2, ceilMode: true }).shape, [2, 2, 3], "an unbatched (C, H, W) input");
  });

  it("avgPool2d divides by the padded window or by the input entries in it", () => {
    const incl = bp.avgPool2d(IMAGE(), { kernelSize: 2, stride: 2, padding: 1 });
    // Windows: {1}, {2,3}, {4,7}, {5,6,8,9}, all divided by 4.
    assertClose(incl.data, [1 / 4, 5 / 4, 11 / 4, 28 / 4], 1e-15);
    const excl = bp.avgPool2d(IMAGE(), { kernelSize: 2, stride: 2, padding: 1, countIncludePad: false });
    assertClose(excl.data, [1, 2.5, 5.5, 7], 1e-15);
    // ceilMode without padding: the last window is cut by the image edge and divided by what is left.
    const ceil = bp.avgPool2d(IMAGE(), { kernelSize: 2, ceilMode: true });
    assertClose(ceil.data, [3, 4.5, 7.5, 9], 1e-15);
    assertClose(bp.avgPool2d(IMAGE(), { kernelSize: 2, divisorOverride: 1 }).data, [12], 1e-15);
  });

  it("adaptiveAvgPool2d uses PyTorch's overlapping windows [floor(i n/m), ceil((i+1) n/m))", () => {
    const x = f64([1, 2, 3, 4, 5], [1, 1, 1, 5]);
    // 5 -> 2: windows [0, 3) and [2, 5) share the middle entry.
    assertClose(bp.adaptiveAvgPool2d(x, [1, 2]).data, [2, 4], 1e-15);
    assertClose(bp.adaptiveAvgPool2d(IMAGE(), 1).data, [5], 1e-15);
    assert.deepEqual(bp.adaptiveAvgPool2d(IMAGE(), [null, 1]).shape, [1, 1, 3, 1]);
  });

  it("flatten merges axes startDim..endDim", () => {
    const x = bp.zeros([2, 3, 4, 5]);
    assert.deepEqual(bp.flatten(x).shape, [120], "torch.flatten's default: everything");
    assert.deepEqual(bp.flatten(x, 1).shape, [2, 60]);
    assert.deepEqual(new bp.Flatten().forward(x).shape, [2, 60], "nn.Flatten's default keeps the batch axis");
    assert.deepEqual(bp.flatten(x, 1, 2).shape, [2, 12, 5]);
    assert.deepEqual(bp.flatten(x, -2).shape, [2, 3, 20]);
    assert.throws(() => bp.flatten(x, 2, 1), /flatten: startDim 2 comes after endDim 1/);
  });
});

describe("gradients in float64 (central differences) and second order", () => {
  const rng = new bp.Rng(9);
  it("conv2d with stride, padding, dilation and groups, and its second order", () => {
    const x = randTensor([2, 4, 5, 6], rng);
    const w = randTensor([4, 2, 3, 2], rng);
    const b = randTensor([4], rng);
    const f = (a: bp.Tensor, k: bp.Tensor, c: bp.Tensor) => bp.conv2d(a, k, c, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 });
    assertGradcheck(f, [x, w, b], "conv2d");
    assertGradcheck(secondOrder(f, [x, w, b], rng), [x, w, b], "conv2d second order", { atol: 1e-5, rtol: 1e-4 });
    const same = (a: bp.Tensor, k: bp.Tensor) => bp.tanh(bp.conv2d(a, k, null, { padding: "same" }));
    assertGradcheck(secondOrder(same, [x, randTensor([3, 4, 2, 2], rng)], rng), [x, randTensor([3, 4, 2, 2], rng)], "tanh(conv2d same) second order", {
      atol: 1e-5,
      rtol: 1e-4,
    });
  });

  it("convTranspose2d, and its second order", () => {
    const x = randTensor([1, 4, 3, 3], rng);
    const w = randTensor([4, 1, 3, 2], rng);
    const b = randTensor([2], rng);
    const f = (a: bp.Tensor, k: bp.Tensor, c: bp.Tensor) => bp.convTranspose2d(a, k, c, { stride: 2, padding: 1, outputPadding: 1, groups: 2 });
    assertGradcheck(f, [x, w, b], "convTranspose2d");
    assertGradcheck(secondOrder(f, [x, w, b], rng), [x, w, b], "convTranspose2d second order", { atol: 1e-5, rtol: 1e-4 });
  });

  it("pooling (random values: no ties, so max pooling is differentiable there)", () => {
    const x = randTensor([2, 2, 6, 5], rng);
    assertGradcheck((a) => bp.maxPool2d(a, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }), [x], "maxPool2d");
    assertGradcheck((a) => bp.avgPool2d(a, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), [x], "avgPool2d");
    assertGradcheck((a) => bp.adaptiveAvgPool2d(a, [4, 3]), [x], "adaptiveAvgPool2d");
    const smooth = (a: bp.Tensor) => bp.maxPool2d(bp.mul(a, a), { kernelSize: 2 });
    assertGradcheck(secondOrder(smooth, [x], rng), [x], "maxPool2d(x^2) second order", { atol: 1e-5, rtol: 1e-4 });
  });

  it("jvp through conv2d and maxPool2d agrees with the VJP", () => {
    const x = randTensor([1, 2, 5, 5], rng);
    const w = randTensor([3, 2, 3, 3], rng);
    const f = (a: bp.Tensor, k: bp.Tensor) => bp.maxPool2d(bp.conv2d(a, k, null, { padding: 1 }), { kernelSize: 2, ceilMode: true });
    const t = [randTensor(x.shape, rng), randTensor(w.shape, rng)];
    const [y, dy] = bp.jvp(f, [x, w], t);
    const u = randTensor(y.shape, rng);
    const [, back] = bp.vjp(f, x, w);
    const g = back(u);
    const lhs = bp.sum(bp.mul(u, dy)).item();
    const rhs = bp.sum(bp.mul(g[0], t[0])).item() + bp.sum(bp.mul(g[1], t[1])).item();
    assert.ok(Math.abs(lhs - rhs) < 1e-10 * (1 + Math.abs(lhs)), `${lhs} != ${rhs}`);
  });
});

describe("max pooling while a graph is recorded (the ONNX training step)", () => {
  it("the one-hot path equals the gather path: values and gradients, with ties, padding, dilation and ceil_mode", () => {
    const rng = new bp.Rng(4);
    // Small integers: many ties, where the first maximal entry must take the whole gradient.
    const x = bp.tensor(
      Float64Array.from({ length: 2 * 3 * 5 * 6 }, () => Math.floor(rng.uniform() * 3)),
      { shape: [2, 3, 5, 6] },
    );
    const cases: bp.MaxPool2dOptions[] = [
      { kernelSize: 2 },
      { kernelSize: 3, stride: 2, padding: 1, ceilMode: true },
      { kernelSize: [2, 3], stride: 1, dilation: [2, 1], padding: [1, 1] },
    ];
    for (const o of cases) {
      const out = bp.maxPool2d(x, { ...o, returnIndices: false });
      const weights = bp.tensor(
        Float64Array.from({ length: out.size }, () => rng.normal()),
        { shape: out.shape },
      );
      const run = () => {
        const leaf = bp.tensor(x.data.slice(), { shape: x.shape }).requireGrad();
        const v = bp.sum(bp.mul(bp.maxPool2d(leaf, { ...o, returnIndices: false }), weights));
        v.backward();
        return { leaf, v, g: leaf.grad! };
      };
      const plain = run();
      const leaf2 = bp.tensor(x.data.slice(), { shape: x.shape }).requireGrad();
      let recorded: { v: bp.Tensor; g: bp.Tensor } | null = null;
      const { capture: cap } = capture([leaf2], () => {
        const v = bp.sum(bp.mul(bp.maxPool2d(leaf2, { ...o, returnIndices: false }), weights));
        v.backward();
        recorded = { v, g: leaf2.grad! };
      });
      const [v1, g1] = [plain.v, plain.g];
      const result = [recorded!.v, recorded!.g];
      const prims = new Set([...cap.nodes.values()].map((n) => n.prim));
      assert.ok(prims.has("argmax") && !prims.has("gather"), `recorded: ${[...prims].join(", ")}`);
      assert.deepEqual(Array.from(result[0].data), Array.from(v1.data), JSON.stringify(o));
      // Overlapping windows add a pixel's contributions in another order (fold against scatterAdd): the last bit may differ.
      Array.from(result[1].data).forEach((g, i) => assert.ok(Math.abs(g - g1.data[i]) < 1e-12, `${JSON.stringify(o)} [${i}]: ${g} vs ${g1.data[i]}`));
    }
  });
});

describe("bad input gives an error naming the op and what is wrong", () => {
  const x = bp.zeros([1, 3, 5, 5]);
  it("conv2d", () => {
    assert.throws(() => bp.conv2d(x, bp.zeros([2, 2, 3, 3])), /conv2d: a weight of shape \(2,2,3,3\) with groups 1 expects 2 input channels.*has 3 channels/);
    assert.throws(() => bp.conv2d(x, bp.zeros([4, 1, 3, 3]), null, { groups: 3 }), /conv2d: .*groups 3 expects 3 input channels and 3 \| 4 outputs/);
    assert.throws(() => bp.conv2d(x, bp.zeros([2, 3, 3])), /conv2d: expected a weight of shape \(O, C\/groups, kh, kw\), got \(2,3,3\)/);
    assert.throws(() => bp.conv2d(bp.zeros([5, 5]), bp.zeros([2, 3, 3, 3])), /conv2d: expected an input of shape \(N, C, H, W\) or \(C, H, W\), got \(5,5\)/);
    assert.throws(() => bp.conv2d(x, bp.zeros([2, 3, 3, 3]), bp.zeros([3])), /conv2d: expected a bias of shape \(2,\), got \(3,\)/);
    assert.throws(() => bp.conv2d(x, bp.zeros([2, 3, 7, 7])), /conv2d: the input of shape \(1,3,5,5\) is smaller than the kernel 7x7/);
    assert.throws(() => bp.conv2d(x, bp.zeros([2, 3, 3, 3]), null, { padding: "same", stride: 2 }), /conv2d: padding "same" needs stride 1/);
    assert.throws(
      () => bp.conv2d(x, bp.zeros([2, 3, 3, 3]), null, { padding: "full" as "same" }),
      /conv2d: padding must be a number, a pair, "same" or "valid"/,
    );
    assert.throws(() => bp.conv2d(x, bp.zeros([2, 3, 3, 3]), null, { stride: 0 }), /conv2d: stride must be a positive integer or a pair of them, got 0/);
    assert.throws(() => bp.conv2d(x, bp.zeros([2, 3, 3, 3]), null, { strides: 2 } as bp.Conv2dOptions), /conv2d: unknown option "strides"/);
    assert.throws(() => bp.conv2d(x, [1, 2] as unknown as bp.Tensor), /conv2d: weight must be a Tensor, got an array/);
  });
  it("convTranspose2d", () => {
    assert.throws(
      () => bp.convTranspose2d(x, bp.zeros([3, 2, 3, 3]), null, { outputPadding: 1 }),
      /convTranspose2d: outputPadding \(1,1\) must be smaller than stride/,
    );
    assert.throws(() => bp.convTranspose2d(x, bp.zeros([2, 2, 3, 3])), /convTranspose2d: a weight of shape \(2,2,3,3\).*\(3 channels\)/);
  });
  it("pooling", () => {
    assert.throws(() => bp.maxPool2d(x, { kernelSize: 2, padding: 2 }), /maxPool2d: padding 2 must be at most half the kernel size 2/);
    assert.throws(() => bp.maxPool2d(x, { kernelSize: 6 }), /maxPool2d: the input height 5 is smaller than the kernel 6/);
    assert.throws(() => bp.maxPool2d(x, {} as bp.MaxPool2dOptions), /maxPool2d: options.kernelSize is required/);
    assert.throws(() => bp.avgPool2d(x, { kernelSize: 2, ceilMode: "yes" as unknown as boolean }), /avgPool2d: ceilMode must be true or false, got "yes"/);
    assert.throws(() => bp.avgPool2d(x, { kernelSize: 2, divisorOverride: 0 }), /avgPool2d: divisorOverride must be a positive integer/);
    assert.throws(() => bp.adaptiveAvgPool2d(x, [0, 2]), /adaptiveAvgPool2d: outputSize must be a positive integer or a pair/);
  });
  it("the primitives' shape rules name unfold or fold and the shapes", () => {
    assert.throws(() => bp.unfold(bp.zeros([3, 5, 5]), 2), /unfold: expected an input of shape \(N, C, H, W\), got \(3,5,5\)/);
    assert.throws(() => bp.unfold(x, 6), /unfold: input of shape \(1,3,5,5\) is smaller than the \(dilated\) kernel even with padding/);
    assert.throws(
      () => bp.fold(bp.zeros([1, 12, 5]), [3, 4], 2),
      /fold: input of shape \(1,12,5\) has 5 columns, but a 3x4 output with kernel \(2,2\).* has 2x3 = 6 windows/,
    );
    assert.throws(() => bp.fold(bp.zeros([1, 10, 6]), [3, 4], 2), /fold: expected an input of shape \(N, C\*2\*2, L\), got \(1,10,6\)/);
    assert.throws(() => bp.bind("unfold", [x], { kernel: [2, 2], stride: [0, 1], padding: [0, 0, 0, 0], dilation: [1, 1] }), /unfold: bad window/);
  });
});

describe("unfold and fold printers", () => {
  it("print calls of the public ops with every window parameter", () => {
    const p: bp.WindowParams = { kernel: [3, 2], stride: [2, 1], padding: [1, 0, 2, 0], dilation: [1, 2] };
    assert.equal(bp.PRIMS.unfold.print.ts(["x"], p), "bp.unfold(x, [3, 2], { stride: [2, 1], padding: [1, 0, 2, 0], dilation: [1, 2] })");
    assert.equal(
      bp.PRIMS.fold.print.text(["c"], { ...p, size: [5, 4] }),
      "fold(c, size=(5, 4), kernel=(3, 2), stride=(2, 1), padding=(1, 0, 2, 0), dilation=(1, 2))",
    );
    assert.equal(
      bp.PRIMS.fold.print.ts(["c"], { ...p, size: [5, 4] }),
      "bp.fold(c, [5, 4], [3, 2], { stride: [2, 1], padding: [1, 0, 2, 0], dilation: [1, 2] })",
    );
    // What the TypeScript printer writes is what the primitive computed.
    const x = randTensor([1, 2, 5, 4], new bp.Rng(8));
    assert.deepEqual(bp.unfold(x, [3, 2], { stride: [2, 1], padding: [1, 0, 2, 0], dilation: [1, 2] }).data, bp.bind("unfold", [x], p).data);
  });
});
