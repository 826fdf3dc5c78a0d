/**
 * bp.toOnnxTraining: one training step exported as a plain ONNX graph, run by ONNX Runtime (the wasm
 * build, in Node) for several steps with each step's outputs fed back, against the same steps of our
 * own loop (forward, loss.backward(), optimizer.step()). Also: every primitive's rule against our
 * kernel, standard operators only, the onnx checker, and the error for a primitive without a rule.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-web";
import * as bp from "../src/index.js";
import { capture } from "../src/core/capture.js";
import { bind } from "../src/core/bind.js";
import { emitGraph, UnmappedPrimitiveError } from "../src/interop/onnx/emit.js";
import { ONNX_RULES } from "../src/interop/onnx/prims.js";
import { encodeOnnx, ONNX_IR_VERSION, ONNX_OPSET } from "../src/interop/onnx/proto.js";
import type { Prim } from "../src/core/prim.js";
import { DEBIAN_PYTHON, pythonLacks } from "./python.js";

ort.env.wasm.numThreads = 1;

const PY = DEBIAN_PYTHON;

type Feed = Record<string, ort.Tensor>;

function ortTensor(dtype: "float32" | "float64" | "int64", values: Float32Array | Float64Array | BigInt64Array, shape: readonly number[]): ort.Tensor {
  // Each overload of the constructor takes its own array type; ONNX Runtime checks the pairing.
  return new ort.Tensor(dtype as "float32", values as Float32Array, [...shape]);
}

const STEPS = 5;
const BATCH = 16;

/** Iris-like data: 4 features, 3 classes, a batch per step (no shuffling, so both sides see the same batches). */
function data(seed: number) {
  const rng = new bp.Rng(seed);
  const n = STEPS * BATCH;
  const x = new Float32Array(n * 4);
  for (let i = 0; i < x.length; i++) x[i] = 4 * rng.uniform() - 2;
  const labels = Array.from({ length: n }, () => Math.floor(3 * rng.uniform()));
  const targets = new Float32Array(n * 3);
  for (let i = 0; i < targets.length; i++) targets[i] = rng.normal();
  return { x, labels, targets };
}

interface Case {
  name: string;
  activation: bp.Activation;
  loss: "softmaxCrossEntropy" | "mse" | ((out: bp.Tensor, y: bp.Tensor) => bp.Tensor);
  /** Our side's loss for a batch (class labels or float targets). */
  ours: (out: bp.Tensor, labels: number[], targets: bp.Tensor) => bp.Tensor;
  optimizer: (params: bp.Tensor[]) => bp.Optimizer;
  /** Steps our loop takes before the export (the optimizer's state is then exported too). */
  warmup?: number;
  dtype?: bp.DType;
  /** Another model than mlp([4, 8, 3]) with the case's activation. */
  model?: () => bp.Module;
}

/** A model with a parameter its forward never reads: optimizer.step() skips it, the graph passes it through. */
class WithSpare extends bp.Module {
  readonly lin = new bp.Linear(4, 3, { rng: new bp.Rng(5) });
  readonly spare = bp.tensor([0.5, -1.5]).requireGrad();
  forward(x: bp.Tensor): bp.Tensor {
    return this.lin.forward(x);
  }
}

const crossEntropy = (out: bp.Tensor, labels: number[]) => bp.crossEntropy(out, labels);
const mseOurs = (out: bp.Tensor, _l: number[], t: bp.Tensor) => bp.mse(out, t);
const huberish = (out: bp.Tensor, y: bp.Tensor) => bp.mean(bp.sqrt(bp.add(bp.square(bp.sub(out, y)), 1)));

