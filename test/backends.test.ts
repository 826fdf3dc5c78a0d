/** Every backend agrees with the reference JS kernels (float32 tolerance), on shapes that broadcast. */
import { it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { availableParallelism } from "node:os";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as bp from "../src/index.js";
import { nativeAddon, useNativeBackend } from "../src/node/native.js";
import { createNativeBackend } from "../src/core/backends/native/backend.js";
import { createWasmBackend, view2d, view3d } from "../src/core/backends/wasm/backend.js";
import { referenceGemm } from "../src/core/backends/js/matmul.js";
import { withBackend, describeIf } from "./helpers.js";
// The Node entry: lets the wasm kernels use worker threads.
import "../src/node/index.js";

const native = nativeAddon();

interface WindowCase {
  shape: [number, number, number, number];
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number, number, number];
  dilation: [number, number];
  seed: number;
}

/** Random window geometries for unfold and fold: strides, dilations, padding wider than the kernel, N = 1 and C = 1 among them. */
const arbWindow: fc.Arbitrary<WindowCase> = fc
  .record({
    shape: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })),
    kernel: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    padding: fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    seed: fc.integer(),
  })
  .filter(({ shape: [, , h, w], kernel: [kh, kw], stride: [sh, sw], padding: [t, l, b, r], dilation: [dh, dw] }) => {
    return h + t + b - dh * (kh - 1) - 1 >= 0 && w + l + r - dw * (kw - 1) - 1 >= 0;
  });

/** unfold, then fold of random columns, on `backend` and on the reference kernels: exactly equal (fold adds in the reference's order). */
function checkWindow(backend: string, { shape, seed, ...opts }: WindowCase, dtype: bp.DType): void {
  const rng = new bp.Rng(seed);
  const x = bp.randn(shape, { rng, dtype });
  const [kernel, options] = [opts.kernel, { stride: opts.stride, padding: opts.padding, dilation: opts.dilation }];
  const want = withBackend("js", () => bp.unfold(x, kernel, options));
  const got = withBackend(backend, () => bp.unfold(x, kernel, options));
  assert.equal(got.dtype, dtype);
  assert.deepEqual(got.shape, want.shape);
  assert.deepEqual(got.data, want.data, `unfold on ${backend}: ${JSON.stringify({ shape, ...opts })}`);
  const cols = bp.randn(want.shape, { rng, dtype });
  const size: [number, number] = [shape[2], shape[3]];
  const back = withBackend(backend, () => bp.fold(cols, size, kernel, options));
  assert.deepEqual(back.data, withBackend("js", () => bp.fold(cols, size, kernel, options)).data, `fold on ${backend}: ${JSON.stringify({ shape, ...opts })}`);
}

/** The benchmark CNN's windows (convolutions and pools) at a size split over threads, and a strided, dilated, asymmetric one. */
const BIG_WINDOWS: WindowCase[] = [
  { shape: [16, 1, 28, 28], kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], seed: 1 },
  { shape: [8, 16, 14, 14], kernel: [3, 3], stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], seed: 2 },
  { shape: [8, 16, 28, 28], kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0], dilation: [1, 1], seed: 3 },
  { shape: [5, 7, 33, 30], kernel: [3, 2], stride: [2, 3], padding: [0, 2, 1, 0], dilation: [2, 3], seed: 4 },
];

