/** Broadcasting and matmul shape rules: the tutorial's exercises, a property-based oracle, and NumPy itself. */
import { describeIf } from "./helpers.js";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fc from "fast-check";
import * as bp from "../src/index.js";
import { PYTHON, PYTHON_HAS_NUMPY } from "./python.js";

/** NumPy's three rules, restated independently of the library. */
function oracleBroadcast(a: readonly number[], b: readonly number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const pa = [...Array(n - a.length).fill(1), ...a];
  const pb = [...Array(n - b.length).fill(1), ...b];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (pa[i] === pb[i]) out.push(pa[i]);
    else if (pa[i] === 1) out.push(pb[i]);
    else if (pb[i] === 1) out.push(pa[i]);
    else return null;
  }
  return out;
}

function oracleMatmul(a: readonly number[], b: readonly number[]): number[] | null {
  if (a.length === 0 || b.length === 0) return null;
  const A = a.length === 1 ? [1, a[0]] : [...a];
  const B = b.length === 1 ? [b[0], 1] : [...b];
  if (A[A.length - 1] !== B[B.length - 2]) return null;
  const batch = oracleBroadcast(A.slice(0, -2), B.slice(0, -2));
  if (!batch) return null;
  return [...batch, ...(a.length > 1 ? [A[A.length - 2]] : []), ...(b.length > 1 ? [B[B.length - 1]] : [])];
}

function tryShape(f: () => number[]): number[] | null {
  try {
    return f();
  } catch (e) {
    assert.ok(e instanceof bp.ShapeError, `expected a ShapeError, got ${String(e)}`);
    return null;
  }
}

const dim = fc.integer({ min: 0, max: 5 });
const shapeArb = fc.array(dim, { maxLength: 5 });
/** Pairs that often broadcast: b is a with some dims set to 1 and some leading dims dropped. */
const relatedPair = fc.tuple(shapeArb, fc.array(fc.boolean(), { maxLength: 5 }), fc.integer({ min: 0, max: 5 }), fc.boolean()).map(([a, ones, drop, swap]) => {
  const b = a.map((d, i) => (ones[i] ? 1 : d)).slice(Math.min(drop, a.length));
  return swap ? ([b, a] as const) : ([a, b] as const);
});

