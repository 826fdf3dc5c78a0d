/**
 * The backward pass recycles cotangent buffers it has finished with (src/core/recycle.ts): gradients
 * must stay exact, and no buffer that anything else can still reach may ever be handed out again.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import * as bp from "../src/index.js";
import { recycledBytes } from "../src/core/recycle.js";
import { useNativeBackend } from "../src/node/native.js";
import { withBackend, describeIf } from "./helpers.js";

// The backends whose kernels draw outputs from the recycled buffers.
useNativeBackend();
const BACKENDS = ["native", "wasm"].filter((b) => bp.listBackends().includes(b));

const param = (t: bp.Tensor) => bp.tensor(t.data.slice(), { shape: t.shape, requiresGrad: true });
const snapshot = (ts: bp.Tensor[]) => ts.map((t) => Float32Array.from(t.data));

/**
 * A small network whose backward pass has everything the recycling must get right: fan-out
 * (a * a, and w used twice), add handing one cotangent to both inputs, broadcasting summed back,
 * reshape views sharing a buffer, concat and slices, and cotangents that become results.
 */
function net(x: bp.Tensor, w: bp.Tensor, b: bp.Tensor) {
  const h = bp.matmul(x, w); // 40x30
  const z = bp.add(h, b);
  const a = bp.relu(z);
  const sq = bp.mul(a, a);
  const both = bp.add(sq, a);
  const flat = bp.reshape(both, [-1]);
  const cat = bp.concat([a, bp.tanh(z)], 1); // 40x60
  const back = bp.matmul(cat, bp.concat([bp.mT(w), bp.mT(w)], 1).reshape([60, 50])); // 40x50
  const loss = bp.add(bp.sum(flat), bp.mean(bp.mul(back, x)));
  return { loss, values: [h, z, a, sq, both, flat, cat, back, loss] };
}