const CASES: Case[] = [
  {
    name: "SGD with momentum, relu, cross-entropy",
    activation: "relu",
    loss: "softmaxCrossEntropy",
    ours: crossEntropy,
    optimizer: (p) => new bp.SGD(p, { lr: 0.1, momentum: 0.9 }),
  },
  { name: "Adam, relu, cross-entropy", activation: "relu", loss: "softmaxCrossEntropy", ours: crossEntropy, optimizer: (p) => new bp.Adam(p, { lr: 0.01 }) },
  {
    name: "Adam resumed after 3 steps of ours (state and step count exported)",
    activation: "relu",
    loss: "softmaxCrossEntropy",
    ours: crossEntropy,
    optimizer: (p) => new bp.Adam(p, { lr: 0.01, weightDecay: 0.01 }),
    warmup: 3,
  },
  { name: "AdamW, tanh, mse", activation: "tanh", loss: "mse", ours: mseOurs, optimizer: (p) => new bp.AdamW(p, { lr: 0.02, weightDecay: 0.05 }) },
  {
    name: "SGD Nesterov with weight decay, sigmoid, a traced loss function",
    activation: "sigmoid",
    loss: huberish,
    ours: (out, _l, t) => huberish(out, t),
    optimizer: (p) => new bp.SGD(p, { lr: 0.2, momentum: 0.8, nesterov: true, weightDecay: 0.01 }),
  },
  {
    name: "plain SGD, leaky relu, cross-entropy",
    activation: "leakyrelu",
    loss: "softmaxCrossEntropy",
    ours: crossEntropy,
    optimizer: (p) => new bp.SGD(p, { lr: 0.5 }),
  },
  {
    name: "Adam in float64, sigmoid, cross-entropy",
    activation: "sigmoid",
    loss: "softmaxCrossEntropy",
    ours: crossEntropy,
    optimizer: (p) => new bp.Adam(p, { lr: 0.05 }),
    dtype: "float64",
  },
  {
    name: "SGD with momentum, a parameter without a gradient",
    activation: "relu",
    loss: "softmaxCrossEntropy",
    ours: crossEntropy,
    optimizer: (p) => new bp.SGD(p, { lr: 0.1, momentum: 0.9 }),
    model: () => new WithSpare(),
  },
  {
    // unfold/fold as grouped Conv/ConvTranspose, max pooling's first argmax as a one-hot mask: a CNN trains in ONNX too.
    name: "a CNN (conv 2x2 padding 1, relu, max pooling 2, flatten) with SGD momentum, cross-entropy",
    activation: "relu",
    loss: "softmaxCrossEntropy",
    ours: crossEntropy,
    optimizer: (p) => new bp.SGD(p, { lr: 0.1, momentum: 0.9 }),
    model: () =>
      new bp.Sequential(
        new bp.Unflatten(1, [1, 2, 2]),
        new bp.Conv2d(1, 3, 2, { padding: 1, rng: new bp.Rng(7) }),
        new bp.ReLU(),
        new bp.MaxPool2d(2),
        new bp.Flatten(),
      ),
  },
  {
    name: "a CNN with average pooling and Adam, cross-entropy",
    activation: "relu",
    loss: "softmaxCrossEntropy",
    ours: crossEntropy,
    optimizer: (p) => new bp.Adam(p, { lr: 0.01 }),
    model: () =>
      new bp.Sequential(
        new bp.Unflatten(1, [1, 2, 2]),
        new bp.Conv2d(1, 3, 2, { padding: 1, rng: new bp.Rng(8) }),
        new bp.Tanh(),
        new bp.AvgPool2d(2),
        new bp.Flatten(),
      ),
  },
];

/** Largest |a - b| / max(1, |b|) over the elements. */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

// float32 throughout: both sides round every op to float32 (ours stores the optimizer's updates in
// float32 after computing them in float64), and sums may be taken in different orders. After five
// steps the measured differences are near 1e-7; 1e-5 relative (to max(1, |value|)) leaves room for
// other summation orders without letting a wrong formula through (a wrong bias correction, momentum
// convention or gradient is off by 1e-3 or more within a step).
const TOL = 1e-5;
/** float64: the same argument at float64's precision. */
const TOL64 = 1e-12;

