/**
 * Memory over a long training run, in a process of its own (the main benchmark's peers hold memory of
 * their own): heap plus array buffers after a full GC, every 1,000 steps of the MLP with Adam.
 * Prints JSON: { steps, mb: [after 1,000, after 2,000, ...] }.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as bp from "../dist/node/index.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const steps = Number(process.argv[2] ?? 10_000);
const rng = new bp.Rng(1);
const x = bp.randn([128, 784], { rng });
const y = Int32Array.from({ length: 128 }, () => rng.int(10));
const model = bp.mlp([784, 256, 10], { rng });
const opt = new bp.Adam(model.parameters(), { lr: 1e-3 });
const mb: number[] = [];
// Array buffers are released after the collection that finds them dead: collect, yield, collect.
const settle = () => new Promise((resolve) => setImmediate(resolve));
for (let s = 1; s <= steps; s++) {
  const loss = bp.crossEntropy(model.forward(x), y);
  opt.zeroGrad();
  loss.backward();
  opt.step();
  if (s % 1000 === 0) {
    gc();
    await settle();
    gc();
    const m = process.memoryUsage();
    mb.push((m.heapUsed + m.arrayBuffers) / 2 ** 20);
  }
}
console.log(JSON.stringify({ steps, mb }));