describeIf("recycled cotangent buffers", BACKENDS.length ? false : "no backend draws from recycled buffers here", () => {
  for (const backend of BACKENDS) {
    it(`${backend}: gradients equal the reference backend's, over repeated steps, and nothing reachable is overwritten`, () => {
      const rng = new bp.Rng(3);
      const x0 = bp.randn([40, 50], { rng }),
        w0 = bp.randn([50, 30], { rng }).mul(0.2),
        b0 = bp.randn([30], { rng });
      const want = withBackend("js", () => {
        const [x, w, b] = [param(x0), param(w0), param(b0)];
        net(x, w, b).loss.backward();
        return [x.grad!, w.grad!, b.grad!].map((g) => g.data);
      });
      withBackend(backend, () => {
        const kept: { grads: bp.Tensor[]; copies: Float32Array[]; values: bp.Tensor[]; valueCopies: Float32Array[] }[] = [];
        let sawRecycled = false;
        for (let step = 0; step < 4; step++) {
          const [x, w, b] = [param(x0), param(w0), param(b0)];
          const { loss, values } = net(x, w, b);
          const seed = bp.full([], 1);
          loss.backward(seed);
          sawRecycled ||= recycledBytes() > 0;
          const grads = [x.grad!, w.grad!, b.grad!];
          grads.forEach((g, i) => {
            for (let k = 0; k < g.size; k++)
              assert.ok(
                Math.abs(g.data[k] - want[i][k]) <= 1e-4 * (1 + Math.abs(want[i][k])),
                `step ${step}, gradient ${i} at ${k}: ${g.data[k]} vs ${want[i][k]}`,
              );
          });
          assert.equal(seed.item(), 1, "the caller's seed is untouched");
          kept.push({ grads, copies: snapshot(grads), values, valueCopies: snapshot(values) });
        }
        assert.ok(sawRecycled, "the backward pass recycled some buffer");
        // Later steps took recycled buffers: every earlier gradient and forward value still reads the same.
        for (const [s, k] of kept.entries()) {
          k.grads.forEach((g, i) => assert.deepEqual(g.data, k.copies[i], `step ${s}: gradient ${i} changed`));
          k.values.forEach((v, i) => assert.deepEqual(v.data, k.valueCopies[i], `step ${s}: forward value ${i} changed`));
        }
      });
    });

    it(`${backend}: random graphs with fan-out give the reference backend's gradients, twice in a row`, () => {
      // Each graph is a list of steps over a pool of 24x33 values (and a row vector that broadcasts).
      const op = fc.record({ kind: fc.constantFrom("mul", "add", "sub", "tanh", "relu", "square", "reshape", "bias"), a: fc.nat(), b: fc.nat() });
      fc.assert(
        fc.property(fc.array(op, { minLength: 1, maxLength: 8 }), fc.integer(), (ops, seed) => {
          const rng = new bp.Rng(seed);
          const x0 = bp.randn([24, 33], { rng }),
            r0 = bp.randn([33], { rng });
          const run = (name: string) =>
            withBackend(name, () => {
              const x = param(x0),
                r = param(r0);
              const pool: bp.Tensor[] = [x];
              for (const o of ops) {
                const a = pool[o.a % pool.length],
                  c = pool[o.b % pool.length];
                const next =
                  o.kind === "mul"
                    ? bp.mul(a, c)
                    : o.kind === "add"
                      ? bp.add(a, c)
                      : o.kind === "sub"
                        ? bp.add(bp.sub(a, c), a)
                        : o.kind === "tanh"
                          ? bp.tanh(a)
                          : o.kind === "relu"
                            ? bp.relu(a)
                            : o.kind === "square"
                              ? bp.mul(a, a)
                              : o.kind === "reshape"
                                ? bp.reshape(a, [33, 24]).reshape([24, 33])
                                : bp.add(a, r);
                pool.push(next);
              }
              // Every value feeds the loss, so each has a cotangent (more fan-out).
              bp.add(bp.sum(bp.tanh(pool[pool.length - 1])), bp.mean(bp.stack(pool))).backward();
              return [x.grad!.data, r.grad?.data ?? new Float32Array(33)];
            });
          const want = run("js");
          for (let round = 0; round < 2; round++) {
            const got = run(backend);
            for (let i = 0; i < 2; i++) {
              for (let k = 0; k < want[i].length; k++) {
                if (!(Math.abs(got[i][k] - want[i][k]) <= 1e-4 * (1 + Math.abs(want[i][k])))) {
                  throw new Error(`round ${round}, ${ops.map((o) => o.kind).join(" ")}: gradient ${i} at ${k}: ${got[i][k]} vs ${want[i][k]}`);
                }
              }
            }
          }
        }),
        { numRuns: 40, seed: 11 },
      );
    });
  }

  it("a two-layer network's hidden cotangents are recycled (both 37x53 buffers)", () => {
    withBackend(BACKENDS[0], () => {
      const rng = new bp.Rng(4);
      const x = bp.randn([37, 20], { rng });
      const [w1, b1, w2] = [bp.randn([20, 53], { rng }), bp.randn([53], { rng }), bp.randn([53, 7], { rng })].map(param);
      const loss = bp.sum(bp.square(bp.matmul(bp.relu(bp.add(bp.matmul(x, w1), b1)), w2)));
      const before = recycledBytes();
      loss.backward();
      // The relu's cotangent, and the one shared by the bias add and the first product.
      assert.ok(recycledBytes() - before >= 2 * 37 * 53 * 4, `recycled ${recycledBytes() - before} bytes`);
    });
  });

  it("nothing is recycled while a graph of the backward pass is recorded (second derivatives stay right)", () => {
    withBackend(BACKENDS[0], () => {
      const x = bp.randn([40, 50], { rng: new bp.Rng(8) });
      // d/dx sum(x^3) = 3x^2; the gradient of its sum is 6x.
      const second = bp.grad((t: bp.Tensor) => bp.sum(bp.grad((u: bp.Tensor) => bp.sum(bp.mul(bp.mul(u, u), u)))(t)))(x);
      for (let k = 0; k < x.size; k++)
        assert.ok(Math.abs(second.data[k] - 6 * x.data[k]) <= 1e-4 * (1 + Math.abs(6 * x.data[k])), `at ${k}: ${second.data[k]} vs ${6 * x.data[k]}`);
    });
  });
});
