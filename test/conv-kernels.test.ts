/**
 * The native and wasm im2col (unfold) and col2im (fold) kernels against a naive JS reference written
 * from the definition (PyTorch's F.unfold layout), on random geometries: strides, dilations, padding
 * wider than the kernel, windows that see only padding, N = 1, C = 1, and sizes split over threads.
 * Values are small integers, so every sum is exact in float32 and results must be equal, not close.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { nativeAddon } from "../src/node/native.js";
import { nativeWindowKernels } from "../src/core/backends/native/backend.js";
import { createWasmKernels, wasmWindowKernels } from "../src/core/backends/wasm/backend.js";
import { windowCount } from "../src/core/unfold.js";
import type { Kernel, WindowParams } from "../src/core/prim.js";
import type { TypedArray } from "../src/core/dtype.js";
import { describeIf } from "./helpers.js";

interface Case {
  shape: [number, number, number, number];
  p: WindowParams;
}

/** [Ho, Wo], from PyTorch's formula written out again here. */
const outSize = ({ shape: [, , h, w], p }: Case): [number, number] => [
  Math.floor((h + p.padding[0] + p.padding[2] - p.dilation[0] * (p.kernel[0] - 1) - 1) / p.stride[0]) + 1,
  Math.floor((w + p.padding[1] + p.padding[3] - p.dilation[1] * (p.kernel[1] - 1) - 1) / p.stride[1]) + 1,
];

/** out[n][c*kh*kw + i*kw + j][oh*wo + ow] = x[n][c][oh*sh - top + i*dh][ow*sw - left + j*dw], 0 outside the image. */
function naiveUnfold(x: ArrayLike<number>, k: Case): number[] {
  const [N, C, H, W] = k.shape;
  const [kh, kw] = k.p.kernel,
    [sh, sw] = k.p.stride,
    [top, left] = k.p.padding,
    [dh, dw] = k.p.dilation;
  const [ho, wo] = outSize(k);
  const out: number[] = [];
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++)
          for (let oh = 0; oh < ho; oh++)
            for (let ow = 0; ow < wo; ow++) {
              const ih = oh * sh - top + i * dh,
                iw = ow * sw - left + j * dw;
              out.push(ih >= 0 && ih < H && iw >= 0 && iw < W ? x[((n * C + c) * H + ih) * W + iw] : 0);
            }
  return out;
}

/** The adjoint, from the same index map: every column entry added to the pixel it was read from. */
function naiveFold(cols: ArrayLike<number>, k: Case): number[] {
  const [N, C, H, W] = k.shape;
  const out = new Array<number>(N * C * H * W).fill(0);
  const [kh, kw] = k.p.kernel,
    [sh, sw] = k.p.stride,
    [top, left] = k.p.padding,
    [dh, dw] = k.p.dilation;
  const [ho, wo] = outSize(k);
  let at = 0;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++)
          for (let oh = 0; oh < ho; oh++)
            for (let ow = 0; ow < wo; ow++, at++) {
              const ih = oh * sh - top + i * dh,
                iw = ow * sw - left + j * dw;
              if (ih >= 0 && ih < H && iw >= 0 && iw < W) out[((n * C + c) * H + ih) * W + iw] += cols[at];
            }
  return out;
}

/** Integers in [-8, 8] (seeded), so that float32 sums are exact. */
function ints(n: number, seed: number, dtype: "float32" | "float64"): TypedArray {
  const a = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s >>> 24) % 17) - 8;
  }
  return a;
}

const arbCase: fc.Arbitrary<Case> = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    kernel: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    padding: fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  })
  .map(({ n, c, h, w, ...p }) => ({ shape: [n, c, h, w] as Case["shape"], p }))
  .filter((k) => outSize(k).every((d) => d >= 1));

