/**
 * One library's training step or scalar chain, timed in a process of its own and printed as JSON
 * ({ value }: steps/s or seconds). bench/run.ts starts one per measurement, taking turns between the
 * libraries: timed inside the long benchmark process, the step ran up to twice as slowly after the
 * large elementwise runs (cause not found), and peers timed later in that process got a different heap.
 *
 *   node --import tsx bench/isolated.ts mlp backprop-native|backprop-wasm|backprop-js|tfjs-cpu|tfjs-wasm [rounds] [warmup steps]
 *   node --import tsx bench/isolated.ts backward-cost backprop-native|backprop-wasm|backprop-js [rounds] [warmup steps]
 *   node --import tsx bench/isolated.ts chain backprop|micrograd-js [rounds]
 *   node --import tsx bench/isolated.ts cnn backprop-native|backprop-wasm|backprop-js|tfjs-wasm|tfjs-cpu [rounds] [warmup steps]
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";

// Each process loads only the library it times (a loaded but idle library still costs the other's GC).
import { median, time, WARMUP_SECONDS } from "./timing.js";
import { backpropStep, mlpProblem } from "./steps.js";
import { CNN_BATCH, cnnStep } from "./cnn.js";

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

/**
 * TensorFlow.js's step of bench/cnn.ts's network, NHWC as TensorFlow.js computes, on as many threads as
 * ours where its wasm backend takes threads. Its wasm backend has no Conv2DBackpropFilter kernel (a
 * conv2d cannot be trained there), so each 3x3 convolution is written as TensorFlow.js's own ops that
 * it can differentiate: nine shifted slices of the padded input, each times its tap of the weight
 * (the same sum as an im2col product). The cpu backend uses tf.conv2d.
 */
async function tfjsCnnStep(backend: "cpu" | "wasm", threads: number): Promise<{ step: () => void; threads: number; conv: string }> {
  const tf = await import("@tensorflow/tfjs");
  type T4 = import("@tensorflow/tfjs").Tensor4D;
  type T2 = import("@tensorflow/tfjs").Tensor2D;
  let used = 1;
  if (backend === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + "/");
    wasm.setThreadsCount(threads);
    if (!(await tf.setBackend(backend))) throw new Error("tfjs-wasm is not available");
    used = wasm.getThreadsCount();
  } else if (!(await tf.setBackend(backend))) throw new Error(`tfjs-${backend} is not available`);
  const native = tf.getKernel("Conv2DBackpropFilter", backend) !== undefined;
  const conv3x3 = (h: T4, w: T4): T4 => {
    if (native) return tf.conv2d(h, w, 1, "same");
    const [n, H, W, cin] = h.shape;
    const cout = w.shape[3];
    const p = tf.pad(h, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
    let acc: T2 | null = null;
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const patch = tf.reshape(tf.slice(p, [0, i, j, 0], [n, H, W, cin]), [n * H * W, cin]) as T2;
        const term: T2 = tf.matMul(patch, tf.reshape(tf.slice(w, [i, j, 0, 0], [1, 1, cin, cout]), [cin, cout]) as T2);
        acc = acc ? (tf.add(acc, term) as T2) : term;
      }
    return tf.reshape(acc!, [n, H, W, cout]);
  };
  const he = (shape: number[], fanIn: number) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn)));
  const w1 = he([3, 3, 1, 16], 9),
    b1 = tf.variable(tf.zeros([16])),
    w2 = he([3, 3, 16, 32], 144),
    b2 = tf.variable(tf.zeros([32])),
    w3 = he([32 * 7 * 7, 10], 32 * 7 * 7),
    b3 = tf.variable(tf.zeros([10]));
  const x = tf.randomNormal([CNN_BATCH, 28, 28, 1]) as T4;
  const y = tf.oneHot(tf.randomUniform([CNN_BATCH], 0, 10, "int32") as import("@tensorflow/tfjs").Tensor1D, 10);
  const opt = tf.train.sgd(0.01);
  const step = () => {
    const cost = opt.minimize(() => {
      let h = tf.maxPool(tf.relu(tf.add(conv3x3(x, w1 as T4), b1)) as T4, 2, 2, "valid");
      h = tf.maxPool(tf.relu(tf.add(conv3x3(h, w2 as T4), b2)) as T4, 2, 2, "valid");
      const logits = tf.add(tf.matMul(tf.reshape(h, [CNN_BATCH, 32 * 7 * 7]), w3), b3);
      return tf.losses.softmaxCrossEntropy(y, logits) as import("@tensorflow/tfjs").Scalar;
    }, true);
    cost?.dataSync();
    cost?.dispose();
  };
  return { step, threads: used, conv: native ? "tf.conv2d" : "nine shifted slices times taps" };
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
  if (measure === "cnn") {
    const bp = who.startsWith("backprop-") ? await import("../dist/node/index.js") : null;
    const threads = Number(process.env.BACKPROP_CNN_THREADS ?? availableParallelism());
    const {
      step,
      threads: used,
      conv,
    } = bp
      ? { step: cnnStep(bp, who.slice("backprop-".length)), threads, conv: "conv2d (unfold + matmul)" }
      : await tfjsCnnStep(who === "tfjs-cpu" ? "cpu" : "wasm", threads);
    if (bp && who === "backprop-wasm") await bp.createWasmBackend()?.pool()?.whenReady();
    const until = performance.now() + WARMUP_SECONDS * 1000;
    for (let i = 0; i < warmup && performance.now() < until; i++) await step();
    process.stderr.write(`${who}: ${used} thread(s), ${conv}\n`);
    return 1 / (await time(step, 3, rounds, 0));
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