describe("toOnnxTraining: N steps in ONNX Runtime equal N steps of ours", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { x, labels, targets } = data(7);
      const dtype = c.dtype ?? "float32";
      const model = c.model ? c.model() : bp.mlp([4, 8, 3], { activation: c.activation, rng: new bp.Rng(3), dtype });
      const opt = c.optimizer(model.parameters());
      const batchOf = (k: number) => ({
        x: bp.tensor(x.subarray(k * BATCH * 4, (k + 1) * BATCH * 4), { shape: [BATCH, 4], dtype }),
        labels: labels.slice(k * BATCH, (k + 1) * BATCH),
        targets: bp.tensor(targets.subarray(k * BATCH * 3, (k + 1) * BATCH * 3), { shape: [BATCH, 3], dtype }),
      });
      const ourStep = (k: number): number => {
        const b = batchOf(k);
        const loss = c.ours(model.forward(b.x), b.labels, b.targets);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return loss.item();
      };
      const warm = c.warmup ?? 0;
      for (let k = 0; k < warm; k++) ourStep(k);

      const exported = bp.toOnnxTraining(model, c.loss, opt, { inputShape: [4], batchSize: BATCH });
      const session = await ort.InferenceSession.create(exported.bytes);
      let state: Feed = {};
      for (const s of exported.initialState) state[s.name] = ortTensor(s.dtype, s.values, s.shape);
      const onnxLosses: number[] = [];
      for (let k = warm; k < STEPS; k++) {
        const b = batchOf(k);
        const y =
          c.loss === "softmaxCrossEntropy" ? ortTensor("int64", BigInt64Array.from(b.labels, BigInt), [BATCH]) : ortTensor(dtype, b.targets.data, [BATCH, 3]);
        const out = await session.run({ x: ortTensor(dtype, b.x.data, [BATCH, 4]), y, ...state });
        assert.equal(out.loss.type, dtype);
        onnxLosses.push(Number((out.loss.data as Float32Array | Float64Array)[0]));
        const next: Feed = {};
        for (const o of exported.outputs) if (o.feeds) next[o.feeds] = out[o.name];
        state = next;
      }
      const ourLosses: number[] = [];
      for (let k = warm; k < STEPS; k++) ourLosses.push(ourStep(k));

      const lossDiff = maxRelDiff(onnxLosses, ourLosses);
      let paramDiff = 0;
      for (const [name, p] of model.namedParameters()) paramDiff = Math.max(paramDiff, maxRelDiff(state[name].data as Float32Array, p.data));
      let stateDiff = 0;
      for (const [index, p] of opt.params.entries()) {
        const name = model.namedParameters().find(([, q]) => q === p)![0];
        for (const [s, buf] of Object.entries(opt.stateOf(index)))
          if (buf) stateDiff = Math.max(stateDiff, maxRelDiff(state[`${name}.${s}`].data as Float32Array, buf));
      }
      console.log(
        `  ${c.name}: ${STEPS - warm} steps, max relative difference: loss ${lossDiff.toExponential(2)}, parameters ${paramDiff.toExponential(2)}, optimizer state ${stateDiff.toExponential(2)}`,
      );
      const tol = dtype === "float64" ? TOL64 : TOL;
      assert.ok(lossDiff <= tol, `losses differ by ${lossDiff}: onnx ${onnxLosses} ours ${ourLosses}`);
      assert.ok(paramDiff <= tol, `parameters differ by ${paramDiff}`);
      assert.ok(stateDiff <= tol, `optimizer state differs by ${stateDiff}`);
      if (model instanceof WithSpare) assert.deepEqual(Array.from(state.spare.data as Float32Array), [0.5, -1.5]);
      // Training happened: the parameters moved and the loss changed.
      assert.ok(Math.abs(ourLosses[0] - ourLosses[ourLosses.length - 1]) > 1e-4);
      if (exported.optimizer.startsWith("Adam")) assert.equal(Number((state["optimizer.step"].data as BigInt64Array)[0]), STEPS);
    });
  }
});

