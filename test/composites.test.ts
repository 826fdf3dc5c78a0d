/**
 * Every public differentiable op, composites included, passes gradcheck on random shapes that
 * broadcast (drawn by fast-check), and its values match plain references.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as bp from "../src/index.js";
import { assertClose, assertGradcheck, randTensor, secondOrder, type Domain } from "./helpers.js";

/** A shape and a second shape broadcastable with it (dims set to 1, leading dims dropped), either order. */
const broadcastPair = fc
  .tuple(
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
    fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    fc.integer({ min: 0, max: 3 }),
    fc.boolean(),
  )
  .map(([a, ones, drop, swap]) => {
    const b = a.map((d, i) => (ones[i] ? 1 : d)).slice(Math.min(drop, a.length));
    return swap ? [b, a] : [a, b];
  });

const FIXED_PAIRS: number[][][] = [
  [[], []],
  [[3], []],
  [[3], [3, 1]],
  [
    [1, 4],
    [3, 1],
  ],
  [
    [2, 3, 4],
    [2, 1, 4],
  ],
];

type Unary = [string, (x: bp.Tensor) => bp.Tensor, Domain];
const UNARY: Unary[] = [
  ["neg", bp.neg, "any"],
  ["exp", bp.exp, "any"],
  ["log", bp.log, "pos"],
  ["sin", bp.sin, "any"],
  ["cos", bp.cos, "any"],
  ["tan", bp.tan, "small"],
  ["sqrt", bp.sqrt, "pos"],
  ["tanh", bp.tanh, "any"],
  ["sigmoid", bp.sigmoid, "any"],
  ["erf", bp.erf, "any"],
  ["relu", bp.relu, "nonzero"],
  ["leakyRelu", (x) => bp.leakyRelu(x, 0.1), "nonzero"],
  ["abs", bp.abs, "nonzero"],
  ["reciprocal", bp.reciprocal, "nonzero"],
  ["square", bp.square, "any"],
  ["gelu", (x) => bp.gelu(x), "any"],
  ["gelu tanh", (x) => bp.gelu(x, { approximate: "tanh" }), "any"],
  ["softplus", (x) => bp.softplus(x), "any"],
  ["softplus beta 2", (x) => bp.softplus(x, { beta: 2 }), "any"],
  // The same mask at every call (a fresh generator of one seed), so central differences see one function.
  ["dropout", (x) => bp.dropout(x, 0.3, { rng: new bp.Rng(3) }), "any"],
];

type Binary = [string, (x: bp.Tensor, y: bp.Tensor) => bp.Tensor, Domain, Domain];
const BINARY: Binary[] = [
  ["add", bp.add, "any", "any"],
  ["sub", bp.sub, "any", "any"],
  ["mul", bp.mul, "any", "any"],
  ["div", bp.div, "any", "nonzero"],
  ["pow", bp.pow, "pos", "any"],
  ["maximum", bp.maximum, "any", "any"],
  ["minimum", bp.minimum, "any", "any"],
  ["where(x > y, x*y, x-y)", (x, y) => bp.where(bp.gt(x, y), bp.mul(x, y), bp.sub(x, y)), "any", "any"],
  ["mse", (x, y) => bp.mse(x, y), "any", "any"],
];

describe("unary ops and composites: gradcheck on random shapes", () => {
  for (const [name, f, domain] of UNARY) {
    it(name, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }), fc.integer(), (shape, seed) => {
          const x = randTensor(shape, new bp.Rng(seed), domain);
          assertGradcheck(f, [x], `${name} ${JSON.stringify(shape)}`);
        }),
        { numRuns: 15, seed: 42 },
      );
    });
  }
});

describe("binary ops and composites: gradcheck on shapes that broadcast", () => {
  for (const [name, f, da, db] of BINARY) {
    it(name, () => {
      const rng = new bp.Rng(5);
      for (const [a, b] of FIXED_PAIRS) {
        assertGradcheck(f, [randTensor(a, rng, da), randTensor(b, rng, db)], `${name} ${JSON.stringify([a, b])}`);
        assertGradcheck(f, [randTensor(b, rng, da), randTensor(a, rng, db)], `${name} ${JSON.stringify([b, a])}`);
      }
      fc.assert(
        fc.property(broadcastPair, fc.integer(), ([a, b], seed) => {
          const r = new bp.Rng(seed);
          assertGradcheck(f, [randTensor(a, r, da), randTensor(b, r, db)], `${name} ${JSON.stringify([a, b])}`);
        }),
        { numRuns: 15, seed: 43 },
      );
    });
  }
});