/** Cases every run includes: the benchmark CNN's convolutions and pools, and the edges named in the header. */
const FIXED: Case[] = [
  { shape: [4, 1, 28, 28], p: { kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1] } },
  { shape: [3, 16, 14, 14], p: { kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1] } },
  { shape: [2, 16, 28, 28], p: { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0], dilation: [1, 1] } },
  // padding wider than the kernel: whole rows and columns of windows that see only zeros
  { shape: [1, 1, 3, 2], p: { kernel: [2, 2], stride: [1, 1], padding: [4, 3, 5, 6], dilation: [1, 1] } },
  // dilated and strided, asymmetric everything
  { shape: [2, 3, 11, 7], p: { kernel: [3, 2], stride: [2, 3], padding: [0, 2, 1, 0], dilation: [2, 3] } },
  // large enough to split over threads (over 64k elements), with an odd plane count
  { shape: [9, 7, 31, 29], p: { kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1] } },
];

interface Kernels {
  unfold: Kernel<"unfold">;
  fold: Kernel<"fold">;
}

const refuse = (): never => assert.fail("the kernel fell back to the reference");
const noFallback = { unfold: refuse, fold: refuse };

function check(kernels: Kernels, k: Case, dtype: "float32" | "float64", seed: number): void {
  const [N, C, H, W] = k.shape;
  const [ho, wo] = outSize(k);
  const rows = C * k.p.kernel[0] * k.p.kernel[1];
  const x = ints(N * C * H * W, seed, dtype);
  const got = kernels.unfold([{ data: x, shape: k.shape }], k.p, { shape: [N, rows, ho * wo], dtype });
  assert.equal(got.constructor, x.constructor, "unfold keeps the dtype");
  assert.deepEqual(Array.from(got), naiveUnfold(x, k), `unfold ${JSON.stringify(k)}`);
  const cols = ints(N * rows * ho * wo, seed + 1, dtype);
  const back = kernels.fold([{ data: cols, shape: [N, rows, ho * wo] }], { ...k.p, size: [H, W] }, { shape: k.shape, dtype });
  assert.equal(back.constructor, cols.constructor, "fold keeps the dtype");
  assert.deepEqual(Array.from(back), naiveFold(cols, k), `fold ${JSON.stringify(k)}`);
}

const native = nativeAddon();

describeIf("native unfold and fold (native/conv.cc)", native ? false : "the native addon was not built", () => {
  const kernels = native ? nativeWindowKernels(native, noFallback) : null;

  it("equal the naive reference on random geometries, float32 and float64", () => {
    fc.assert(
      fc.property(arbCase, fc.integer({ min: 1, max: 1 << 30 }), (k, seed) => {
        check(kernels!, k, "float32", seed);
        check(kernels!, k, "float64", seed);
      }),
      { numRuns: 300, seed: 20 },
    );
  });

  it("equal it on the CNN's layers, edge paddings and work split over threads", () => {
    FIXED.forEach((k, i) => check(kernels!, k, "float32", i + 1));
    check(kernels!, FIXED[FIXED.length - 1], "float64", 99);
  });

  it("fold is unfold's adjoint: <unfold(x), y> = <x, fold(y)> (float64, exact on integers)", () => {
    for (const k of FIXED) {
      const [N, C, H, W] = k.shape;
      const [ho, wo] = outSize(k);
      const rows = C * k.p.kernel[0] * k.p.kernel[1];
      const x = ints(N * C * H * W, 5, "float64");
      const y = ints(N * rows * ho * wo, 6, "float64");
      const ux = kernels!.unfold([{ data: x, shape: k.shape }], k.p, { shape: [N, rows, ho * wo], dtype: "float64" });
      const fy = kernels!.fold([{ data: y, shape: [N, rows, ho * wo] }], { ...k.p, size: [H, W] }, { shape: k.shape, dtype: "float64" });
      let a = 0,
        b = 0;
      for (let i = 0; i < y.length; i++) a += ux[i] * y[i];
      for (let i = 0; i < x.length; i++) b += x[i] * fy[i];
      assert.equal(a, b, JSON.stringify(k));
    }
  });

  it("the addon refuses bad calls with a TypeError naming the problem (never reads out of bounds)", () => {
    const g = Int32Array.of(1, 1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 4, 4);
    const x = new Float32Array(16),
      cols = new Float32Array(9 * 16);
    native!.unfold(x, cols, g); // the good call
    assert.throws(() => native!.unfold(x, new Float32Array(9 * 16 - 1), g), /unfold: array too small/);
    assert.throws(() => native!.fold(new Float32Array(10), x, g), /fold: array too small/);
    assert.throws(() => native!.unfold(x, new Float64Array(9 * 16), g), /one type/);
    assert.throws(() => native!.unfold(x, cols, Int32Array.of(1, 1, 4, 4)), /Int32Array of 14 values/);
    assert.throws(() => native!.unfold(x, cols, Int32Array.of(1, 1, 4, 4, 3, 3, 0, 1, 1, 1, 1, 1, 4, 4)), /at least 1/);
    assert.throws(() => native!.unfold(x, cols, Int32Array.of(1, 1, 4, 4, 3, 3, 1, 1, -1, 1, 1, 1, 4, 4)), /negative/);
    assert.throws(() => native!.unfold(x, cols, Int32Array.of(1, 1, 4, 4, 3, 3, 1 << 30, 1, 1, 1, 1, 1, 4, 4)), /32-bit/);
  });
});

