/**
 * Normalization, dropout, embedding, GELU and softplus: values and gradients against PyTorch (one
 * /usr/bin/python3 process for the whole file), hand-computed cases, buffers in state dicts and
 * checkpoints, dropout's statistics, and the explicit batchNorm layer API against autograd.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as bp from "../src/index.js";
import { assertClose, describeIf, randTensor } from "./helpers.js";

const PYTHON = DEBIAN_PYTHON;
const torchMissing = pythonLacks("torch", "python3-torch");
const f64 = (shape: number[], seed: number) => randTensor(shape, new bp.Rng(seed));
const list = (t: bp.Tensor) => Array.from(t.data);

// ---------------------------------------------------------------------------------------------
// PyTorch: every case goes to one Python process as JSON; each comes back with torch's numbers.

/** One forward and backward of a module: the input, the upstream gradient, and the mode. */
interface Step {
  x: number[];
  shape: number[];
  g: number[];
  train: boolean;
}

type TorchCase =
  | { kind: "bn"; dim: 1 | 2; c: number; momentum: number | null; affine: boolean; track: boolean; weight: number[]; bias: number[]; steps: Step[] }
  | { kind: "ln"; normalized: number[]; affine: boolean; weight: number[]; bias: number[]; steps: Step[] }
  | { kind: "emb"; weight: number[]; wshape: number[]; idx: number[]; ishape: number[]; pad: number | null; g: number[] }
  | { kind: "gelu"; approximate: "none" | "tanh"; x: number[] }
  | { kind: "softplus"; beta: number; threshold: number; x: number[] }
  | { kind: "keys" };

interface StepResult {
  y: number[];
  dx: number[];
  dw: number[] | null;
  db: number[] | null;
}

interface TorchResult {
  steps?: StepResult[];
  running_mean?: number[];
  running_var?: number[];
  nbt?: number;
  y?: number[];
  dx?: number[];
  dw?: number[];
  keys?: Record<string, string[]>;
}

const HARNESS = String.raw`
import json, sys, torch
torch.set_default_dtype(torch.float64)
flat = lambda t: t.detach().reshape(-1).tolist()
def run_steps(m, steps):
    out = []
    for s in steps:
        m.train(s["train"])
        m.zero_grad()
        x = torch.tensor(s["x"]).reshape(s["shape"]).requires_grad_()
        y = m(x)
        (y * torch.tensor(s["g"]).reshape(y.shape)).sum().backward()
        w, b = getattr(m, "weight", None), getattr(m, "bias", None)
        out.append({"y": flat(y), "dx": flat(x.grad),
                    "dw": flat(w.grad) if w is not None and w.grad is not None else None,
                    "db": flat(b.grad) if b is not None and b.grad is not None else None})
    return out
def one(c):
    k = c["kind"]
    if k == "bn":
        cls = torch.nn.BatchNorm1d if c["dim"] == 1 else torch.nn.BatchNorm2d
        m = cls(c["c"], momentum=c["momentum"], affine=c["affine"], track_running_stats=c["track"])
        if c["affine"]:
            with torch.no_grad():
                m.weight.copy_(torch.tensor(c["weight"])); m.bias.copy_(torch.tensor(c["bias"]))
        r = {"steps": run_steps(m, c["steps"])}
        if c["track"]:
            r.update(running_mean=flat(m.running_mean), running_var=flat(m.running_var), nbt=int(m.num_batches_tracked))
        return r
    if k == "ln":
        m = torch.nn.LayerNorm(c["normalized"], elementwise_affine=c["affine"])
        if c["affine"]:
            with torch.no_grad():
                m.weight.copy_(torch.tensor(c["weight"]).reshape(c["normalized"])); m.bias.copy_(torch.tensor(c["bias"]).reshape(c["normalized"]))
        return {"steps": run_steps(m, c["steps"])}
    if k == "emb":
        w = torch.tensor(c["weight"]).reshape(c["wshape"]).requires_grad_()
        idx = torch.tensor(c["idx"], dtype=torch.long).reshape(c["ishape"])
        y = torch.nn.functional.embedding(idx, w, padding_idx=c["pad"])
        (y * torch.tensor(c["g"]).reshape(y.shape)).sum().backward()
        return {"y": flat(y), "dw": flat(w.grad)}
    if k in ("gelu", "softplus"):
        x = torch.tensor(c["x"]).requires_grad_()
        y = torch.nn.functional.gelu(x, approximate=c["approximate"]) if k == "gelu" else torch.nn.functional.softplus(x, beta=c["beta"], threshold=c["threshold"])
        y.sum().backward()
        return {"y": flat(y), "dx": flat(x.grad)}
    if k == "keys":
        seq = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU(), torch.nn.LayerNorm(3), torch.nn.Embedding(4, 3))
        return {"keys": {"bn": list(torch.nn.BatchNorm1d(3).state_dict().keys()), "seq": list(seq.state_dict().keys()),
                         "params": [n for n, _ in seq.named_parameters()]}}
    raise ValueError(k)
print(json.dumps([one(c) for c in json.load(sys.stdin)]))
`;
import { DEBIAN_PYTHON, pythonLacks } from "./python.js";

