/**
 * One library's training step or scalar chain, timed in a process of its own and printed as JSON
 * ({ value }: steps/s or seconds). bench/run.ts starts one per measurement, taking turns between the
 * libraries: timed inside the long benchmark process, the step ran up to twice as slowly after the
 * large elementwise runs (cause not found), and peers timed later in that process got a different heap.
 *
 *   node --import tsx bench/isolated.ts mlp backprop-native|backprop-wasm|backprop-js|tfjs-cpu|tfjs-wasm [rounds] [warmup steps]
 *   node --import tsx bench/isolated.ts backward-cost backprop-native|backprop-wasm|backprop-js [rounds] [warmup steps]
 *   node --import tsx bench/isolated.ts chain backprop|micrograd-js [rounds]
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";

// Each process loads only the library it times (a loaded but idle library still costs the other's GC).
import { median, time, WARMUP_SECONDS } from "./timing.js";
import { backpropStep, mlpProblem } from "./steps.js";

type Backprop = typeof import("../dist/node/index.js");

async function tfjsStep(backend: "cpu" | "wasm"): Promise<() => void> {
  const tf = await import("@tensorflow/tfjs");
  if (backend === "wasm") {
    const { setWasmPaths } = await import("@tensorflow/tfjs-backend-wasm");
    setWasmPaths(dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + "/");
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs-${backend} is not available`);
  const x = tf.randomNormal([128, 784]);
  const y = tf.oneHot(tf.randomUniform([128], 0, 10, "int32") as import("@tensorflow/tfjs").Tensor1D, 10);
  const w1 = tf.variable(tf.randomNormal([784, 256], 0, 0.05));
  const b1 = tf.variable(tf.zeros([256]));
  const w2 = tf.variable(tf.randomNormal([256, 10], 0, 0.05));
  const b2 = tf.variable(tf.zeros([10]));
  const opt = tf.train.sgd(0.1);
  return () => {
    const cost = opt.minimize(
      () => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2)) as import("@tensorflow/tfjs").Scalar,
      true,
    );
    cost?.dataSync();
    cost?.dispose();
  };
}

/** 100,000 scalar ops (50,000 multiply-add pairs), forward and backward. */
function backpropChain(bp: Backprop): number | null {
  const x0 = bp.tensor(0.5, { requiresGrad: true });
  let t = x0;
  for (let i = 0; i < 50_000; i++) t = t.mul(1.0000001).add(1e-7);
  t.backward();
  return x0.grad?.item() ?? null;
}

/**
 * (forward + backward - forward) / forward for the MLP's loss, the two timed in alternating rounds. Each
 * backward starts from cleared gradients: added to the last pass's, they cost a 200k-element sum too.
 */
async function backwardCost(bp: Backprop, backend: string, rounds: number, warmup: number): Promise<number> {
  const { x, y, model } = mlpProblem(bp, backend);
  const forward = () => bp.noGrad(() => bp.crossEntropy(model.forward(x), y));
  const both = () => {
    bp.zeroGrad(model.parameters());
    bp.crossEntropy(model.forward(x), y).backward();
  };
  for (let i = 0; i < warmup; i++) both();
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const f = await time(forward, 10, 1, 0);
    ratios.push(((await time(both, 10, 1, 0)) - f) / f);
  }
  return median(ratios);
}

async function main(): Promise<number> {
  const [measure, who, roundsArg, warmupArg] = process.argv.slice(2);
  const rounds = Number(roundsArg ?? 7);
  const warmup = Number(warmupArg ?? 1000);
  if (measure === "mlp") {
    const slow = who === "backprop-js" || who === "tfjs-cpu";
    const step = who.startsWith("backprop-")
      ? backpropStep(await import("../dist/node/index.js"), who.slice("backprop-".length))
      : await tfjsStep(who === "tfjs-cpu" ? "cpu" : "wasm");
    // `warmup` steps or WARMUP_SECONDS, whichever comes first.
    const until = performance.now() + WARMUP_SECONDS * 1000;
    for (let i = 0; i < warmup && performance.now() < until; i++) await step();
    return 1 / (await time(step, slow ? 2 : 20, rounds, 0));
  }
  if (measure === "backward-cost") {
    const bp = await import("../dist/node/index.js");
    return backwardCost(bp, who.slice("backprop-".length), rounds, warmup);
  }
  if (measure === "chain") {
    const bp = who === "backprop" ? await import("../dist/node/index.js") : null;
    const { microChain } = await import("./micrograd.mjs");
    const run = bp ? () => backpropChain(bp) : () => microChain(50_000);
    // Five chains a round: a chain's garbage is collected in some rounds and not others, and a median
    // of single chains picked either side (a micrograd chain took 50-114 ms on the same machine).
    return await time(run, 5, rounds, 2);
  }
  throw new Error(`unknown measure ${measure}`);
}

console.log(JSON.stringify({ value: await main() }));