const wasm = createWasmKernels();

describeIf("wasm unfold and fold (wasm/kernels.mjs)", wasm ? false : "WebAssembly SIMD is not available", () => {
  const kernels = wasm ? wasmWindowKernels(wasm, noFallback) : null;

  it("equal the naive reference on random geometries (float32)", () => {
    fc.assert(
      fc.property(
        // At least 512 elements in and out: below that the kernel leaves the work to the reference.
        arbCase.filter((k) => {
          const [ho, wo] = outSize(k);
          const [N, C, H, W] = k.shape;
          return N * C * (H * W + k.p.kernel[0] * k.p.kernel[1] * ho * wo) >= 512;
        }),
        fc.integer({ min: 1, max: 1 << 30 }),
        (k, seed) => check(kernels!, k, "float32", seed),
      ),
      { numRuns: 300, seed: 21 },
    );
  });

  it("equal it on the CNN's layers and edge paddings", () => {
    FIXED.slice(0, 3)
      .concat(FIXED.slice(4))
      .forEach((k, i) => check(kernels!, k, "float32", i + 1));
  });

  it("leave float64 and small work to the fallback", () => {
    const calls: string[] = [];
    const marker = new Float32Array(1);
    const k = wasmWindowKernels(wasm!, {
      unfold: () => (calls.push("unfold"), marker),
      fold: () => (calls.push("fold"), marker),
    });
    const p: WindowParams = { kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1] };
    assert.equal(k.unfold([{ data: new Float64Array(4096), shape: [1, 1, 64, 64] }], p, { shape: [1, 9, 4096], dtype: "float64" }), marker);
    assert.equal(k.fold([{ data: new Float32Array(9 * 4), shape: [1, 9, 4] }], { ...p, size: [2, 2] }, { shape: [1, 1, 2, 2], dtype: "float32" }), marker);
    assert.deepEqual(calls, ["unfold", "fold"]);
  });
});

describe("window geometry", () => {
  it("the primitives' window count is the test's formula", () => {
    for (const k of FIXED) {
      const [, , h, w] = k.shape;
      const { kernel, stride, padding, dilation } = k.p;
      assert.deepEqual(
        [windowCount(h, kernel[0], stride[0], padding[0], padding[2], dilation[0]), windowCount(w, kernel[1], stride[1], padding[1], padding[3], dilation[1])],
        outSize(k),
      );
    }
  });
});