function runTorch(cases: TorchCase[]): TorchResult[] {
  const r = spawnSync(PYTHON, ["-c", HARNESS], { input: JSON.stringify(cases), encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as TorchResult[];
}

function step(shape: number[], seed: number, train: boolean): Step {
  const x = f64(shape, seed);
  return { x: list(x), shape, g: list(f64(shape, seed + 1000)), train };
}

/** Runs the same steps through our module, zeroing gradients between them as the harness does. */
function runOurs(m: bp.Module & { weight?: bp.Tensor | null; bias?: bp.Tensor | null }, steps: Step[]): StepResult[] {
  return steps.map((s) => {
    m.train(s.train);
    m.zeroGrad();
    const x = bp.tensor(s.x, { shape: s.shape, dtype: "float64", requiresGrad: true });
    const y = m.forward(x);
    bp.mul(y, bp.tensor(s.g, { shape: y.shape, dtype: "float64" }))
      .sum()
      .backward();
    return { y: list(y), dx: list(x.grad!), dw: m.weight?.grad ? list(m.weight.grad) : null, db: m.bias?.grad ? list(m.bias.grad) : null };
  });
}

// Float64 on both sides, the same formulas: agreement to rounding (a few ulps of values near 1).
const TOL = 1e-12;

function compareSteps(ours: StepResult[], theirs: StepResult[], what: string): void {
  assert.equal(ours.length, theirs.length);
  ours.forEach((o, i) => {
    const t = theirs[i];
    assertClose(o.y, t.y, TOL, `${what} step ${i} y`);
    assertClose(o.dx, t.dx, TOL, `${what} step ${i} dx`);
    assert.equal(o.dw === null, t.dw === null, `${what} step ${i}: weight gradient presence`);
    if (o.dw && t.dw) assertClose(o.dw, t.dw, TOL, `${what} step ${i} dweight`);
    if (o.db && t.db) assertClose(o.db, t.db, TOL, `${what} step ${i} dbias`);
  });
}

interface Built {
  torch: TorchCase;
  check: (r: TorchResult) => void;
  name: string;
}

function bnCase(name: string, dim: 1 | 2, shape: number[], opts: { momentum?: number | null; affine?: boolean; track?: boolean }, seed: number): Built {
  const c = shape[1];
  const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
  const affine = opts.affine ?? true;
  const track = opts.track ?? true;
  const weight = list(f64([c], seed + 1));
  const bias = list(f64([c], seed + 2));
  // Three training steps move the running statistics; two evaluation steps use them.
  const steps = [
    step(shape, seed + 3, true),
    step(shape, seed + 4, true),
    step(shape, seed + 5, true),
    step(shape, seed + 6, false),
    step(shape, seed + 7, false),
  ];
  return {
    name,
    torch: { kind: "bn", dim, c, momentum, affine, track, weight, bias, steps },
    check: (r) => {
      const Cls = dim === 1 ? bp.BatchNorm1d : bp.BatchNorm2d;
      const m = new Cls(c, { momentum, affine, trackRunningStats: track, dtype: "float64" });
      if (affine) {
        m.weight!.data.set(weight);
        m.bias!.data.set(bias);
      }
      compareSteps(runOurs(m, steps), r.steps!, name);
      if (track) {
        assertClose(list(m.runningMean!), r.running_mean!, TOL, `${name} running_mean`);
        assertClose(list(m.runningVar!), r.running_var!, TOL, `${name} running_var`);
        assert.equal(m.numBatchesTracked!.item(), r.nbt);
      } else {
        assert.equal(m.runningMean, null);
        assert.deepEqual(m.buffers(), []);
      }
    },
  };
}

function lnCase(name: string, shape: number[], normalized: number[], affine: boolean, seed: number): Built {
  const n = normalized.reduce((a, b) => a * b, 1);
  const weight = list(f64([n], seed + 1));
  const bias = list(f64([n], seed + 2));
  const steps = [step(shape, seed + 3, true), step(shape, seed + 4, false)];
  return {
    name,
    torch: { kind: "ln", normalized, affine, weight, bias, steps },
    check: (r) => {
      const m = new bp.LayerNorm(normalized, { elementwiseAffine: affine, dtype: "float64" });
      if (affine) {
        m.weight!.data.set(weight);
        m.bias!.data.set(bias);
      }
      compareSteps(runOurs(m, steps), r.steps!, name);
    },
  };
}

function embCase(name: string, pad: number | null, seed: number): Built {
  const wshape = [5, 3];
  const weight = list(f64(wshape, seed));
  const idx = [0, 2, 4, 2, 1, 0, 2, 2];
  const ishape = [2, 4];
  const g = list(f64([2, 4, 3], seed + 1));
  return {
    name,
    torch: { kind: "emb", weight, wshape, idx, ishape, pad, g },
    check: (r) => {
      const w = bp.tensor(weight, { shape: wshape, dtype: "float64", requiresGrad: true });
      const y = bp.embedding(bp.tensor(idx, { shape: ishape }), w, { paddingIdx: pad });
      assert.deepEqual(y.shape, [2, 4, 3]);
      bp.mul(y, bp.tensor(g, { shape: y.shape, dtype: "float64" }))
        .sum()
        .backward();
      assertClose(list(y), r.y!, 0, `${name} y`);
      assertClose(list(w.grad!), r.dw!, TOL, `${name} dweight`);
    },
  };
}

// Large |x| included: no overflow, no log(0), tiny values keep their digits.
const ACT_X = [-800, -100, -40, -30, -20, -10, -5, -2.5, -1, -0.3, 0, 0.3, 1, 2.5, 5, 10, 19.5, 20.5, 30, 40, 100, 800];

function actCase(name: string, torch: Extract<TorchCase, { kind: "gelu" | "softplus" }>, f: (x: bp.Tensor) => bp.Tensor): Built {
  return {
    name,
    torch,
    check: (r) => {
      const x = bp.tensor(torch.x, { dtype: "float64", requiresGrad: true });
      const y = f(x);
      y.sum().backward();
      // Relative to each value (tolerance times 1 + |value|), so e^-40 ≈ 4e-18 must be right to its own size too.
      assertClose(list(y), r.y!, TOL, `${name} y`);
      y.data.forEach((v, i) => {
        const want = r.y![i];
        assert.ok(Math.abs(v - want) <= 1e-12 * Math.abs(want) + 1e-300, `${name}(${torch.x[i]}) = ${v}, torch ${want} (relative)`);
      });
      assertClose(list(x.grad!), r.dx!, TOL, `${name} dx`);
    },
  };
}

const BUILT: Built[] = [
  bnCase("BatchNorm1d (N, C)", 1, [6, 3], {}, 10),
  bnCase("BatchNorm1d (N, C, L)", 1, [4, 3, 5], {}, 20),
  bnCase("BatchNorm2d (N, C, H, W)", 2, [3, 2, 4, 5], {}, 30),
  bnCase("BatchNorm1d momentum null (cumulative average)", 1, [5, 4], { momentum: null }, 40),
  bnCase("BatchNorm1d momentum 0.3, no affine", 1, [5, 4], { momentum: 0.3, affine: false }, 50),
  bnCase("BatchNorm2d without running statistics", 2, [2, 3, 2, 2], { track: false }, 60),
  lnCase("LayerNorm over (4,) of (2, 3, 4)", [2, 3, 4], [4], true, 70),
  lnCase("LayerNorm over (3, 4) of (2, 3, 4)", [2, 3, 4], [3, 4], true, 80),
  lnCase("LayerNorm without affine", [5, 6], [6], false, 90),
  embCase("embedding", null, 100),
  embCase("embedding, padding_idx 2", 2, 110),
  embCase("embedding, padding_idx -5 (row 0)", -5, 120),
  actCase("gelu", { kind: "gelu", approximate: "none", x: ACT_X }, (x) => bp.gelu(x)),
  actCase("gelu tanh", { kind: "gelu", approximate: "tanh", x: ACT_X }, (x) => bp.gelu(x, { approximate: "tanh" })),
  actCase("softplus", { kind: "softplus", beta: 1, threshold: 20, x: ACT_X }, (x) => bp.softplus(x)),
  actCase("softplus beta 2 threshold 5", { kind: "softplus", beta: 2, threshold: 5, x: ACT_X }, (x) => bp.softplus(x, { beta: 2, threshold: 5 })),
  actCase("softplus beta 0.5 threshold 40", { kind: "softplus", beta: 0.5, threshold: 40, x: ACT_X }, (x) => bp.softplus(x, { beta: 0.5, threshold: 40 })),
];

describeIf("against PyTorch 1.13 (float64 values and gradients)", torchMissing, () => {
  const results = runTorch([...BUILT.map((b) => b.torch), { kind: "keys" }]);
  BUILT.forEach((b, i) => it(b.name, () => b.check(results[i])));

  it("state dict names: a BatchNorm1d's, and a Sequential's (ours under 'layers.')", () => {
    const keys = results[BUILT.length].keys!;
    assert.deepEqual([...new bp.BatchNorm1d(3).stateDict().keys()], keys.bn);
    const seq = new bp.Sequential(new bp.Linear(2, 3), new bp.BatchNorm1d(3), new bp.ReLU(), new bp.LayerNorm(3), new bp.Embedding(4, 3));
    assert.deepEqual(
      [...seq.stateDict().keys()],
      keys.seq.map((k) => `layers.${k}`),
    );
    assert.deepEqual(
      seq.namedParameters().map(([n]) => n),
      keys.params.map((k) => `layers.${k}`),
    );
  });

  it("float32 BatchNorm2d agrees with float64 PyTorch to float32 rounding", () => {
    const b = BUILT[2];
    const r = results[2];
    const c = 2;
    const m = new bp.BatchNorm2d(c);
    const t = b.torch as Extract<TorchCase, { kind: "bn" }>;
    m.weight!.data.set(t.weight);
    m.bias!.data.set(t.bias);
    t.steps.forEach((s, i) => {
      m.train(s.train);
      const y = m.forward(bp.tensor(s.x, { shape: s.shape }));
      assert.equal(y.dtype, "float32");
      // float32 keeps 24 bits: 1e-5 relative covers the two-pass statistics' rounding.
      assertClose(list(y), r.steps![i].y, 1e-5, `float32 step ${i}`);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe("batchNorm and layerNorm: hand-computed cases and errors", () => {
  it("BatchNorm1d on [[1], [3]]: ±1/sqrt(1 + eps), running mean 0.2 and unbiased running variance 1.1", () => {
    const m = new bp.BatchNorm1d(1, { dtype: "float64" });
    const y = m.forward(bp.tensor([[1], [3]], { dtype: "float64" }));
    const s = 1 / Math.sqrt(1 + 1e-5);
    assertClose(list(y), [-s, s], 1e-15, "y");
    // mean 2 -> 0.9 * 0 + 0.1 * 2; unbiased variance of [1, 3] is 2 -> 0.9 * 1 + 0.1 * 2 (the biased 1 would give 1.0).
    assertClose(list(m.runningMean!), [0.2], 1e-15, "running mean");
    assertClose(list(m.runningVar!), [1.1], 1e-15, "running var");
    assert.equal(m.numBatchesTracked!.item(), 1);
    // Evaluation: (x - 0.2) / sqrt(1.1 + eps), and the running statistics stay.
    m.eval();
    const e = m.forward(bp.tensor([[2.2]], { dtype: "float64" }));
    assertClose(list(e), [2 / Math.sqrt(1.1 + 1e-5)], 1e-15, "eval");
    assertClose(list(m.runningMean!), [0.2], 0, "running mean after eval");
    assert.equal(m.numBatchesTracked!.item(), 1);
  });

  it("layerNorm of [1, 2, 3] is (x - 2)/sqrt(2/3 + eps), the same in training and evaluation", () => {
    const x = bp.tensor([[1, 2, 3]], { dtype: "float64" });
    const d = Math.sqrt(2 / 3 + 1e-5);
    assertClose(list(bp.layerNorm(x, 3)), [-1 / d, 0, 1 / d], 1e-15, "layerNorm");
    const w = bp.tensor([2, 2, 2], { dtype: "float64" });
    const b = bp.tensor([1, 1, 1], { dtype: "float64" });
    assertClose(list(bp.layerNorm(x, [3], { weight: w, bias: b })), [1 - 2 / d, 1, 1 + 2 / d], 1e-15, "affine");
    const m = new bp.LayerNorm(3, { dtype: "float64" });
    assertClose(list(m.eval().forward(x)), [-1 / d, 0, 1 / d], 1e-15, "module in eval");
    assert.deepEqual([...m.stateDict().keys()], ["weight", "bias"]);
    assert.deepEqual(
      new bp.LayerNorm(3, { bias: false }).namedParameters().map(([n]) => n),
      ["weight"],
    );
  });

  it("errors name the op, the argument and the shapes", () => {
    const x = f64([4, 3], 1);
    assert.throws(() => bp.batchNorm(x), /batchNorm: evaluation \(training: false\) normalizes with runningMean and runningVar/);
    assert.throws(
      () => bp.batchNorm(f64([3], 1), { training: true }),
      /batchNorm: input must have a batch and a channel axis \(N, C, \.\.\.\), got shape \(3,\)/,
    );
    assert.throws(() => bp.batchNorm(f64([1, 3], 1), { training: true }), /expected more than 1 value per channel when training, got input of shape \(1,3\)/);
    assert.throws(() => bp.batchNorm(x, { training: true, weight: f64([4], 2) }), /batchNorm: weight must have shape \(3,\) for input of shape \(4,3\)/);
    assert.throws(() => bp.batchNorm(x, { training: true, runningMean: f64([3], 2) }), /give both runningMean and runningVar/);
    assert.throws(() => bp.batchNorm(x, { training: true, momentum: 2 }), /momentum must be a number in \[0, 1\], got 2/);
    assert.throws(() => bp.batchNorm(x, { trainng: true } as bp.BatchNormOptions), /batchNorm: unknown option "trainng"/);
    assert.throws(() => new bp.BatchNorm2d(3).forward(bp.zeros([2, 3, 4])), /BatchNorm2d: expected input of shape \(N, C, H, W\), got \(2,3,4\)/);
    assert.throws(() => new bp.BatchNorm1d(3).forward(bp.zeros([2, 4])), /BatchNorm1d: input of shape \(2,4\) has 4 channels on axis 1, the layer has 3/);
    assert.throws(() => new bp.BatchNorm1d(0), /numFeatures must be a positive integer, got 0/);
    assert.throws(() => bp.layerNorm(x, [4]), /layerNorm: input of shape \(4,3\) does not end in the normalized shape \(4,\)/);
    assert.throws(() => bp.layerNorm(x, 3, { weight: f64([4], 1) }), /layerNorm: weight must have the normalized shape \(3,\), got \(4,\)/);
    assert.throws(() => bp.layerNorm(x, 3, { eps: -1 }), /eps must be a non-negative finite number, got -1/);
  });

  it("trackRunningStats: false keeps no buffers and uses the batch's statistics in evaluation", () => {
    const m = new bp.BatchNorm1d(2, { trackRunningStats: false, dtype: "float64" });
    const x = f64([5, 2], 3);
    const train = list(m.forward(x));
    assertClose(list(m.eval().forward(x)), train, 0, "eval = train");
    assert.deepEqual([...m.stateDict().keys()], ["weight", "bias"]);
  });
});

describe("buffers: state, not parameters", () => {
  it("parameters() leaves buffers out; stateDict() has them after each module's parameters", () => {
    const model = new bp.Sequential(
      new bp.Linear(3, 4, { rng: new bp.Rng(1) }),
      new bp.BatchNorm1d(4),
      new bp.ReLU(),
      new bp.Linear(4, 2, { rng: new bp.Rng(2) }),
    );
    assert.equal(model.parameters().length, 6);
    assert.deepEqual(
      model.namedBuffers().map(([n]) => n),
      ["layers.1.running_mean", "layers.1.running_var", "layers.1.num_batches_tracked"],
    );
    assert.deepEqual(
      [...model.stateDict().keys()],
      [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
        "layers.1.running_mean",
        "layers.1.running_var",
        "layers.1.num_batches_tracked",
        "layers.3.weight",
        "layers.3.bias",
      ],
    );
    // An optimizer over parameters() never sees the running statistics.
    const opt = new bp.SGD(model.parameters(), { lr: 0.1 });
    const y = model.forward(f64([5, 3], 3).astype("float32"));
    y.sum().backward();
    const before = list(model.namedBuffers()[1][1]);
    opt.step();
    assert.deepEqual(list(model.namedBuffers()[1][1]), before);
  });

  it("an MLP's state dict is unchanged: its parameters only, in the same order", () => {
    const m = bp.mlp([4, 5, 3], { rng: new bp.Rng(3) });
    assert.deepEqual(
      [...m.stateDict().keys()],
      m.namedParameters().map(([n]) => n),
    );
    assert.deepEqual(m.buffers(), []);
  });

  it("a checkpoint round trip restores running statistics, so evaluation gives the same outputs", () => {
    const make = () => new bp.Sequential(new bp.Linear(3, 4, { rng: new bp.Rng(5), dtype: "float64" }), new bp.BatchNorm1d(4, { dtype: "float64" }));
    const a = make();
    for (let i = 0; i < 3; i++) a.forward(f64([6, 3], 10 + i));
    const bytes = bp.encodeCheckpoint(a.stateDict());
    const b = make();
    b.loadStateDict(bp.decodeCheckpoint(bytes).tensors);
    const bn = b.layers[1] as bp.BatchNorm1d;
    assert.equal(bn.numBatchesTracked!.item(), 3);
    assertClose(list(bn.runningVar!), list((a.layers[1] as bp.BatchNorm1d).runningVar!), 0, "running var");
    const x = f64([2, 3], 20);
    assertClose(list(b.eval().forward(x)), list(a.eval().forward(x)), 0, "eval outputs");
    // A checkpoint without the buffers is missing a tensor, named.
    const params = new Map(a.namedParameters());
    assert.throws(() => b.loadStateDict(params), /tensor 'layers\.1\.running_mean' is missing from the checkpoint/);
  });

  it("symmetryWarnings looks at Linear weights only: a normalization weight starts all ones by design", () => {
    const m = new bp.Sequential(new bp.Linear(3, 4, { rng: new bp.Rng(1) }), new bp.BatchNorm1d(4), new bp.LayerNorm(4));
    assert.deepEqual(bp.symmetryWarnings(m), []);
    (m.layers[0] as bp.Linear).weight.data.fill(0.25);
    assert.equal(bp.symmetryWarnings(m).length, 1);
  });

  it("registerBuffer checks its name and tensor", () => {
    class Counter extends bp.Module {
      readonly count = this.registerBuffer("count", bp.zeros([]));
      forward(x: bp.Tensor): bp.Tensor {
        this.count.data[0] += 1;
        return x;
      }
    }
    const c = new Counter();
    c.forward(bp.zeros([1]));
    assert.deepEqual([...c.stateDict().keys()], ["count"]);
    assert.deepEqual(c.parameters(), []);
    assert.throws(() => c.registerBuffer("count", bp.zeros([])), /already has a buffer named 'count'/);
    assert.throws(() => c.registerBuffer("a.b", bp.zeros([])), /buffer name must be an identifier without dots, got "a.b"/);
    assert.throws(() => c.registerBuffer("w", bp.zeros([2], { requiresGrad: true })), /buffer 'w' requires grad/);
  });
});

describe("dropout", () => {
  const x = bp.ones([100_000], { dtype: "float64" });

  it("keeps a fraction 1 - p of the elements (within 0.005, about 3.5 standard deviations at n = 1e5), each scaled by exactly 1/(1 - p)", () => {
    for (const p of [0.1, 0.3, 0.5, 0.9]) {
      const y = bp.dropout(x, p, { rng: new bp.Rng(42) });
      let kept = 0;
      for (const v of y.data) {
        if (v !== 0) {
          kept++;
          assert.equal(v, 1 * (1 / (1 - p)));
        }
      }
      assert.ok(Math.abs(kept / x.size - (1 - p)) < 0.005, `p = ${p}: kept ${kept / x.size}`);
    }
  });

  it("the same seed gives the same mask; another seed another; manualSeed drives the module", () => {
    const a = list(bp.dropout(x, 0.5, { rng: new bp.Rng(7) }));
    assert.deepEqual(list(bp.dropout(x, 0.5, { rng: new bp.Rng(7) })), a);
    assert.notDeepEqual(list(bp.dropout(x, 0.5, { rng: new bp.Rng(8) })), a);
    const d = new bp.Dropout(0.5);
    bp.manualSeed(11);
    const first = list(d.forward(x));
    bp.manualSeed(11);
    assert.deepEqual(list(d.forward(x)), first);
    bp.manualSeed(0);
  });

  it("evaluation, p = 0 and training: false are the identity; p = 1 zeroes everything", () => {
    const t = f64([3, 4], 1);
    assert.equal(bp.dropout(t, 0.5, { training: false }), t);
    assert.equal(bp.dropout(t, 0), t);
    assert.equal(new bp.Dropout(0.7).eval().forward(t), t);
    assert.ok(list(bp.dropout(t, 1)).every((v) => v === 0)); // ±0: x times 0, as in PyTorch
    assert.throws(() => bp.dropout(t, 1.5), /dropout: probability p must be a number in \[0, 1\], got 1.5/);
    assert.throws(() => new bp.Dropout(-0.1), /Dropout: probability p must be a number in \[0, 1\], got -0.1/);
  });

  it("the gradient is the mask times the incoming gradient", () => {
    const t = bp.tensor(list(f64([50], 2)), { dtype: "float64", requiresGrad: true });
    const y = bp.dropout(t, 0.4, { rng: new bp.Rng(3) });
    y.sum().backward();
    t.grad!.data.forEach((g, i) => assert.equal(g, y.data[i] === 0 ? 0 : 1 / 0.6));
  });
});

describe("embedding, GELU and softplus: shapes, gradients and extremes", () => {
  it("Embedding looks rows up by index; the padding row starts at zero and gets no gradient", () => {
    const e = new bp.Embedding(6, 4, { paddingIdx: 1, rng: new bp.Rng(2), dtype: "float64" });
    assert.deepEqual(list(e.weight).slice(4, 8), [0, 0, 0, 0]);
    const y = e.forward([
      [1, 3],
      [3, 5],
    ]);
    assert.deepEqual(y.shape, [2, 2, 4]);
    assertClose(list(y).slice(4, 8), list(e.weight).slice(12, 16), 0, "row 3");
    y.sum().backward();
    const g = e.weight.grad!.toArray() as number[][];
    assert.deepEqual(g, [
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [2, 2, 2, 2],
      [0, 0, 0, 0],
      [1, 1, 1, 1],
    ]);
    assert.throws(() => e.forward([6]), /embedding: index 6 at position 0 is not in \[0, 6\) \(the table has 6 rows\)/);
    assert.throws(() => e.forward([-1]), /embedding: index -1 at position 0 is not in \[0, 6\)/);
    assert.throws(() => new bp.Embedding(6, 4, { paddingIdx: 6 }), /paddingIdx must be an integer in \[-6, 6\), got 6/);
    assert.throws(() => bp.embedding([0], f64([3], 1)), /embedding: weight must have shape \(numEmbeddings, embeddingDim\), got \(3,\)/);
  });

  it("softplus is finite with finite gradients at ±1e308 and ±100 (float32 too), and keeps e^-40's digits", () => {
    for (const dtype of ["float64", "float32"] as const) {
      const big = dtype === "float64" ? 1e308 : 3e38;
      const x = bp.tensor([-big, -100, 100, big], { dtype, requiresGrad: true });
      const y = bp.softplus(x, { threshold: Infinity });
      y.sum().backward();
      assert.ok(y.data.every(Number.isFinite), `${dtype} values ${list(y)}`);
      assert.ok(x.grad!.data.every(Number.isFinite), `${dtype} gradients ${list(x.grad!)}`);
      assertClose(list(x.grad!), [0, Math.exp(-100), 1, 1], 1e-7, `${dtype} gradients are sigmoid(x)`);
    }
    const tiny = bp.softplus(bp.tensor([-40], { dtype: "float64" })).item();
    assert.ok(Math.abs(tiny - Math.exp(-40)) <= 1e-15 * Math.exp(-40), `softplus(-40) = ${tiny}`);
    assert.throws(() => bp.softplus(bp.zeros([1]), { beta: 0 }), /softplus: beta must be a positive finite number, got 0/);
    assert.throws(() => new bp.Softplus({ beta: -1 }), /softplus: beta must be a positive finite number, got -1/);
  });

  it("GELU: x Φ(x) exactly, its tanh form within 1e-3 of it, and finite at ±1e4", () => {
    const x = bp.tensor([-3, -1, 0, 0.5, 2], { dtype: "float64" });
    const phi = (v: number) => 0.5 * (1 + bp.erf(bp.tensor([v / Math.SQRT2], { dtype: "float64" })).item());
    // 1 + erf(x/√2) cancels at negative x, so the order of the products shows in the last digits.
    assertClose(
      list(new bp.GELU().forward(x)),
      list(x).map((v) => v * phi(v)),
      1e-12,
      "exact",
    );
    assertClose(
      list(new bp.GELU({ approximate: "tanh" }).forward(x)),
      list(x).map((v) => v * phi(v)),
      1e-3,
      "tanh",
    );
    const far = bp.tensor([-1e4, 1e4], { dtype: "float64", requiresGrad: true });
    const y = bp.gelu(far);
    y.sum().backward();
    assert.deepEqual(list(y), [-0, 1e4]);
    assert.deepEqual(list(far.grad!), [0, 1]);
    assert.throws(() => new bp.GELU({ approximate: "erf" as "tanh" }), /GELU: unknown approximate "erf" \(use none or tanh\)/);
  });
});

describe("explicit batchNorm layer API equals autograd (float64)", () => {
  const [x, gamma, beta, dout] = [f64([6, 4], 1), f64([4], 2), f64([4], 3), f64([6, 4], 4)];

  it("batchNormForward equals batchNorm; both backwards equal autograd's gradients to 1e-10", () => {
    const [out, cache] = bp.batchNormForward(x, gamma, beta, { mode: "train" });
    assertClose(list(out), list(bp.batchNorm(x, { weight: gamma, bias: beta, training: true })), 1e-12, "out");
    const [gx, gg, gb] = bp.grad(
      (a: bp.Tensor, g: bp.Tensor, b: bp.Tensor) => bp.sum(bp.mul(bp.batchNorm(a, { weight: g, bias: b, training: true }), dout)),
      [0, 1, 2],
    )(x, gamma, beta) as bp.Tensor[];
    for (const [name, backward] of [
      ["staged", bp.batchNormBackward],
      ["closed form", bp.batchNormBackwardAlt],
    ] as const) {
      const { dx, dgamma, dbeta } = backward(dout, cache);
      assertClose(list(dx), list(gx), 1e-10, `${name} dx`);
      assertClose(list(dgamma), list(gg), 1e-10, `${name} dgamma`);
      assertClose(list(dbeta), list(gb), 1e-10, `${name} dbeta`);
      // The gradient of x sums to zero over the batch: shifting every example equally changes nothing.
      const colSums = [0, 0, 0, 0];
      dx.data.forEach((v, k) => (colSums[k % 4] += v));
      assertClose(colSums, [0, 0, 0, 0], 1e-12, `${name} column sums of dx`);
    }
  });

  it("running statistics move as the module's; test mode uses them, and its backward equals autograd's", () => {
    const runningMean = bp.zeros([4], { dtype: "float64" });
    const runningVar = bp.ones([4], { dtype: "float64" });
    const m = new bp.BatchNorm1d(4, { dtype: "float64" });
    for (let i = 0; i < 3; i++) {
      const xi = f64([6, 4], 10 + i);
      bp.batchNormForward(xi, gamma, beta, { mode: "train", runningMean, runningVar });
      m.forward(xi);
    }
    assertClose(list(runningMean), list(m.runningMean!), 1e-14, "running mean");
    assertClose(list(runningVar), list(m.runningVar!), 1e-14, "running var");
    const [out, cache] = bp.batchNormForward(x, gamma, beta, { mode: "test", runningMean, runningVar });
    const f = (a: bp.Tensor, g: bp.Tensor, b: bp.Tensor) => bp.batchNorm(a, { weight: g, bias: b, runningMean, runningVar });
    assertClose(list(out), list(f(x, gamma, beta)), 1e-12, "test-mode out");
    const [gx, gg] = bp.grad((a: bp.Tensor, g: bp.Tensor, b: bp.Tensor) => bp.sum(bp.mul(f(a, g, b), dout)), [0, 1])(x, gamma, beta) as bp.Tensor[];
    const { dx, dgamma } = bp.batchNormBackward(dout, cache);
    assertClose(list(dx), list(gx), 1e-12, "test-mode dx");
    assertClose(list(dgamma), list(gg), 1e-12, "test-mode dgamma");
  });

  it("errors say what is wrong", () => {
    assert.throws(() => bp.batchNormForward(f64([6], 1), gamma, beta, { mode: "train" }), /batchNormForward: x must have shape \(N, D\), got \(6,\)/);
    assert.throws(() => bp.batchNormForward(x, f64([3], 1), beta, { mode: "train" }), /batchNormForward: gamma must have shape \(4,\), got \(3,\)/);
    assert.throws(() => bp.batchNormForward(x, gamma, beta, { mode: "test" }), /test mode normalizes with runningMean and runningVar/);
    assert.throws(() => bp.batchNormForward(x, gamma, beta, { mode: "eval" as "test" }), /unknown mode "eval" \(use train or test\)/);
    const [, cache] = bp.batchNormForward(x, gamma, beta, { mode: "train" });
    assert.throws(() => bp.batchNormBackward(f64([4, 6], 1), cache), /batchNormBackward: dout must have the output's shape \(6,4\), got \(4,6\)/);
  });
});