describeIf("native backend", native ? false : "the native addon was not built (no C++ compiler or Node headers)", () => {
  it("registers and reports its instruction set", () => {
    const info = useNativeBackend();
    assert.ok(info && ["avx512", "avx2", "generic"].includes(info.isa));
    if (process.env.BACKPROP_NATIVE_ISA) assert.equal(info.isa, process.env.BACKPROP_NATIVE_ISA);
    assert.ok(bp.listBackends().includes("native"));
    bp.setBackend("js");
  });

  // The kernels for narrower vector units than this CPU's are compiled in too, and serve other
  // machines: run this suite again with each of them.
  const ISAS = ["avx512", "avx2", "generic"];
  const lower = process.env.BACKPROP_NATIVE_ISA ? [] : ISAS.slice(ISAS.indexOf(native?.isa() ?? "generic") + 1);
  for (const isa of lower) {
    it(`passes the same tests with the ${isa} kernels (BACKPROP_NATIVE_ISA=${isa})`, () => {
      const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-name-pattern=^native backend", fileURLToPath(import.meta.url)], {
        encoding: "utf8",
        // Without the runner's own marker, which would make the inner run report to this one.
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, BACKPROP_NATIVE_ISA: isa },
      });
      const summary = (r.stdout.match(/^# (pass|fail) \d+$/gm) ?? []).join(", ");
      assert.equal(r.status, 0, `${summary}\n${r.stdout.slice(-3000)}${r.stderr.slice(-2000)}`);
      assert.match(summary, /# pass [1-9]\d*, # fail 0/);
    });
  }

  it("matmul agrees with the reference kernel on random batched, broadcast shapes", () => {
    useNativeBackend();
    bp.setBackend("js");
    fc.assert(
      fc.property(
        fc.tuple(
          fc.integer({ min: 1, max: 70 }),
          fc.integer({ min: 0, max: 300 }),
          fc.integer({ min: 1, max: 70 }),
          fc.constantFrom([], [2], [3, 1]),
          fc.constantFrom([], [1], [1, 2]),
          fc.integer(),
        ),
        ([m, k, n, ba, bb, seed]) => {
          const rng = new bp.Rng(seed);
          const a = bp.randn([...ba, m, k], { rng });
          const b = bp.randn([...bb, k, n], { rng });
          const ref = withBackend("js", () => bp.matmul(a, b));
          const got = withBackend("native", () => bp.matmul(a, b));
          assert.deepEqual(got.shape, ref.shape);
          for (let i = 0; i < ref.size; i++) {
            assert.ok(
              Math.abs(got.data[i] - ref.data[i]) <= 1e-4 * (1 + Math.abs(ref.data[i])) * Math.sqrt(k + 1),
              `at ${i}: ${got.data[i]} vs ${ref.data[i]}`,
            );
          }
        },
      ),
      { numRuns: 60, seed: 5 },
    );
  });

  it("large products split across threads agree too (edges of every tile size)", () => {
    for (const [m, k, n] of [
      [257, 300, 129],
      [1000, 33, 61],
      [96, 512, 512],
    ]) {
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

  it("products reading an operand transposed agree with the reference, and are bit-identical on one thread and on several", () => {
    // m x k times k x n: wide, tall, one panel of B (A read in place, last rows padded), more rows
    // than a packed block of A (1152), more columns than a packed block of B (2048), several depth blocks.
    const shapes = [
      [7, 5, 3],
      [13, 17, 40],
      [128, 196, 256],
      [300, 128, 100],
      [64, 300, 700],
      [1301, 70, 10],
      [5003, 200, 10],
      [40, 300, 2100],
      [32, 144, 196], // few rows: computed as C^T with the large operand read in place
      [16, 784, 9], // few outputs over a long depth: dot products of rows (with B read transposed)
      [5, 100, 7], // the same with edge rows, edge columns and a partial last vector
    ];
    for (const [m, k, n] of shapes) {
      const rng = new bp.Rng(m + n);
      const A = Float32Array.from({ length: m * k }, () => rng.normal());
      const B = Float32Array.from({ length: k * n }, () => rng.normal());
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        const want = new Float32Array(m * n);
        referenceGemm(A, B, want, m, n, k, ta, tb);
        let first: Float32Array | null = null;
        for (const threads of [1, 2, 3]) {
          const got = new Float32Array(m * n).fill(NaN); // every element must be written
          native!.sgemm(A, B, got, m, n, k, threads, ta, tb);
          let worst = 0;
          for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
          assert.ok(worst < 1e-4, `${m}x${k}x${n} transposeA=${ta} transposeB=${tb} threads=${threads}: max relative error ${worst}`);
          if (first) assert.deepEqual(got, first, `${m}x${k}x${n} transposeA=${ta} transposeB=${tb}: threads=${threads} differs from one thread`);
          first ??= got;
        }
      }
    }
  });

  it("batched products with one operand shared by every batch (a convolution's weight) go to threads whole, bit-identical to one product at a time", () => {
    useNativeBackend();
    const rng = new bp.Rng(26);
    const w = bp.randn([32, 144], { rng }),
      cols = bp.randn([64, 144, 196], { rng }),
      ct = bp.randn([64, 32, 196], { rng });
    const cases: [bp.Tensor, bp.Tensor, { transposeX?: boolean; transposeY?: boolean }][] = [
      [w, cols, {}], // forward: W @ cols
      [w, ct, { transposeX: true }], // the columns' gradient: W^T @ ct
      [ct, cols, { transposeY: true }], // the weight's gradient per image: ct @ cols^T
      [cols, w.reshape([1, 144, 32]), { transposeX: true }], // a shared right operand
    ];
    for (const [x, y, flags] of cases) {
      const got = withBackend("native", () => bp.bind("matmul", [x, y], flags));
      const want = withBackend("js", () => bp.bind("matmul", [x, y], flags));
      assert.deepEqual(got.shape, want.shape);
      const [m, n] = got.shape.slice(-2);
      const k = x.shape[x.ndim - (flags.transposeX ? 2 : 1)];
      const batches = got.size / (m * n);
      const one = new Float32Array(m * n);
      for (let b = 0; b < batches; b++) {
        const xs = x.size === m * k ? x.data : x.data.subarray(b * m * k, (b + 1) * m * k);
        const ys = y.size === k * n ? y.data : y.data.subarray(b * k * n, (b + 1) * k * n);
        native!.sgemm(xs as Float32Array, ys as Float32Array, one, m, n, k, 1, flags.transposeX, flags.transposeY);
        assert.deepEqual(got.data.subarray(b * m * n, (b + 1) * m * n), one, `${JSON.stringify(flags)}: batch ${b}`);
      }
      for (let i = 0; i < want.size; i++) assert.ok(Math.abs(got.data[i] - want.data[i]) <= 1e-4 * (1 + Math.abs(want.data[i])) * Math.sqrt(k), `at ${i}`);
    }
    assert.throws(
      () => native!.sgemmBatched(w.data as Float32Array, cols.data as Float32Array, new Float32Array(10), 64, 0, 144 * 196, 32, 196, 144),
      /too small/,
    );
    assert.throws(
      () => native!.sgemmBatched(w.data as Float32Array, cols.data as Float32Array, new Float32Array(64 * 32 * 196), 64, 0, 144 * 197, 32, 196, 144),
      /too small/,
    );
    bp.setBackend("js");
  });

  it("counts the thread pool's shared jobs, joins and wake-ups (for bench:profile)", () => {
    const before = native!.poolStats();
    const n = 300;
    native!.sgemm(new Float32Array(n * n).fill(1), new Float32Array(n * n).fill(2), new Float32Array(n * n), n, n, n, 2);
    const after = native!.poolStats();
    assert.equal(after.length, 3);
    const [jobs, joins, wakes] = after.map((v, i) => v - before[i]);
    if (native!.threads() > 1) assert.ok(jobs >= 1, `jobs ${jobs}`);
    else assert.equal(jobs, 0);
    assert.ok(joins >= 0 && joins <= jobs * (native!.threads() - 1) && wakes >= 0 && wakes <= jobs, `${jobs} ${joins} ${wakes}`);
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
    for (const shape of [
      [3, 5],
      [2, 33, 70],
      [1, 1],
      [4, 1, 9],
      [67, 45],
      [3, 40, 96],
    ]) {
      const x = bp.randn(shape, { rng: new bp.Rng(shape.length) });
      assert.deepEqual(withBackend("native", () => bp.mT(x)).toArray(), withBackend("js", () => bp.mT(x)).toArray());
      const perm = shape.map((_, i) => shape.length - 1 - i);
      assert.deepEqual(withBackend("native", () => bp.transpose(x, perm)).toArray(), withBackend("js", () => bp.transpose(x, perm)).toArray());
    }
  });

  it("binary ops run in place in C++ and agree exactly (NaN and signed zeros included) with the reference on every layout, threads included", () => {
    useNativeBackend();
    const rng = new bp.Rng(21);
    // Full, row vector, column vector, scalar, leading broadcast, no 2-D view (falls back), and sizes that
    // the thread pool splits by rows and by columns of a single row.
    const layouts: number[][][] = [
      [
        [37, 53],
        [37, 53],
      ],
      [[37, 53], [53]],
      [
        [37, 53],
        [37, 1],
      ],
      [[37, 53], []],
      [
        [4, 9, 31],
        [9, 31],
      ],
      [
        [4, 9, 31],
        [4, 1, 31],
      ],
      [[700, 600], [600]],
      [[1 << 19], [1 << 19]],
      [[300001], []],
      // Batches of 2-D views (view3d): a convolution's bias over channels, pooling windows against
      // their maximum, an inner broadcast axis, and both at sizes the thread pool splits.
      [
        [6, 5, 40],
        [5, 1],
      ],
      [
        [3, 5, 4, 7],
        [3, 5, 1, 7],
      ],
      [
        [2, 3, 4, 5],
        [3, 1, 1],
      ],
      [
        [64, 16, 300],
        [16, 1],
      ],
      [
        [1024, 4, 196],
        [1024, 1, 196],
      ],
    ];
    for (const op of ["add", "sub", "mul", "div", "maximum", "minimum", "gt", "ge", "eq"] as const) {
      for (const [sa, sb] of layouts) {
        // Small integers (with a NaN and signed zeros) make the comparisons meet ties and NaN.
        const ints = (shape: number[]) => {
          const v = Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.int(5) - 2);
          if (v.length > 3) [v[0], v[1], v[2]] = [NaN, -0, 0];
          return bp.tensor(v, { shape });
        };
        const cmp = op !== "add" && op !== "sub" && op !== "mul" && op !== "div";
        const a = cmp ? ints(sa) : bp.randn(sa, { rng }),
          b = cmp ? ints(sb) : bp.randn(sb, { rng });
        for (const [x, y] of [
          [a, b],
          [b, a],
        ]) {
          const got = withBackend("native", () => bp[op](x, y));
          const want = withBackend("js", () => bp[op](x, y));
          assert.deepEqual(got.shape, want.shape);
          for (let i = 0; i < want.size; i++)
            if (!Object.is(got.data[i], want.data[i])) assert.fail(`${op} ${x.shape} ${y.shape} at ${i}: ${got.data[i]} vs ${want.data[i]}`);
        }
      }
    }
    bp.setBackend("js");
  });

  it("where (relu's forward and backward) runs in C++ and agrees exactly with the reference", () => {
    useNativeBackend();
    const rng = new bp.Rng(23);
    const c = bp.gt(bp.randn([40, 33], { rng }), 0);
    for (const [sx, sy] of [
      [[40, 33], []],
      [[], [40, 33]],
      [
        [40, 33],
        [40, 33],
      ],
      [[33], [40, 1]],
      [[40, 1], []],
    ]) {
      const x = bp.randn(sx, { rng }),
        y = bp.randn(sy, { rng });
      assert.deepEqual(withBackend("native", () => bp.where(c, x, y)).toArray(), withBackend("js", () => bp.where(c, x, y)).toArray(), `where ${sx} ${sy}`);
    }
    // Batches of views: the condition broadcast over an inner axis, large enough to split over threads.
    const c3 = bp.gt(bp.randn([300, 1, 900], { rng }), 0);
    for (const [sx, sy] of [
      [[300, 4, 900], []],
      [
        [4, 1],
        [300, 4, 900],
      ],
    ]) {
      const x = bp.randn(sx, { rng }),
        y = bp.randn(sy, { rng });
      assert.deepEqual(withBackend("native", () => bp.where(c3, x, y)).data, withBackend("js", () => bp.where(c3, x, y)).data, `where ${sx} ${sy}`);
    }
    bp.setBackend("js");
  });

  it("sum and max over any axes, split over threads, equal the reference exactly (the bias gradient's batch and pixel axes among them)", () => {
    useNativeBackend();
    const rng = new bp.Rng(25);
    const cases: [number[], number[][]][] = [
      [
        [64, 16, 300],
        [[0, 2], [2], [0], [1]],
      ],
      [
        [3, 4, 5, 6],
        [
          [0, 2],
          [1, 3],
          [0, 1, 3],
          [0, 3],
          [0, 2, 3],
        ],
      ],
      [
        [1024, 4, 196],
        [[2], [0, 2]],
      ],
      [
        [2, 11, 9], // runs into 8 outputs side by side, then 3 one at a time
        [[0, 2], [2]],
      ],
      [
        [8, 100003],
        [[0], [1]],
      ],
      [
        [2, 1, 3, 1, 4],
        [
          [0, 4],
          [1, 3],
          [0, 2, 4],
        ],
      ],
    ];
    for (const [shape, axesList] of cases) {
      const values = bp.randn(shape, { rng }).data.slice();
      values[7] = NaN;
      const x = bp.tensor(values, { shape });
      for (const axes of axesList) {
        for (const op of ["sum", "max"] as const) {
          const got = withBackend("native", () => bp[op](x, axes));
          const want = withBackend("js", () => bp[op](x, axes));
          assert.deepEqual(got.shape, want.shape);
          for (let i = 0; i < want.size; i++)
            if (!Object.is(got.data[i], want.data[i])) assert.fail(`${op} ${shape} over ${axes} at ${i}: ${got.data[i]} vs ${want.data[i]}`);
        }
      }
    }
    bp.setBackend("js");
  });

  it("sum and max over contiguous axes in C++ equal the reference exactly (NaN carried through max)", () => {
    useNativeBackend();
    const rng = new bp.Rng(24);
    const values = bp.randn([5, 37, 29], { rng }).toArray() as number[][][];
    values[1][3][4] = NaN;
    const x = bp.tensor(values);
    for (const axes of [[2], [1], [0], [1, 2], [0, 1], [0, 1, 2], [0, 2]]) {
      for (const keep of [false, true]) {
        for (const op of ["sum", "max"] as const) {
          const got = withBackend("native", () => bp[op](x, axes, keep));
          const want = withBackend("js", () => bp[op](x, axes, keep));
          assert.deepEqual(got.shape, want.shape);
          for (let i = 0; i < want.size; i++)
            if (!Object.is(got.data[i], want.data[i])) assert.fail(`${op} ${axes} at ${i}: ${got.data[i]} vs ${want.data[i]}`);
        }
      }
    }
    bp.setBackend("js");
  });

  it("the addon's op lists (native/opcodes.h) are the native backend's elementwise kernels: each name an elementwise primitive, each overridden", () => {
    const ops = native!.opNames();
    assert.deepEqual(ops.map, ["neg", "abs", "sqrt", "reciprocal", "exp", "log", "sigmoid", "tanh"]);
    assert.deepEqual(ops.arithmetic, ["add", "sub", "mul", "div", "maximum", "minimum", "gt", "ge", "eq"]);
    const backend = createNativeBackend(native!, {});
    for (const name of [...ops.map, ...ops.arithmetic]) assert.equal(typeof backend.kernels[name as bp.Prim], "function", name);
    // An addon naming an op the table does not have (built from other sources) is refused, not misrouted.
    assert.throws(
      () => createNativeBackend({ ...native!, opNames: () => ({ map: ["softsign"], arithmetic: [] }) }, {}),
      /op "softsign" is not an elementwise primitive/,
    );
  });

  it("every unary map at its op code, split over the thread pool, agrees with the reference (odd length: a vector tail)", () => {
    useNativeBackend();
    const x0 = bp.randn([(1 << 17) + 5], { rng: new bp.Rng(22) }).mul(10);
    const positive = x0.abs().add(0.5);
    for (const op of native!.opNames().map as ("exp" | "tanh" | "neg" | "abs" | "sqrt" | "reciprocal" | "log" | "sigmoid")[]) {
      const x = op === "sqrt" || op === "log" ? positive : x0;
      const got = withBackend("native", () => bp[op](x));
      const want = withBackend("js", () => bp[op](x));
      for (let i = 0; i < want.size; i++) assert.ok(Math.abs(got.data[i] - want.data[i]) <= 4e-7 * Math.abs(want.data[i]) + 1.2e-38, `${op} at ${i}`);
    }
    bp.setBackend("js");
  });

  it("outputs of 4 MB and more (on huge pages where granted) are written whole, and adviseHuge checks its argument", () => {
    useNativeBackend();
    const n = (1 << 20) + 3;
    const x = bp.randn([n], { rng: new bp.Rng(23) });
    const y = bp.randn([n], { rng: new bp.Rng(24) });
    for (let round = 0; round < 3; round++) {
      // reused memory from earlier rounds must be overwritten too
      const got = withBackend("native", () => bp.sub(x, y)).data;
      const want = withBackend("js", () => bp.sub(x, y)).data;
      assert.equal(got.length, n);
      assert.ok(
        want.every((v, i) => v === got[i]),
        `round ${round}: native and reference differ`,
      );
    }
    assert.throws(() => native!.adviseHuge(new Float64Array(4) as unknown as Float32Array), /Float32Array/);
    bp.setBackend("js");
  });

  it("optimizer steps in C++ are bit-identical to the JS loops (SGD, momentum, Nesterov, weight decay, Adam, AdamW)", () => {
    useNativeBackend();
    const make: [string, (ps: bp.Tensor[]) => bp.Optimizer][] = [
      ["sgd", (ps) => new bp.SGD(ps, { lr: 0.1 })],
      ["sgd+wd", (ps) => new bp.SGD(ps, { lr: 0.1, weightDecay: 0.01 })],
      ["momentum", (ps) => new bp.SGD(ps, { lr: 0.05, momentum: 0.9, weightDecay: 1e-3 })],
      ["nesterov", (ps) => new bp.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true })],
      ["adam", (ps) => new bp.Adam(ps, { lr: 1e-3, weightDecay: 1e-4 })],
      ["adamw", (ps) => new bp.AdamW(ps, { lr: 1e-3 })],
    ];
    for (const [name, opt] of make) {
      const run = (backend: string) =>
        withBackend(backend, () => {
          const rng = new bp.Rng(5);
          // A large parameter (split over threads) and a small one (a slab view of a shared buffer).
          const ps = [bp.randn([1100, 1000], { rng }), bp.randn([10], { rng })].map((t) => bp.tensor(t.data.slice(), { shape: t.shape, requiresGrad: true }));
          const o = opt(ps);
          for (let s = 0; s < 3; s++) {
            for (const p of ps) p.grad = bp.randn(p.shape, { rng });
            o.step();
          }
          return ps.map((p) => p.data);
        });
      const [js, nat] = [run("js"), run("native")];
      for (let k = 0; k < js.length; k++)
        for (let i = 0; i < js[k].length; i++) if (js[k][i] !== nat[k][i]) assert.fail(`${name}: parameter ${k} at ${i}: ${nat[k][i]} vs ${js[k][i]}`);
    }
    bp.setBackend("js");
  });

  it("unfold and fold equal the reference kernels exactly (random geometries incl. padding wider than the kernel; float32 and float64; threads)", () => {
    useNativeBackend();
    fc.assert(
      fc.property(arbWindow, (c) => {
        checkWindow("native", c, "float32");
        checkWindow("native", c, "float64");
      }),
      { numRuns: 120, seed: 30 },
    );
    for (const c of BIG_WINDOWS) checkWindow("native", c, "float32");
    bp.setBackend("js");
  });

  it("argmax, gather and scatterAdd (max pooling's kernels) equal the reference exactly: ties, NaN, repeated indices, float32 and float64, threads", () => {
    useNativeBackend();
    const rng = new bp.Rng(27);
    for (const dtype of ["float32", "float64"] as const) {
      for (const shape of [
        [5, 7, 3],
        [64, 16, 4, 196],
        [1, 300001],
        [9, 1],
      ]) {
        // Small integers meet ties; a NaN in some of the windows.
        const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.int(4));
        values[3] = NaN;
        values[values.length - 2] = NaN;
        const x = bp.tensor(values, { shape, dtype });
        for (let axis = 0; axis < shape.length; axis++) {
          const got = withBackend("native", () => bp.argmax(x, axis));
          assert.deepEqual(got.data, withBackend("js", () => bp.argmax(x, axis)).data, `argmax ${shape} axis ${axis} ${dtype}`);
          const n = shape[axis];
          // Repeated indices, in no order: scatterAdd must add them in the reference's order.
          const indices = Int32Array.from({ length: 2 * n + 3 }, () => rng.int(n));
          const params = { indices, indexShape: [indices.length], axis };
          const g = withBackend("native", () => bp.bind("gather", [x], params));
          assert.deepEqual(g.data, withBackend("js", () => bp.bind("gather", [x], params)).data, `gather ${shape} axis ${axis} ${dtype}`);
          const ct = bp.randn(g.shape, { rng, dtype });
          const sp = { ...params, size: n };
          const s = withBackend("native", () => bp.bind("scatterAdd", [ct], sp));
          assert.deepEqual(s.data, withBackend("js", () => bp.bind("scatterAdd", [ct], sp)).data, `scatterAdd ${shape} axis ${axis} ${dtype}`);
        }
      }
    }
    const x = new Float32Array(8);
    assert.throws(() => native!.gather(x, new Float32Array(2), Int32Array.of(0, 8), 1, 8, 1), /index out of range/);
    assert.throws(() => native!.scatterAdd(new Float32Array(2), x, Int32Array.of(-1, 0), 1, 8, 1), /index out of range/);
    assert.throws(() => native!.gather(x, new Float32Array(2), Int32Array.of(0, 1), 1, 9, 1), /too small/);
    assert.throws(() => native!.argmax(x, new Float64Array(1), 1, 8, 1), /one type/);
    bp.setBackend("js");
  });

  it("a CNN's gradients (conv2d, max pooling, bias) equal the reference backend's to float32 rounding", () => {
    const run = (backend: string) =>
      withBackend(backend, () => {
        const rng = new bp.Rng(8);
        const model = new bp.Sequential(
          new bp.Conv2d(2, 6, 3, { padding: 1, rng }),
          new bp.ReLU(),
          new bp.MaxPool2d(2),
          new bp.Conv2d(6, 8, 3, { padding: 1, rng }),
          new bp.ReLU(),
          new bp.MaxPool2d(2),
          new bp.Flatten(),
          new bp.Linear(8 * 4 * 4, 5, { rng }),
        );
        const x = bp.randn([12, 2, 16, 16], { rng });
        bp.crossEntropy(
          model.forward(x),
          Int32Array.from({ length: 12 }, (_, i) => i % 5),
        ).backward();
        return model.parameters().map((p) => p.grad!);
      });
    useNativeBackend();
    const [want, got] = [run("js"), run("native")];
    // Products sum in another order than the reference's float64 rows: float32 rounding, grown by depth.
    want.forEach((w, i) => assertClose(got[i], w, 1e-4, `parameter ${i}`));
    bp.setBackend("js");
  });

  it("float64 products keep the reference path (exact)", () => {
    const a = bp.randn([5, 7], { dtype: "float64" });
    const b = bp.randn([7, 3], { dtype: "float64" });
    assert.deepEqual(withBackend("native", () => bp.matmul(a, b)).toArray(), withBackend("js", () => bp.matmul(a, b)).toArray());
  });
});