describe("reductions, softmax family and losses: gradcheck", () => {
  const rng = new bp.Rng(9);
  const x = () => randTensor([2, 3, 4], rng);
  const cases: [string, (t: bp.Tensor) => bp.Tensor][] = [
    ["sum()", (t) => t.sum()],
    ["sum(1)", (t) => t.sum(1)],
    ["sum([0,2], keepdims)", (t) => t.sum([0, 2], true)],
    ["mean(-1)", (t) => t.mean(-1)],
    ["mean()", (t) => t.mean()],
    ["max(1)", (t) => t.max(1)],
    ["max()", (t) => t.max()],
    ["min(0, keepdims)", (t) => t.min(0, true)],
    ["logsumexp(-1)", (t) => t.logsumexp(-1)],
    ["logsumexp([0,1])", (t) => t.logsumexp([0, 1])],
    ["softmax(-1)", (t) => t.softmax(-1)],
    ["softmax(0)", (t) => t.softmax(0)],
    ["logSoftmax(1)", (t) => t.logSoftmax(1)],
    ["crossEntropy", (t) => bp.crossEntropy(t.reshape([6, 4]), [0, 3, 1, 2, 2, 0])],
    [
      "crossEntropy sum, batch (2,3)",
      (t) =>
        bp.crossEntropy(
          t,
          [
            [0, 3, 1],
            [2, 2, 0],
          ],
          { reduction: "sum" },
        ),
    ],
  ];
  for (const [name, f] of cases) {
    it(name, () => {
      const t = x();
      assertGradcheck(f, [t], name);
      assertGradcheck(secondOrder(f, [t], rng), [t], `${name} second order`, { atol: 1e-5, rtol: 1e-4 });
    });
  }
});

describe("structure ops: gradcheck", () => {
  const rng = new bp.Rng(10);
  const cases: [string, bp.Shape, (t: bp.Tensor) => bp.Tensor][] = [
    ["reshape(-1)", [2, 3], (t) => t.reshape([-1])],
    ["reshape(3, -1)", [2, 3, 2], (t) => t.reshape(3, -1)],
    ["transpose()", [2, 3, 4], (t) => t.transpose()],
    ["permute(1, 2, 0)", [2, 3, 4], (t) => t.permute(1, 2, 0)],
    [".T", [2, 3, 4], (t) => t.T],
    ["broadcastTo", [3, 1], (t) => t.broadcastTo([2, 3, 4])],
    ["squeeze/unsqueeze", [3, 1], (t) => t.squeeze().unsqueeze(0).unsqueeze(-1)],
    ["slice", [4, 5], (t) => t.slice([1, null], [null, null, 2])],
    ["slice with index", [4, 5], (t) => t.slice(-1, [1, 4])],
    ["concat", [2, 3], (t) => bp.concat([t, t.mul(2), t.slice(null, [0, 1])], 1)],
    ["stack", [2, 3], (t) => bp.stack([t, t.exp()], 1)],
    [
      "take",
      [3, 4],
      (t) =>
        t.take(
          [
            [2, 0],
            [0, 1],
          ],
          1,
        ),
    ],
    ["take flat", [3, 4], (t) => t.take([11, 0, 5, 5])],
    ["takeAlongAxis", [3, 4], (t) => t.takeAlongAxis([[1], [3], [3]], 1)],
    ["takeAlongAxis axis 0 broadcast", [3, 4], (t) => t.takeAlongAxis([[2, 0, 1, 1]], 0)],
    [
      "matmul 1-D @ 2-D",
      [3],
      (t) =>
        bp.matmul(
          t,
          bp.tensor(
            [
              [1, 2],
              [3, 4],
              [5, 6],
            ],
            { dtype: "float64" },
          ),
        ),
    ],
    ["matmul batched broadcast", [2, 5, 4], (t) => bp.matmul(t, randTensor([3, 2, 4, 3], new bp.Rng(1)))],
    ["matmul vector-vector", [4], (t) => bp.matmul(t, t)],
    ["astype float32 round trip", [3], (t) => t.astype("float32").astype("float64").mul(t)],
  ];
  for (const [name, shape, f] of cases) {
    it(name, () => {
      const t = randTensor(shape, rng);
      assertGradcheck(f, [t], name, name.startsWith("astype") ? { eps: 1e-2, atol: 1e-3, rtol: 1e-3 } : {});
    });
  }
  it("matmul: both operands of a batched, broadcast product", () => {
    assertGradcheck(bp.matmul, [randTensor([2, 5, 4], rng), randTensor([3, 2, 4, 3], rng)], "matmul (2,5,4) @ (3,2,4,3)");
    assertGradcheck(bp.matmul, [randTensor([4], rng), randTensor([2, 4, 3], rng)], "matmul (4,) @ (2,4,3)");
    assertGradcheck(bp.matmul, [randTensor([1, 3, 4], rng), randTensor([4], rng)], "matmul (1,3,4) @ (4,)");
  });
});