describe("broadcastShapes", () => {
  it("answers the tutorial's addition exercises (004, question 1 a-e)", () => {
    assert.deepEqual(bp.broadcastShapes([2], [2, 1]), [2, 2]);
    assert.deepEqual(bp.broadcastShapes([4], [4, 1, 1]), [4, 1, 4]);
    assert.deepEqual(bp.broadcastShapes([4, 2], [2, 4, 1]), [2, 4, 2]);
    assert.deepEqual(bp.broadcastShapes([8, 3], [2, 8, 1]), [2, 8, 3]);
    assert.throws(() => bp.broadcastShapes([6, 5, 3], [6, 5]), {
      message: "operands could not be broadcast together with shapes (6,5,3) (6,5)",
    });
  });

  it("names the op when an op fails, with both shapes", () => {
    assert.throws(() => bp.add(bp.zeros([6, 5, 3]), bp.zeros([6, 5])), {
      name: "ShapeError",
      message: "add: operands could not be broadcast together with shapes (6,5,3) (6,5)",
    });
  });

  it("agrees with NumPy's three rules on random shapes (property)", () => {
    fc.assert(
      fc.property(fc.oneof(relatedPair, fc.tuple(shapeArb, shapeArb)), ([a, b]) => {
        assert.deepEqual(
          tryShape(() => bp.broadcastShapes(a, b)),
          oracleBroadcast(a, b),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it("and the ops produce exactly that shape (property)", () => {
    fc.assert(
      fc.property(relatedPair, ([a, b]) => {
        const expected = oracleBroadcast(a, b);
        const got = tryShape(() => [...bp.add(bp.zeros(a), bp.ones(b)).shape]);
        assert.deepEqual(got, expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe("matmulShape", () => {
  it("answers the tutorial's matmul exercises (004, question 1 f-j)", () => {
    assert.deepEqual(bp.matmulShape([5, 4], [4, 8]), [5, 8]);
    assert.deepEqual(bp.matmulShape([3, 5, 4], [3, 4, 8]), [3, 5, 8]);
    assert.throws(() => bp.matmulShape([3, 5, 4], [5, 4, 8]), /matmul: batch dimensions could not be broadcast together for \(3,5,4\) @ \(5,4,8\)/);
    assert.deepEqual(bp.matmulShape([1, 5, 4], [5, 4, 8]), [5, 5, 8]);
    assert.deepEqual(bp.matmulShape([2, 5, 4], [3, 2, 4, 8]), [3, 2, 5, 8]);
  });

  it("promotes and removes 1-D operands like NumPy", () => {
    assert.deepEqual(bp.matmulShape([4], [4]), []);
    assert.deepEqual(bp.matmulShape([4], [2, 4, 3]), [2, 3]);
    assert.deepEqual(bp.matmulShape([2, 3, 4], [4]), [2, 3]);
    assert.throws(() => bp.matmulShape([], [3]), /at least 1 dimension/);
    assert.throws(() => bp.matmulShape([2, 3], [4, 5]), /inner dimensions do not match for \(2,3\) @ \(4,5\): 3 .* != 4/);
  });

  it("agrees with NumPy's rule on random shapes (property), and the op computes that shape", () => {
    const mm = fc
      .tuple(
        fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
        dim,
        dim,
        dim,
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
      )
      .map(([ba, bb, m, k, n, vecA, vecB, mismatch]) => {
        const a = vecA ? [k] : [...ba, m, k];
        const b = vecB ? [mismatch ? k + 1 : k] : [...bb, mismatch ? k + 1 : k, n];
        return [a, b] as const;
      });
    fc.assert(
      fc.property(mm, ([a, b]) => {
        const expected = oracleMatmul(a, b);
        assert.deepEqual(
          tryShape(() => bp.matmulShape(a, b)),
          expected,
        );
        assert.deepEqual(
          tryShape(() => [...bp.matmul(bp.ones(a), bp.ones(b)).shape]),
          expected,
        );
      }),
      { numRuns: 500 },
    );
  });
});

const hasNumpy = PYTHON_HAS_NUMPY;

describeIf("cross-check against NumPy", hasNumpy ? false : "python3 with numpy is not installed", () => {
  it("broadcast and matmul shapes (and errors) match numpy on 400 random pairs", () => {
    const pairs = fc.sample(fc.oneof(relatedPair, fc.tuple(shapeArb, shapeArb)), { numRuns: 200, seed: 7 });
    const mats = fc.sample(
      fc.tuple(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      ),
      { numRuns: 200, seed: 8 },
    );
    const script = `
import json, sys, numpy as np
cases = json.load(sys.stdin)
out = []
for op, a, b in cases:
    try:
        if op == "add":
            out.append(list(np.broadcast_shapes(tuple(a), tuple(b))))
        else:
            out.append(list(np.matmul(np.zeros(a), np.zeros(b)).shape))
    except ValueError:
        out.append(None)
print(json.dumps(out))`;
    const cases = [...pairs.map(([a, b]) => ["add", a, b]), ...mats.map(([a, b]) => ["matmul", a, b])];
    const r = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(cases), encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(r.stdout) as (number[] | null)[];
    cases.forEach(([op, a, b], i) => {
      const got = tryShape(() => (op === "add" ? bp.broadcastShapes(a as number[], b as number[]) : bp.matmulShape(a as number[], b as number[])));
      assert.deepEqual(got, expected[i], `${op} ${JSON.stringify(a)} ${JSON.stringify(b)}`);
    });
  });

  it("matmul, reductions and broadcasting give numpy's values", () => {
    const rng = new bp.Rng(11);
    const a = bp.randn([2, 3, 4], { rng, dtype: "float64" });
    const b = bp.randn([3, 4, 2], { rng, dtype: "float64" }).reshape([3, 1, 4, 2]);
    const c = bp.randn([4], { rng, dtype: "float64" });
    const script = `
import json, sys, numpy as np
d = json.load(sys.stdin)
a, b, c = np.array(d["a"]), np.array(d["b"]), np.array(d["c"])
print(json.dumps({
  "mm": (a @ b).ravel().tolist(),
  "bc": (a * c - c).ravel().tolist(),
  "sum": a.sum(axis=(0, 2)).tolist(),
  "max": a.max(axis=1, keepdims=True).ravel().tolist(),
  "lse": np.log(np.exp(a).sum(axis=-1)).ravel().tolist(),
  "mv": (a @ c).ravel().tolist(),
}))`;
    const r = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify({ a: a.toArray(), b: b.toArray(), c: c.toArray() }), encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const np = JSON.parse(r.stdout) as Record<string, number[]>;
    const close = (got: bp.Tensor, want: number[], what: string) =>
      want.forEach((v, i) => assert.ok(Math.abs(got.data[i] - v) < 1e-12 * (1 + Math.abs(v)), `${what}[${i}] ${got.data[i]} vs ${v}`));
    close(bp.matmul(a, b), np.mm, "matmul");
    close(a.mul(c).sub(c), np.bc, "broadcast");
    close(a.sum([0, 2]), np.sum, "sum");
    close(a.max(1, true), np.max, "max");
    close(a.logsumexp(-1), np.lse, "logsumexp");
    close(bp.matmul(a, c), np.mv, "matrix-vector");
  });
});