describe("toOnnxTraining: the model", () => {
  const model = bp.mlp([4, 8, 3], { rng: new bp.Rng(1) });
  const opt = new bp.Adam(model.parameters(), { lr: 0.01 });
  const exported = bp.toOnnxTraining(model, "softmaxCrossEntropy", opt, { inputShape: [4], batchSize: BATCH });

  it("names inputs and outputs from the parameters, with what feeds what", () => {
    const params = ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"];
    assert.deepEqual(
      exported.inputs.map((p) => p.name),
      ["x", "y", ...params, ...params.flatMap((p) => [`${p}.m`, `${p}.v`]), "optimizer.step"],
    );
    assert.deepEqual(
      exported.outputs.map((p) => [p.name, p.feeds]),
      [
        ["loss", null],
        ...params.map((p) => [`${p}.next`, p]),
        ...params.flatMap((p) => [`${p}.m`, `${p}.v`].map((s) => [`${s}.next`, s])),
        ["optimizer.step.next", "optimizer.step"],
      ],
    );
    assert.deepEqual(exported.inputs[0], { name: "x", shape: [BATCH, 4], dtype: "float32", role: "data" });
    assert.deepEqual(exported.inputs[1], { name: "y", shape: [BATCH], dtype: "int64", role: "target" });
    assert.deepEqual(exported.outputs[0], { name: "loss", shape: [], dtype: "float32", role: "loss", feeds: null });
    // The first feed of a parameter is its value now; of Adam's moments, zeros.
    const w = exported.initialState.find((s) => s.name === "layers.0.weight")!;
    assert.deepEqual(Array.from(w.values as Float32Array), Array.from(model.parameters()[0].data));
    assert.ok(Array.from(exported.initialState.find((s) => s.name === "layers.0.weight.m")!.values as Float32Array).every((v) => v === 0));
  });

  it("uses standard-domain operators of opset 17 only", () => {
    const m = exported.model;
    assert.equal(m.irVersion, ONNX_IR_VERSION);
    assert.deepEqual(m.opsetImport, [{ domain: "", version: ONNX_OPSET }]);
    assert.equal(ONNX_OPSET, 17);
    const standard = new Set(
      "Neg Exp Log Sin Cos Tan Sqrt Tanh Sigmoid Abs Sign Reciprocal Erf Add Sub Mul Div Pow Max Min Greater GreaterOrEqual Equal Where Cast ReduceSum ReduceMax ArgMax Reshape Expand Transpose Slice Pad Concat Gather ScatterElements ConstantOfShape MatMul Identity".split(
        " ",
      ),
    );
    for (const n of m.graph.nodes) {
      assert.ok(!n.domain, `node ${n.opType} has domain ${n.domain}`);
      assert.ok(standard.has(n.opType), `unexpected operator ${n.opType}`);
    }
  });

  it("passes the onnx checker (full check, with shape inference)", (t) => {
    const missing = pythonLacks("onnx", "python3-onnx");
    if (missing) return t.skip(missing);
    const dir = mkdtempSync(join(tmpdir(), "onnx-training-"));
    try {
      const file = join(dir, "step.onnx");
      writeFileSync(file, exported.bytes);
      const script = [
        "import sys, onnx",
        "m = onnx.load(sys.argv[1])",
        "onnx.checker.check_model(m, full_check=True)",
        "print(len(m.graph.node), ' '.join(o.name for o in m.graph.output[:2]))",
      ].join("\n");
      const r = spawnSync(PY, ["-c", script, file], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), `${exported.model.graph.nodes.length} loss layers.0.weight.next`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("leaves the model and the optimizer as they were", () => {
    const before = model.parameters().map((p) => Array.from(p.data));
    model.eval();
    bp.toOnnxTraining(model, "softmaxCrossEntropy", opt, { inputShape: [4], batchSize: 2 });
    assert.equal(model.training, false);
    assert.equal(opt.steps, 0);
    assert.deepEqual(
      model.parameters().map((p) => Array.from(p.data)),
      before,
    );
    assert.ok(model.parameters().every((p) => p.grad === null));
  });
});

describe("toOnnxTraining: errors", () => {
  const model = bp.mlp([4, 8, 3], { activation: "tanh", rng: new bp.Rng(1) });
  const opt = new bp.SGD(model.parameters(), { lr: 0.1 });

  it("names a primitive that has no rule", () => {
    assert.throws(
      () => bp.toOnnxTraining(model, "softmaxCrossEntropy", opt, { inputShape: [4], batchSize: 4, rules: { ...ONNX_RULES, tanh: null } }),
      (e: unknown) => e instanceof UnmappedPrimitiveError && e.prim === "tanh" && /primitive 'tanh' has no standard ONNX mapping/.test(e.message),
    );
  });

  it("refuses a step whose graph depends on the input values (a dropout mask drawn per call) instead of freezing it", () => {
    const dropped = new bp.Sequential(new bp.Linear(4, 6, { rng: new bp.Rng(2) }), new bp.Dropout(0.5), new bp.Linear(6, 3, { rng: new bp.Rng(3) }));
    assert.throws(
      () => bp.toOnnxTraining(dropped, "softmaxCrossEntropy", new bp.SGD(dropped.parameters(), { lr: 0.1 }), { inputShape: [4], batchSize: 4 }),
      /has a constant operand \d that changes from run to run, so one static ONNX graph cannot express it/,
    );
    // The same network without dropout exports (evaluation mode is not what a training step runs).
    const plain = new bp.Sequential(new bp.Linear(4, 6, { rng: new bp.Rng(2) }), new bp.Linear(6, 3, { rng: new bp.Rng(3) }));
    assert.ok(bp.toOnnxTraining(plain, "softmaxCrossEntropy", new bp.SGD(plain.parameters(), { lr: 0.1 }), { inputShape: [4], batchSize: 4 }).bytes.length > 0);
  });

  it("rejects bad options, shapes and optimizers with messages naming them", () => {
    assert.throws(() => bp.toOnnxTraining(model, "softmaxCrossEntropy", opt, { inputShape: [4], batchSize: 0 }), /batchSize must be a positive integer, got 0/);
    assert.throws(
      () => bp.toOnnxTraining(model, "softmaxCrossEntropy", opt, { inputShape: [4.5], batchSize: 2 }),
      /inputShape must be an array of positive integers/,
    );
    assert.throws(() => bp.toOnnxTraining(model, "softmaxCrossEntropy", opt, { inputShape: [5], batchSize: 2 }), /matmul/);
    assert.throws(
      () => bp.toOnnxTraining(model, "hinge" as "mse", opt, { inputShape: [4], batchSize: 2 }),
      /loss must be "softmaxCrossEntropy", "mse" or a function/,
    );
    const other = bp.mlp([4, 3], { rng: new bp.Rng(2) });
    assert.throws(
      () => bp.toOnnxTraining(model, "softmaxCrossEntropy", new bp.SGD(other.parameters(), { lr: 0.1 }), { inputShape: [4], batchSize: 2 }),
      /the optimizer's parameter 0 \(shape \(4,3\)\) is not a parameter of the model/,
    );
    class Custom extends bp.Optimizer {
      protected update(): void {}
    }
    assert.throws(
      () => bp.toOnnxTraining(model, "mse", new Custom(model.parameters()), { inputShape: [4], batchSize: 2 }),
      /optimizer Custom is not supported/,
    );
    assert.throws(
      () => bp.toOnnxTraining(model, (out) => out, opt, { inputShape: [4], batchSize: 2 }),
      /the loss must be a one-element Tensor, got shape \(2,3\)/,
    );
  });
});

/** One source per input; the primitive applied by `f` to them (through bind, with these parameters). */
interface RuleCase {
  inputs: bp.Tensor[];
  f: (...xs: bp.Tensor[]) => bp.Tensor;
}

const rng = new bp.Rng(11);
const r = (shape: number[], lo = -2, hi = 2) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return bp.tensor(
    Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform()),
    { shape },
  );
};
const i32 = (v: number[]) => Int32Array.from(v);

// Each primitive of the table, applied as the ops apply it, with parameters that exercise its rule
// (strided slices and pads, transposed matmul operands, reductions keeping dims or not).
const RULE_CASES: Record<Prim, RuleCase[]> = {
  neg: [{ inputs: [r([2, 3])], f: (x) => bp.neg(x) }],
  exp: [{ inputs: [r([2, 3])], f: (x) => bp.exp(x) }],
  log: [{ inputs: [r([2, 3], 0.1, 3)], f: (x) => bp.log(x) }],
  sin: [{ inputs: [r([2, 3])], f: (x) => bp.sin(x) }],
  cos: [{ inputs: [r([2, 3])], f: (x) => bp.cos(x) }],
  tan: [{ inputs: [r([2, 3], -1, 1)], f: (x) => bp.tan(x) }],
  sqrt: [{ inputs: [r([2, 3], 0, 3)], f: (x) => bp.sqrt(x) }],
  tanh: [{ inputs: [r([2, 3])], f: (x) => bp.tanh(x) }],
  sigmoid: [{ inputs: [r([2, 3], -8, 8)], f: (x) => bp.sigmoid(x) }],
  abs: [{ inputs: [r([2, 3])], f: (x) => bp.abs(x) }],
  sign: [{ inputs: [bp.tensor([[-2, 0, 3]])], f: (x) => bp.sign(x) }],
  reciprocal: [{ inputs: [r([2, 3], 0.5, 2)], f: (x) => bp.reciprocal(x) }],
  erf: [{ inputs: [r([2, 3])], f: (x) => bp.erf(x) }],
  softplus: [{ inputs: [r([2, 3])], f: (x) => bp.softplus(x, { threshold: Infinity }) }],
  unfold: [
    { inputs: [r([2, 3, 5, 6])], f: (x) => bp.unfold(x, [2, 3]) },
    { inputs: [r([1, 2, 7, 6])], f: (x) => bp.unfold(x, [3, 2], { stride: [2, 3], padding: [1, 0, 2, 1], dilation: [2, 1] }) },
  ],
  fold: [
    { inputs: [r([2, 18, 16])], f: (x) => bp.fold(x, [5, 6], [2, 3]) },
    { inputs: [r([1, 12, 6])], f: (x) => bp.fold(x, [7, 6], [3, 2], { stride: [2, 3], padding: [1, 0, 2, 1], dilation: [2, 1] }) },
  ],
  add: [{ inputs: [r([2, 3]), r([3])], f: (x, y) => bp.add(x, y) }],
  sub: [{ inputs: [r([2, 1]), r([1, 3])], f: (x, y) => bp.sub(x, y) }],
  mul: [{ inputs: [r([2, 3]), r([2, 3])], f: (x, y) => bp.mul(x, y) }],
  div: [{ inputs: [r([2, 3]), r([3], 0.5, 2)], f: (x, y) => bp.div(x, y) }],
  pow: [{ inputs: [r([2, 3], 0.5, 2), r([2, 3])], f: (x, y) => bp.pow(x, y) }],
  maximum: [{ inputs: [r([2, 3]), r([3])], f: (x, y) => bp.maximum(x, y) }],
  minimum: [{ inputs: [r([2, 3]), r([2, 1])], f: (x, y) => bp.minimum(x, y) }],
  gt: [{ inputs: [bp.tensor([1, 2, 3]), bp.tensor([2, 2, 2])], f: (x, y) => bp.gt(x, y) }],
  ge: [{ inputs: [bp.tensor([1, 2, 3]), bp.tensor([2, 2, 2])], f: (x, y) => bp.ge(x, y) }],
  eq: [{ inputs: [bp.tensor([1, 2, 3]), bp.tensor([2, 2, 2])], f: (x, y) => bp.eq(x, y) }],
  where: [{ inputs: [bp.tensor([[1, 0, 2]]), r([2, 3]), r([3])], f: (c, x, y) => bp.where(c, x, y) }],
  sum: [
    { inputs: [r([2, 3, 4])], f: (x) => bp.sum(x, [0, 2]) },
    { inputs: [r([2, 3])], f: (x) => bp.sum(x, 1, true) },
    { inputs: [r([2, 3])], f: (x) => bind("sum", [x], { axes: [], keepdims: false }) },
  ],
  max: [
    { inputs: [r([2, 3, 4])], f: (x) => bp.max(x, 1) },
    { inputs: [r([2, 3])], f: (x) => bp.max(x, [0, 1], true) },
  ],
  argmax: [{ inputs: [r([3, 4])], f: (x) => bp.argmax(x, 1) }],
  reshape: [{ inputs: [r([2, 6])], f: (x) => bp.reshape(x, [3, 4]) }],
  broadcast: [{ inputs: [r([3, 1])], f: (x) => bp.broadcastTo(x, [2, 3, 4]) }],
  transpose: [{ inputs: [r([2, 3, 4])], f: (x) => bp.transpose(x, [2, 0, 1]) }],
  slice: [
    { inputs: [r([5, 7])], f: (x) => bind("slice", [x], { starts: [1, 0], sizes: [2, 3], steps: [2, 3] }) },
    { inputs: [r([4])], f: (x) => bind("slice", [x], { starts: [2], sizes: [0], steps: [1] }) },
  ],
  pad: [
    { inputs: [r([2, 3])], f: (x) => bind("pad", [x], { starts: [1, 0], steps: [2, 3], shape: [5, 8] }) },
    { inputs: [r([2, 3])], f: (x) => bind("pad", [x], { starts: [1, 2], steps: [1, 1], shape: [4, 6] }) },
  ],
  concat: [{ inputs: [r([2, 3]), r([2, 1])], f: (x, y) => bp.concat([x, y], 1) }],
  gather: [
    { inputs: [r([4, 3])], f: (x) => bind("gather", [x], { indices: i32([3, 0, 3, 1, 2, 2]), indexShape: [2, 3], axis: 0 }) },
    { inputs: [r([2, 5])], f: (x) => bind("gather", [x], { indices: i32([4]), indexShape: [], axis: 1 }) },
  ],
  scatterAdd: [{ inputs: [r([2, 2, 3, 2])], f: (x) => bind("scatterAdd", [x], { indices: i32([3, 0, 3, 1, 2, 0]), indexShape: [2, 3], axis: 1, size: 5 }) }],
  matmul: [
    { inputs: [r([2, 3]), r([3, 4])], f: (x, y) => bind("matmul", [x, y], {}) },
    { inputs: [r([2, 3, 2]), r([4, 3])], f: (x, y) => bind("matmul", [x, y], { transposeX: true, transposeY: true }) },
    { inputs: [r([5, 3]), r([2, 5, 4])], f: (x, y) => bind("matmul", [x, y], { transposeX: true }) },
  ],
  cast: [{ inputs: [r([2, 3])], f: (x) => bp.cast(x, "float64") }],
};

describe("the capture behind the export", () => {
  it("records through noGrad and detach: logSoftmax's max is a graph value, not a constant of the capture", async () => {
    // Captured on zeros; run at logits near 1000, where a max frozen at 0 would overflow exp to infinity.
    const src = bp.zeros([2, 3]);
    const { result, capture: cap } = capture([src], () => bp.logSoftmax(src, -1));
    const graph = emitGraph(cap, [{ name: "logits", tensor: src }], [{ name: "out", tensor: result }], "log_softmax");
    assert.ok(graph.nodes.some((n) => n.opType === "ReduceMax"));
    const session = await ort.InferenceSession.create(
      encodeOnnx({ irVersion: ONNX_IR_VERSION, opsetImport: [{ domain: "", version: ONNX_OPSET }], graph, metadataProps: [] }),
    );
    const logits = Float32Array.of(1000, 1001, 999, -5, 0, 5);
    const out = (await session.run({ logits: ortTensor("float32", logits, [2, 3]) })).out.data as Float32Array;
    const ours = bp.logSoftmax(bp.tensor(logits, { shape: [2, 3] }), -1).data;
    assert.ok(maxRelDiff(out, ours) <= 1e-6, `onnx ${Array.from(out)} ours ${Array.from(ours)}`);
  });

  it("ends with the computation, even when it throws", () => {
    assert.throws(() => capture([bp.zeros([2])], () => bp.reshape(bp.zeros([2]), [3])), /cannot reshape/);
    assert.doesNotThrow(() => capture([bp.zeros([2])], () => 1));
  });
});

describe("the ONNX rules of the primitive table agree with our kernels", () => {
  it("has a case for every primitive", () => {
    assert.deepEqual(Object.keys(RULE_CASES).sort(), Object.keys(bp.PRIMS).sort());
  });

  for (const [prim, cases] of Object.entries(RULE_CASES)) {
    it(prim, async () => {
      for (const [k, c] of cases.entries()) {
        const sources = c.inputs.map((t) => bp.tensor(t.data.slice(), { shape: [...t.shape] }));
        const { result, capture: cap } = capture(sources, () => c.f(...sources));
        const ins = sources.map((t, i) => ({ name: `in${i}`, tensor: t }));
        const graph = emitGraph(cap, ins, [{ name: "out", tensor: result }], `rule_${prim}`);
        assert.ok(
          graph.nodes.some((n) => n.opType !== "Identity" && n.opType !== "Cast") || prim === "cast" || (prim === "sum" && k === 2),
          `${prim}: no operator written`,
        );
        const bytes = encodeOnnx({ irVersion: ONNX_IR_VERSION, opsetImport: [{ domain: "", version: ONNX_OPSET }], graph, metadataProps: [] });
        const session = await ort.InferenceSession.create(bytes);
        const feeds: Feed = {};
        sources.forEach((t, i) => (feeds[`in${i}`] = ortTensor("float32", t.data as Float32Array, t.shape)));
        const out = (await session.run(feeds)).out;
        assert.deepEqual(out.dims, result.shape, `${prim} case ${k}: shape`);
        assert.equal(out.type, result.dtype, `${prim} case ${k}: dtype`);
        // Both compute in float32 with the same formula per element; libm's and ONNX Runtime's exp,
        // erf, tan... may differ in the last bits, hence a relative 1e-6 rather than equality.
        const diff = maxRelDiff(out.data as Float32Array, result.data);
        assert.ok(diff <= 1e-6, `${prim} case ${k}: differs by ${diff}: onnx ${Array.from(out.data as Float32Array)} ours ${Array.from(result.data)}`);
      }
    });
  }
});