describe("composite values", () => {
  it("relu, leakyRelu and their gradient at 0 (0, as in PyTorch)", () => {
    const x = bp.tensor([-2, 0, 3], { dtype: "float64", requiresGrad: true });
    const y = bp.relu(x);
    assert.deepEqual(y.toArray(), [0, 0, 3]);
    y.sum().backward();
    assert.deepEqual(x.grad?.toArray(), [0, 0, 1]);
    assert.deepEqual(bp.leakyRelu(bp.tensor([-2, 3], { dtype: "float64" }), 0.1).toArray(), [-0.2, 3]);
  });

  it("softmax rows sum to 1; logSoftmax is its log", () => {
    const x = randTensor([3, 5], new bp.Rng(3));
    const s = bp.softmax(x);
    assertClose(s.sum(1).data, [1, 1, 1], 1e-12, "rows");
    assertClose(bp.logSoftmax(x).data, Array.from(s.data, Math.log), 1e-12, "log");
  });

  it("crossEntropy equals -log softmax at the target, with mean, sum and none", () => {
    const logits = bp.tensor(
      [
        [2, 1, 0],
        [0, 0, 3],
      ],
      { dtype: "float64" },
    );
    const p = bp.softmax(logits).toArray() as number[][];
    const each = [-Math.log(p[0][0]), -Math.log(p[1][2])];
    assertClose(bp.crossEntropy(logits, [0, 2], { reduction: "none" }).data, each, 1e-12, "none");
    assertClose([bp.crossEntropy(logits, [0, 2]).item()], [(each[0] + each[1]) / 2], 1e-12, "mean");
    assertClose([bp.crossEntropy(logits, bp.tensor([0, 2]), { reduction: "sum" }).item()], [each[0] + each[1]], 1e-12, "sum");
    assert.throws(() => bp.crossEntropy(logits, [0]), /expected 2 class indices for logits of shape \(2,3\), got 1/);
    assert.throws(() => bp.crossEntropy(logits, [0, 3]), /class label 3 at position 1 is not a class index in \[0, 3\)/);
  });

  it("min, max, mean, argmax and argmin", () => {
    const x = bp.tensor([
      [1, 5, 2],
      [7, 0, 7],
    ]);
    assert.deepEqual(x.max(1).toArray(), [5, 7]);
    assert.deepEqual(x.min(0).toArray(), [1, 0, 2]);
    assert.deepEqual(x.mean(1, true).toArray(), [[Math.fround(8 / 3)], [Math.fround(14 / 3)]]);
    assert.deepEqual(x.argmax(1).toArray(), [1, 0]);
    assert.deepEqual(x.argmin(1).toArray(), [0, 1]);
    assert.equal(x.argmax().item(), 3);
  });

  it("max splits the gradient evenly among ties", () => {
    const x = bp.tensor([3, 1, 3], { dtype: "float64", requiresGrad: true });
    x.max().backward();
    assert.deepEqual(x.grad?.toArray(), [0.5, 0, 0.5]);
  });
});

describe("normalization and embedding: gradcheck of every input, and second order", () => {
  const rng = new bp.Rng(11);
  const trainBn = (x: bp.Tensor, w: bp.Tensor, b: bp.Tensor) => bp.batchNorm(x, { weight: w, bias: b, training: true });
  const running = { runningMean: randTensor([3], rng), runningVar: randTensor([3], rng, "pos") };
  const evalBn = (x: bp.Tensor, w: bp.Tensor, b: bp.Tensor) => bp.batchNorm(x, { ...running, weight: w, bias: b });
  // Weight and bias (3,) or (4,) or (3, 4) broadcast against inputs of more dimensions.
  const cases: [string, (...xs: bp.Tensor[]) => bp.Tensor, bp.Shape[]][] = [
    ["batchNorm training (N, C)", trainBn, [[5, 3], [3], [3]]],
    ["batchNorm training (N, C, L)", trainBn, [[2, 3, 4], [3], [3]]],
    ["batchNorm training (N, C, H, W)", trainBn, [[2, 3, 2, 2], [3], [3]]],
    ["batchNorm evaluation (N, C, L)", evalBn, [[2, 3, 4], [3], [3]]],
    ["layerNorm over (4,)", (x, w, b) => bp.layerNorm(x, 4, { weight: w, bias: b }), [[2, 3, 4], [4], [4]]],
    [
      "layerNorm over (3, 4)",
      (x, w, b) => bp.layerNorm(x, [3, 4], { weight: w, bias: b }),
      [
        [2, 3, 4],
        [3, 4],
        [3, 4],
      ],
    ],
    ["layerNorm of one example", (x, w, b) => bp.layerNorm(x, 4, { weight: w, bias: b }), [[4], [4], [4]]],
    // Without paddingIdx: that one withholds the padding row's gradient on purpose (checked against PyTorch in norm.test.ts).
    [
      "embedding, repeated indices",
      (w) =>
        bp.embedding(
          [
            [0, 2, 1],
            [2, 2, 3],
          ],
          w,
        ),
      [[4, 3]],
    ],
  ];
  for (const [name, f, shapes] of cases) {
    it(name, () => {
      const xs = shapes.map((s) => randTensor(s, rng));
      assertGradcheck(f, xs, name);
      // Differences of a gradient (itself rounded) need looser bounds than first order: 1e-5 as above.
      assertGradcheck(secondOrder(f, xs, rng), xs, `${name} second order`, { atol: 1e-5, rtol: 1e-4 });
    });
  }
});
