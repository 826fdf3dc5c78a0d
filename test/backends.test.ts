/** Every backend agrees with the reference JS kernels (float32 tolerance), on shapes that broadcast. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as bp from "../src/index.js";
import { nativeAddon, useNativeBackend } from "../src/node/native.js";

const native = nativeAddon();

function withBackend<T>(name: string, fn: () => T): T {
  const prev = bp.getBackend().name;
  bp.setBackend(name);
  try {
    return fn();
  } finally {
    bp.setBackend(prev);
  }
}

describe("native backend", { skip: native ? false : "the native addon was not built (no C++ compiler or Node headers)" }, () => {
  it("registers and reports its instruction set", () => {
    const info = useNativeBackend();
    assert.ok(info && ["avx512", "avx2", "generic"].includes(info.isa));
    assert.ok(bp.listBackends().includes("native"));
    bp.setBackend("js");
  });

  it("matmul agrees with the reference kernel on random batched, broadcast shapes", () => {
    useNativeBackend();
    bp.setBackend("js");
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 70 }), fc.constantFrom([], [2], [3, 1]), fc.constantFrom([], [1], [1, 2]), fc.integer()),
        ([m, k, n, ba, bb, seed]) => {
          const rng = new bp.Rng(seed);
          const a = bp.randn([...ba, m, k], { rng });
          const b = bp.randn([...bb, k, n], { rng });
          const ref = withBackend("js", () => bp.matmul(a, b));
          const got = withBackend("native", () => bp.matmul(a, b));
          assert.deepEqual(got.shape, ref.shape);
          for (let i = 0; i < ref.size; i++) {
            assert.ok(Math.abs(got.data[i] - ref.data[i]) <= 1e-4 * (1 + Math.abs(ref.data[i])) * Math.sqrt(k + 1), `at ${i}: ${got.data[i]} vs ${ref.data[i]}`);
          }
        },
      ),
      { numRuns: 60, seed: 5 },
    );
  });

  it("large products split across threads agree too (edges of every tile size)", () => {
    for (const [m, k, n] of [[257, 300, 129], [1000, 33, 61], [96, 512, 512]]) {
      const rng = new bp.Rng(m);
      const a = bp.randn([m, k], { rng });
      const b = bp.randn([k, n], { rng });
      const ref = withBackend("js", () => bp.matmul(a, b));
      const got = withBackend("native", () => bp.matmul(a, b));
      let worst = 0;
      for (let i = 0; i < ref.size; i++) worst = Math.max(worst, Math.abs(got.data[i] - ref.data[i]));
      assert.ok(worst < 1e-3, `${m}x${k}x${n}: max error ${worst}`);
    }
  });

  it("gradients through matmul agree between backends", () => {
    const rng = new bp.Rng(9);
    const x = bp.randn([16, 20], { rng });
    const w0 = bp.randn([20, 8], { rng });
    const grads = ["js", "native"].map((name) =>
      withBackend(name, () => {
        const w = bp.tensor(w0.data.slice(), { shape: [20, 8], requiresGrad: true });
        bp.matmul(x, w).tanh().sum().backward();
        return w.grad!;
      }),
    );
    for (let i = 0; i < grads[0].size; i++) assert.ok(Math.abs(grads[0].data[i] - grads[1].data[i]) < 1e-4);
  });

  it("transposes agree with the reference kernel (batched, odd sizes)", () => {
    for (const shape of [[3, 5], [2, 33, 70], [1, 1], [4, 1, 9]]) {
      const x = bp.randn(shape, { rng: new bp.Rng(shape.length) });
      assert.deepEqual(withBackend("native", () => bp.mT(x)).toArray(), withBackend("js", () => bp.mT(x)).toArray());
      const perm = shape.map((_, i) => shape.length - 1 - i);
      assert.deepEqual(withBackend("native", () => bp.transpose(x, perm)).toArray(), withBackend("js", () => bp.transpose(x, perm)).toArray());
    }
  });

  it("float64 products keep the reference path (exact)", () => {
    const a = bp.randn([5, 7], { dtype: "float64" });
    const b = bp.randn([7, 3], { dtype: "float64" });
    assert.deepEqual(withBackend("native", () => bp.matmul(a, b)).toArray(), withBackend("js", () => bp.matmul(a, b)).toArray());
  });
});

describe("wasm SIMD backend", { skip: bp.listBackends().includes("wasm") ? false : "WebAssembly SIMD is not available" }, () => {
  it("is selected on import where available", () => {
    assert.ok(bp.listBackends().includes("wasm"));
  });

  it("matmul agrees with the reference kernel, including row counts that are not multiples of 4", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 45 }), fc.constantFrom([], [3]), fc.integer(), (m, k, n, batch, seed) => {
        const rng = new bp.Rng(seed);
        const a = bp.randn([...batch, m, k], { rng });
        const b = bp.randn([k, n], { rng });
        const ref = withBackend("js", () => bp.matmul(a, b));
        const got = withBackend("wasm", () => bp.matmul(a, b));
        for (let i = 0; i < ref.size; i++) assert.ok(Math.abs(got.data[i] - ref.data[i]) <= 1e-4 * (1 + Math.abs(ref.data[i])) * Math.sqrt(k), `at ${i}`);
      }),
      { numRuns: 80, seed: 6 },
    );
  });

  it("trains a network to the same loss as the reference backend (float32 tolerance)", () => {
    const run = (name: string) =>
      withBackend(name, () => {
        const rng = new bp.Rng(3);
        const model = bp.mlp([20, 32, 4], { rng });
        const opt = new bp.SGD(model.parameters(), { lr: 0.1 });
        const x = bp.randn([64, 20], { rng });
        const y = Int32Array.from({ length: 64 }, (_, i) => i % 4);
        let loss = 0;
        for (let s = 0; s < 20; s++) {
          const l = bp.crossEntropy(model.forward(x), y);
          opt.zeroGrad();
          l.backward();
          opt.step();
          loss = l.item();
        }
        return loss;
      });
    assert.ok(Math.abs(run("wasm") - run("js")) < 1e-4);
  });
});