describeIf("wasm SIMD backend", bp.listBackends().includes("wasm") ? false : "WebAssembly SIMD is not available", () => {
  it("is selected on import where available", () => {
    assert.ok(bp.listBackends().includes("wasm"));
  });

  it("matmul agrees with the reference kernel, including row counts that are not multiples of 4", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 45 }),
        fc.constantFrom([], [3]),
        fc.integer(),
        (m, k, n, batch, seed) => {
          const rng = new bp.Rng(seed);
          const a = bp.randn([...batch, m, k], { rng });
          const b = bp.randn([k, n], { rng });
          const ref = withBackend("js", () => bp.matmul(a, b));
          const got = withBackend("wasm", () => bp.matmul(a, b));
          for (let i = 0; i < ref.size; i++) assert.ok(Math.abs(got.data[i] - ref.data[i]) <= 1e-4 * (1 + Math.abs(ref.data[i])) * Math.sqrt(k), `at ${i}`);
        },
      ),
      { numRuns: 80, seed: 6 },
    );
  });

  it("products reading either operand transposed agree with the reference (rows not multiples of 4 included)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 37 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 29 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer(),
        (m, k, n, tx, ty, seed) => {
          const rng = new bp.Rng(seed);
          // Stored as the primitive reads them: x is k x m when transposeX, y is n x k when transposeY.
          const x = bp.randn(tx ? [k, m] : [m, k], { rng });
          const y = bp.randn(ty ? [n, k] : [k, n], { rng });
          const params = { transposeX: tx, transposeY: ty };
          const ref = withBackend("js", () => bp.bind("matmul", [x, y], params));
          const got = withBackend("wasm", () => bp.bind("matmul", [x, y], params));
          assert.deepEqual(got.shape, [m, n]);
          for (let i = 0; i < ref.size; i++)
            assert.ok(Math.abs(got.data[i] - ref.data[i]) <= 1e-4 * (1 + Math.abs(ref.data[i])) * Math.sqrt(k), `${m}x${k}x${n} tx=${tx} ty=${ty} at ${i}`);
        },
      ),
      { numRuns: 120, seed: 13 },
    );
  });

  it("gradients through matmul (products reading an operand transposed) agree with the reference", () => {
    const rng = new bp.Rng(12);
    const x0 = bp.randn([3, 32, 40], { rng });
    const w0 = bp.randn([40, 24], { rng });
    const grads = ["js", "wasm"].map((name) =>
      withBackend(name, () => {
        const x = bp.tensor(x0.data.slice(), { shape: [3, 32, 40], requiresGrad: true });
        const w = bp.tensor(w0.data.slice(), { shape: [40, 24], requiresGrad: true });
        bp.matmul(x, w).tanh().sum().backward();
        return [x.grad!, w.grad!];
      }),
    );
    assertClose(grads[1][0], grads[0][0], 1e-4, "dx");
    assertClose(grads[1][1], grads[0][1], 1e-4, "dw");
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

/** |got - want| <= tol * (1 + |want|) everywhere, NaN where the reference has NaN, same infinities. */
function assertClose(got: bp.Tensor, want: bp.Tensor, tol: number, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  for (let i = 0; i < want.size; i++) {
    const g = got.data[i],
      w = want.data[i];
    if (Number.isNaN(w)) assert.ok(Number.isNaN(g), `${what} at ${i}: ${g}, expected NaN`);
    else if (!Number.isFinite(w)) assert.equal(g, w, `${what} at ${i}`);
    else assert.ok(Math.abs(g - w) <= tol * (1 + Math.abs(w)), `${what} at ${i}: ${g} vs ${w}`);
  }
}

const wasm = createWasmBackend();

describeIf("wasm kernels against the reference, primitive by primitive", wasm ? false : "WebAssembly SIMD is not available", () => {
  // Every primitive the backend overrides is listed here, so a new override without a test fails.
  const BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "gt", "ge", "eq"] as const;
  const UNARY = ["neg", "abs", "sqrt", "reciprocal", "exp", "log", "sigmoid", "tanh"] as const;
  const covered = new Set<string>([...BINARY, ...UNARY, "where", "sum", "max", "matmul", "unfold", "fold", "argmax", "gather", "scatterAdd"]);

  it("covers every kernel the backend overrides", () => {
    assert.deepEqual(Object.keys(wasm!.kernels).sort(), [...covered].sort());
  });

  // (out shape, input shapes): full, row vector, column vector, scalar, leading broadcast, and a layout
  // with no 2-D view (which must fall back and still agree).
  const layouts: [number[], number[]][] = [
    [
      [37, 53],
      [37, 53],
    ],
    [[37, 53], [53]],
    [
      [37, 53],
      [37, 1],
    ],
    [[37, 53], []],
    [
      [4, 9, 31],
      [9, 31],
    ],
    [
      [4, 9, 31],
      [4, 1, 31],
    ],
    [[1, 1031], [1031]],
    // batches of 2-D views (view3d): a bias over channels, windows against their maximum, split over threads
    [
      [6, 5, 40],
      [5, 1],
    ],
    [
      [64, 16, 300],
      [16, 1],
    ],
    [
      [1024, 4, 196],
      [1024, 1, 196],
    ],
  ];

  for (const op of BINARY) {
    it(`${op} on every broadcast layout, both operand orders`, () => {
      const rng = new bp.Rng(op.length);
      for (const [sa, sb] of layouts) {
        // Small integers make eq and the comparisons meet ties.
        const ints = (shape: number[]) =>
          bp.tensor(
            Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.int(5) - 2),
            { shape },
          );
        const a = op === "eq" || op === "ge" ? ints(sa) : bp.randn(sa, { rng });
        const b = op === "eq" || op === "ge" ? ints(sb) : bp.randn(sb, { rng });
        for (const [x, y] of [
          [a, b],
          [b, a],
        ]) {
          const f = (bp as unknown as Record<string, (x: bp.Tensor, y: bp.Tensor) => bp.Tensor>)[op];
          assertClose(
            withBackend("wasm", () => f(x, y)),
            withBackend("js", () => f(x, y)),
            1e-6,
            `${op} ${x.shape} ${y.shape}`,
          );
        }
      }
    });
  }

  const specials = [
    0,
    -0,
    1e-45,
    1e-39,
    1e-30,
    0.3,
    -0.3,
    0.6249,
    0.6251,
    1,
    -1,
    10,
    -10,
    87,
    -87,
    88.7,
    89,
    -89,
    -103,
    -200,
    200,
    1e30,
    -1e30,
    Infinity,
    -Infinity,
    NaN,
  ];
  // The native backend computes these in C++ (AVX2) with the same approximations: both are held to it.
  for (const [op, backend] of UNARY.flatMap((op) => [[op, "wasm"], ...(native ? [[op, "native"]] : [])] as [(typeof UNARY)[number], string][])) {
    it(`${op} (${backend}) on random values and every special value (float32 tolerance)`, () => {
      const rng = new bp.Rng(op.length + 7);
      const values = bp.randn([2053], { rng }).mul(op === "exp" || op === "sigmoid" || op === "tanh" ? 20 : 3);
      const x = bp.tensor([...(values.toArray() as number[]), ...specials.flatMap((v) => [v, -v])]);
      const f = (bp as unknown as Record<string, (x: bp.Tensor) => bp.Tensor>)[op];
      // exp and log are polynomial approximations: a few units in the last place of float32.
      const tol = ["exp", "log", "sigmoid", "tanh"].includes(op) ? 4e-7 : 0;
      const got = withBackend(backend, () => f(x));
      const want = withBackend("js", () => f(x));
      for (let i = 0; i < want.size; i++) {
        const w = want.data[i],
          g = got.data[i];
        if (Number.isNaN(w)) assert.ok(Number.isNaN(g), `${op}(${x.data[i]}) = ${g}, expected NaN`);
        else if (!Number.isFinite(w) || tol === 0) assert.equal(g, w, `${op}(${x.data[i]})`);
        // Below float32's normal range the approximations may flush to 0.
        else assert.ok(Math.abs(g - w) <= tol * Math.abs(w) + 1.2e-38, `${op}(${x.data[i]}) = ${g} vs ${w}`);
      }
    });
  }

  it("where with a full condition and full, row or scalar branches", () => {
    const rng = new bp.Rng(11);
    const c = bp.gt(bp.randn([40, 33], { rng }), 0);
    for (const [sx, sy] of [
      [[40, 33], []],
      [[], [40, 33]],
      [[33], [40, 33]],
      [[40, 1], [33]],
    ]) {
      const x = bp.randn(sx, { rng }),
        y = bp.randn(sy, { rng });
      assertClose(
        withBackend("wasm", () => bp.where(c, x, y)),
        withBackend("js", () => bp.where(c, x, y)),
        0,
        `where ${sx} ${sy}`,
      );
    }
  });

  it("sum and max over contiguous axes, keepdims or not, with NaN carried through max", () => {
    const rng = new bp.Rng(12);
    const x = bp.randn([6, 37, 29], { rng });
    for (const axes of [[2], [1], [0], [1, 2], [0, 1], [0, 1, 2], [0, 2]]) {
      for (const keep of [false, true]) {
        assertClose(
          withBackend("wasm", () => bp.sum(x, axes, keep)),
          withBackend("js", () => bp.sum(x, axes, keep)),
          1e-6,
          `sum ${axes}`,
        );
        assertClose(
          withBackend("wasm", () => bp.max(x, axes, keep)),
          withBackend("js", () => bp.max(x, axes, keep)),
          0,
          `max ${axes}`,
        );
      }
    }
    // A bias gradient's axes around the channels, summed in two passes (last run first): each of the 64
    // partial sums (of 784 values, |sum| up to about 100) is rounded to float32 once, 6e-8 of it, so
    // the result may differ by up to 64 * 100 * 6e-8 = 4e-4 (typically 1e-5) from the one float64 pass.
    const b = bp.randn([64, 16, 28, 28], { rng });
    assertClose(
      withBackend("wasm", () => bp.sum(b, [0, 2, 3])),
      withBackend("js", () => bp.sum(b, [0, 2, 3])),
      1e-4,
      "sum over the batch and pixels",
    );
    const withNaN = x.reshape([-1]).toArray() as number[];
    withNaN[100] = NaN;
    const y = bp.tensor(withNaN, { shape: [6, 37, 29] });
    assertClose(
      withBackend("wasm", () => bp.max(y, -1)),
      withBackend("js", () => bp.max(y, -1)),
      0,
      "max with NaN",
    );
  });

  it("large work split over worker threads agrees with the reference", async () => {
    const pool = await (async () => {
      withBackend("wasm", () => bp.add(bp.zeros([1 << 17]), 1)); // the first large job spawns the threads
      const p = wasm!.pool();
      if (p) await p.whenReady();
      return p;
    })();
    assert.ok(pool && pool.ready() >= Math.min(1, availableParallelism() - 1), "worker threads started");
    const rng = new bp.Rng(13);
    const a = bp.randn([300, 700], { rng }),
      b = bp.randn([700], { rng }),
      c = bp.randn([1 << 17], { rng });
    assertClose(
      withBackend("wasm", () => bp.add(a, b)),
      withBackend("js", () => bp.add(a, b)),
      0,
      "rows split",
    );
    assertClose(
      withBackend("wasm", () => bp.mul(c, c)),
      withBackend("js", () => bp.mul(c, c)),
      0,
      "one row split by columns",
    );
    assertClose(
      withBackend("wasm", () => bp.exp(c)),
      withBackend("js", () => bp.exp(c)),
      4e-7,
      "unary split",
    );
    const m = bp.randn([301, 257], { rng }),
      w = bp.randn([257, 203], { rng });
    assertClose(
      withBackend("wasm", () => bp.matmul(m, w)),
      withBackend("js", () => bp.matmul(m, w)),
      1e-4,
      "matmul rows split",
    );
    // Both operands stored transposed (257 x 301 read as 301 x 257, 203 x 257 read as 257 x 203): panels of B packed by several threads.
    const mt = bp.randn([257, 301], { rng }),
      wt = bp.randn([203, 257], { rng });
    const flags = { transposeX: true, transposeY: true };
    assertClose(
      withBackend("wasm", () => bp.bind("matmul", [mt, wt], flags)),
      withBackend("js", () => bp.bind("matmul", [mt, wt], flags)),
      1e-4,
      "matmul of transposed operands split",
    );
  });

  it("unfold and fold equal the reference kernels exactly (random geometries, float64 falling back; threads on the large ones)", async () => {
    fc.assert(
      fc.property(arbWindow, (c) => {
        checkWindow("wasm", c, "float32");
        checkWindow("wasm", c, "float64");
      }),
      { numRuns: 120, seed: 31 },
    );
    withBackend("wasm", () => bp.add(bp.zeros([1 << 17]), 1)); // the first large job spawns the threads
    await wasm!.pool()?.whenReady();
    for (const c of BIG_WINDOWS) checkWindow("wasm", c, "float32");
  });

  /** argmax, gather and scatterAdd of x along `axis` on the wasm backend equal the reference's bit for bit; `n + 3` repeated indices in no order. */
  const checkIndexing = (x: bp.Tensor, axis: number, rng: bp.Rng, what: string) => {
    const got = withBackend("wasm", () => bp.argmax(x, axis));
    assert.deepEqual(got.data, withBackend("js", () => bp.argmax(x, axis)).data, `argmax ${what}`);
    const n = x.shape[axis];
    const indices = Int32Array.from({ length: 2 * n + 3 }, () => rng.int(n));
    const params = { indices, indexShape: [indices.length], axis };
    const g = withBackend("wasm", () => bp.bind("gather", [x], params));
    assert.deepEqual(g.data, withBackend("js", () => bp.bind("gather", [x], params)).data, `gather ${what}`);
    // Random values: scatterAdd's sums of repeated indices only agree if they are added in the reference's order.
    const ct = bp.randn(g.shape, { rng, dtype: x.dtype });
    const sp = { ...params, size: n };
    const s = withBackend("wasm", () => bp.bind("scatterAdd", [ct], sp));
    assert.deepEqual(s.data, withBackend("js", () => bp.bind("scatterAdd", [ct], sp)).data, `scatterAdd ${what}`);
  };

  it("argmax, gather and scatterAdd (max pooling's kernels) equal the reference exactly on random shapes and axes: ties (first index wins), NaN, repeated indices", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 13 }), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.integer(),
        fc.constantFrom("float32" as const, "float64" as const),
        (shape, axisSeed, seed, dtype) => {
          const rng = new bp.Rng(seed);
          const size = shape.reduce((a, b) => a * b, 1);
          // Values from {0, 1, 2, 3}: most windows hold ties; a NaN in some of them.
          const values = Array.from({ length: size }, () => rng.int(4));
          if (size > 3) values[rng.int(size)] = NaN;
          checkIndexing(bp.tensor(values, { shape, dtype }), axisSeed % shape.length, rng, `${shape} ${dtype}`);
        },
      ),
      { numRuns: 150, seed: 32 },
    );
    // Shapes large enough for the wasm kernels whatever fast-check drew: a pooling layer's windows
    // (N, C, taps, L), columns not a multiple of four, one long row, a NaN first in its column.
    const rng = new bp.Rng(33);
    for (const shape of [
      [8, 16, 4, 49],
      [3, 5, 7, 11],
      [1, 4099],
      [700, 3],
    ]) {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: size }, () => rng.int(3));
      values[0] = NaN;
      values[size - 5] = NaN;
      const x = bp.tensor(values, { shape, dtype: "float32" });
      for (let axis = 0; axis < shape.length; axis++) checkIndexing(x, axis, rng, `${shape} axis ${axis}`);
    }
  });

  it("argmax, gather and scatterAdd split over worker threads equal the reference; an index out of range is an error naming it", async () => {
    withBackend("wasm", () => bp.add(bp.zeros([1 << 17]), 1)); // the first large job spawns the threads
    await wasm!.pool()?.whenReady();
    const rng = new bp.Rng(34);
    for (const shape of [
      [64, 16, 4, 196],
      [1, 300001],
    ]) {
      const size = shape.reduce((a, b) => a * b, 1);
      const x = bp.tensor(
        Float32Array.from({ length: size }, () => rng.int(4)),
        { shape },
      );
      for (let axis = 0; axis < shape.length; axis++) checkIndexing(x, axis, rng, `${shape} axis ${axis}`);
    }
    // The max pooling a CNN's training step runs: gather on the flattened input, scatterAdd of its gradient.
    const x = bp.randn([64, 16, 28, 28], { rng });
    const out = bp.randn([64, 16, 14, 14], { rng });
    const grad = (backend: string) => withBackend(backend, () => bp.grad((t: bp.Tensor) => bp.sum(bp.mul(bp.maxPool2d(t, { kernelSize: 2 }), out)))(x));
    assert.deepEqual(grad("wasm").data, grad("js").data, "max pooling's gradient");
    const big = bp.zeros([600]);
    assert.throws(
      () =>
        withBackend("wasm", () =>
          wasm!.kernels.gather!(
            [{ data: big.data, shape: [600] }],
            { indices: Int32Array.of(0, 600), indexShape: [2], axis: 0 },
            { shape: [2], dtype: "float32" },
          ),
        ),
      /gather: index 600 at position 1 is out of range for an axis of length 600/,
    );
    assert.throws(
      () =>
        withBackend("wasm", () =>
          wasm!.kernels.scatterAdd!(
            [{ data: big.data, shape: [600] }],
            { indices: new Int32Array(600).fill(-1), indexShape: [600], axis: 0, size: 5 },
            { shape: [5], dtype: "float32" },
          ),
        ),
      /scatterAdd: index -1 at position 0 is out of range for an axis of length 5/,
    );
  });

  it("batched products with an operand shared by every batch (a convolution's weight and its gradients) agree with the reference, threads included", async () => {
    withBackend("wasm", () => bp.add(bp.zeros([1 << 17]), 1)); // the first large job spawns the threads
    await wasm!.pool()?.whenReady();
    const rng = new bp.Rng(28);
    for (const [m, k, n, batches] of [
      [32, 144, 196, 64],
      [16, 9, 784, 8],
      [7, 13, 10, 5], // rows padded to a micro-tile, columns to a panel
    ]) {
      const w = bp.randn([m, k], { rng }),
        cols = bp.randn([batches, k, n], { rng }),
        ct = bp.randn([batches, m, n], { rng });
      const cases: [bp.Tensor, bp.Tensor, { transposeX?: boolean; transposeY?: boolean }][] = [
        [w, cols, {}],
        [w, ct, { transposeX: true }],
        [ct, cols, { transposeY: true }],
        [cols, w.reshape([1, m, k]), { transposeX: true, transposeY: true }],
      ];
      for (const [x, y, flags] of cases) {
        assertClose(
          withBackend("wasm", () => bp.bind("matmul", [x, y], flags)),
          withBackend("js", () => bp.bind("matmul", [x, y], flags)),
          1e-4 * Math.sqrt(Math.max(k, n)),
          `${m}x${k}x${n} x${batches} ${JSON.stringify(flags)}`,
        );
      }
    }
  });

  it("view3d finds batches of 2-D views where there is no 2-D view, and refuses what has neither", () => {
    assert.deepEqual(view3d([8, 5], [[8, 5], [5]]), { rows: 8, cols: 5, rs: [5, 0], vec: [1, 1], batches: 1, bs: [0, 0] });
    // a bias over channels: the channel axis is the rows, the bias a column vector, the same for every batch
    assert.deepEqual(
      view3d(
        [64, 16, 784],
        [
          [64, 16, 784],
          [16, 1],
        ],
      ),
      { batches: 64, rows: 16, cols: 784, rs: [784, 1], vec: [1, 0], bs: [16 * 784, 0] },
    );
    // pooling windows against their maximum: a row vector per batch
    assert.deepEqual(
      view3d(
        [4, 9, 31],
        [
          [4, 9, 31],
          [4, 1, 31],
        ],
      ),
      { batches: 4, rows: 9, cols: 31, rs: [31, 0], vec: [1, 1], bs: [9 * 31, 31] },
    );
    assert.equal(
      view3d(
        [2, 3, 4, 5],
        [
          [2, 1, 4, 1],
          [1, 3, 1, 5],
        ],
      ),
      null,
    );
  });

  it("view2d finds the layouts and refuses what has none", () => {
    assert.deepEqual(view2d([8, 5], [[8, 5], [5]]), { rows: 8, cols: 5, rs: [5, 0], vec: [1, 1] });
    assert.deepEqual(view2d([8, 5], [[8, 1], []]), { rows: 8, cols: 5, rs: [1, 0], vec: [0, 0] });
    assert.equal(
      view2d(
        [4, 9, 31],
        [
          [4, 9, 31],
          [4, 1, 31],
        ],
      ),
      null,
    );
  });
});
