/**
 * ONNX export and import, checked in a real ONNX runtime (onnxruntime-web's wasm build, in Node) and by
 * the onnx Python package's checker. Tolerance 1e-5 absolute: ORT and our kernels both compute in
 * float32, summing in different orders; with values of order 1-10 that leaves differences near 1e-6.
 */
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import * as bp from "../src/index.js";
import { loadIris } from "../src/node/datasets.js";
import { encodeCheckpoint, decodeCheckpoint } from "../src/nn/checkpoint.js";
import { cli } from "./cli-helper.js";
import { loadModel } from "../src/cli/files.js";
import { PY, noPythonOnnx, noPythonTorch, runOrt } from "./onnx-helpers.js";

const TOL = 1e-5;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Our forward on raw inputs: the scaling as training applies it (float64, then float32), the model, softmax. */
function ours(model: bp.Module, x: Float32Array, shape: number[], pre?: bp.ToOnnxOptions["preprocess"]): { logits: Float32Array; probs: Float32Array } {
  const d = shape.slice(1).reduce((a, b) => a * b, 1);
  const scaled = pre ? Float32Array.from(x, (v, k) => (v - pre.mean[k % d]) / pre.std[k % d]) : x;
  return bp.noGrad(() => {
    const logits = model.forward(bp.tensor(scaled, { shape: [shape[0], d] }));
    return { logits: Float32Array.from(logits.data), probs: Float32Array.from(bp.softmax(logits, -1).data) };
  });
}

function randomBatch(rng: bp.Rng, n: number, scale = 2, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, () => offset + scale * rng.normal());
}

/** Models of every layer kind: each activation, with and without bias, nested Sequentials, a custom slope. */
function zoo(rng: bp.Rng): { name: string; model: bp.Module; inputShape: number[] }[] {
  const acts: bp.Activation[] = ["relu", "leakyrelu", "sigmoid", "tanh"];
  const out = acts.map((activation) => ({ name: activation as string, model: bp.mlp([5, 8, 6, 3], { activation, rng }) as bp.Module, inputShape: [5] }));
  out.push({ name: "no bias", model: bp.mlp([5, 7, 4], { bias: false, rng }), inputShape: [5] });
  out.push({
    name: "nested, LeakyReLU(0.2), one bias-free layer",
    model: new bp.Sequential(
      new bp.Sequential(new bp.Linear(6, 5, { rng }), new bp.LeakyReLU(0.2)),
      new bp.Linear(5, 4, { rng, bias: false }),
      new bp.Tanh(),
      new bp.Linear(4, 2, { rng }),
    ),
    inputShape: [2, 3],
  });
  return out;
}

describe("ONNX export (toOnnx) in ONNX Runtime", () => {
  let worst = 0;
  after(() => console.log(`# ONNX Runtime vs our forward: max |difference| ${worst.toExponential(2)} over every model, batch and output (tolerance ${TOL})`));

  it("random MLPs of every activation, with and without bias and scaling, batches of 1 and 7: outputs within 1e-5", async () => {
    const rng = new bp.Rng(19);
    for (const { name, model, inputShape } of zoo(rng)) {
      const d = inputShape.reduce((a, b) => a * b, 1);
      for (const scaled of [false, true]) {
        const preprocess = scaled
          ? {
              kind: "standardize" as const,
              mean: Array.from({ length: d }, () => 3 * rng.normal()),
              std: Array.from({ length: d }, () => 0.5 + 2 * rng.uniform()),
            }
          : undefined;
        const bytes = bp.toOnnx(model, { inputShape, preprocess });
        for (const n of [1, 7]) {
          const shape = [n, ...inputShape];
          const x = randomBatch(rng, n * d, scaled ? 4 : 2, scaled ? 1 : 0);
          const got = await runOrt(bytes, x, shape);
          const want = ours(model, x, shape, preprocess);
          const outF = want.logits.length / n;
          assert.deepEqual(got.logits.dims, [n, outF], name);
          assert.deepEqual(got.probabilities.dims, [n, outF], name);
          const diff = Math.max(maxAbsDiff(got.logits.data, want.logits), maxAbsDiff(got.probabilities.data, want.probs));
          assert.ok(diff < TOL, `${name}${scaled ? " with scaling" : ""}, batch ${n}: max difference ${diff}`);
          worst = Math.max(worst, diff);
        }
      }
    }
    assert.ok(worst > 0, "the comparison saw real float32 rounding (it compares computed values, not copies)");
  });

  it("writes names from the model, the scaling as Sub/Div, the head as Softmax(axis=-1), classes as metadata", () => {
    const model = bp.mlp([4, 3, 2], { activation: "leakyrelu", rng: new bp.Rng(1) });
    const m = bp.decodeOnnx(
      bp.toOnnx(model, { inputShape: [4], classes: ["cat", "dog"], preprocess: { kind: "standardize", mean: [1, 2, 3, 4], std: [1, 1, 2, 2] } }),
    );
    assert.deepEqual(m.opsetImport, [{ domain: "", version: 17 }]);
    assert.deepEqual(
      m.graph.nodes.map((n) => n.opType),
      ["Sub", "Div", "MatMul", "Add", "LeakyRelu", "MatMul", "Add", "Softmax"],
    );
    assert.deepEqual(
      m.graph.initializers.map((t) => [t.name, t.dims]),
      [
        ["preprocess.mean", [4]],
        ["preprocess.std", [4]],
        ["layers.0.weight", [4, 3]],
        ["layers.0.bias", [3]],
        ["layers.2.weight", [3, 2]],
        ["layers.2.bias", [2]],
      ],
    );
    assert.deepEqual(Array.from(bp.tensorValues(m.graph.initializers[2])), Array.from(model.layers[0].namedParameters()[0][1].data));
    assert.equal(m.graph.nodes[4].attributes[0].f, Math.fround(0.01));
    assert.deepEqual(m.graph.nodes[7].attributes[0], { name: "axis", type: bp.OnnxAttributeType.INT, i: -1 });
    assert.deepEqual(m.graph.inputs[0].tensorType, { elemType: bp.OnnxDataType.FLOAT, shape: ["batch", 4] });
    assert.deepEqual(
      m.graph.outputs.map((o) => [o.name, o.tensorType?.shape]),
      [
        ["logits", ["batch", 2]],
        ["probabilities", ["batch", 2]],
      ],
    );
    assert.deepEqual(m.metadataProps, [{ key: "classes", value: '["cat","dog"]' }]);
  });

  it("refuses what it cannot write, saying what", () => {
    const model = bp.mlp([4, 3]);
    class Square extends bp.Module {
      forward(x: bp.Tensor): bp.Tensor {
        return bp.mul(x, x);
      }
    }
    assert.throws(
      () => bp.toOnnx(new bp.Sequential(new bp.Linear(4, 3), new Square()), { inputShape: [4] }),
      /cannot export Square at "layers\.1".*Linear, ReLU/,
    );
    assert.throws(() => bp.toOnnx(model, { inputShape: [5] }), /Linear at "layers\.0" takes 4 features but receives 5/);
    assert.throws(() => bp.toOnnx(model, { inputShape: [] }), /inputShape must be a list of positive integers/);
    assert.throws(() => bp.toOnnx(model, { inputShape: [4], classes: ["a"] }), /1 class names for 3 outputs/);
    assert.throws(
      () => bp.toOnnx(model, { inputShape: [4], preprocess: { kind: "standardize", mean: [0, 0, 0, 0], std: [1, 0, 1, 1] } }),
      /preprocess\.std\[1\] is 0/,
    );
    assert.throws(
      () => bp.toOnnx(model, { inputShape: [4], preprocess: { kind: "standardize", mean: [0], std: [1] } }),
      /preprocess\.mean must hold 4 finite numbers/,
    );
    assert.throws(() => bp.toOnnx(new bp.Sequential(), { inputShape: [4] }), /no layers/);
  });

  it("passes the onnx Python package's full checker (shape inference included)", { skip: noPythonOnnx }, () => {
    const dir = mkdtempSync(join(tmpdir(), "onnx-export-"));
    const rng = new bp.Rng(3);
    const files = zoo(rng).map(({ model, inputShape }, i) => {
      const d = inputShape.reduce((a, b) => a * b, 1);
      const file = join(dir, `m${i}.onnx`);
      const preprocess = { kind: "standardize" as const, mean: new Array<number>(d).fill(0.5), std: new Array<number>(d).fill(2) };
      writeFileSync(file, bp.toOnnx(model, { inputShape, preprocess }));
      return file;
    });
    const out = execFileSync(
      PY,
      [
        "-c",
        `
import sys, onnx
for f in sys.argv[1:]:
    m = onnx.load(f)
    onnx.checker.check_model(m, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    probs = [o for o in inferred.graph.output if o.name == "probabilities"][0]
    print(m.opset_import[0].version, [d.dim_param or d.dim_value for d in probs.type.tensor_type.shape.dim])
`,
        ...files,
      ],
      { encoding: "utf8" },
    );
    assert.deepEqual(out.trim().split("\n"), [
      "17 ['batch', 3]",
      "17 ['batch', 3]",
      "17 ['batch', 3]",
      "17 ['batch', 3]",
      "17 ['batch', 4]",
      "17 ['batch', 2]",
    ]);
  });
});

describe("ONNX import (fromOnnx)", () => {
  it("reads back what toOnnx writes: same parameter names, same outputs, the scaling and the classes", () => {
    const rng = new bp.Rng(5);
    for (const { name, model, inputShape } of zoo(rng)) {
      const d = inputShape.reduce((a, b) => a * b, 1);
      const preprocess = {
        kind: "standardize" as const,
        mean: Array.from({ length: d }, () => rng.normal()),
        std: Array.from({ length: d }, () => 0.5 + rng.uniform()),
      };
      const outF = (model.namedParameters().at(-1)?.[1].shape.at(-1) as number) ?? 0;
      const classes = Array.from({ length: outF }, (_, k) => `class ${k}`);
      const back = bp.fromOnnx(bp.toOnnx(model, { inputShape, preprocess, classes }));
      assert.deepEqual(back.inputShape, inputShape, name);
      assert.deepEqual(back.classes, classes, name);
      assert.equal(back.softmax, true);
      assert.equal(back.dtype, "float32");
      // The scaling comes back through Sub then Div folded into (x - mean) / std: float32-stored values.
      for (const key of ["mean", "std"] as const)
        back.preprocess![key].forEach((v, j) =>
          assert.ok(Math.abs(v - Math.fround(preprocess[key][j])) <= 1e-12 * Math.max(1, Math.abs(v)), `${name} ${key}[${j}]`),
        );
      // Flattened layer order, so nested names differ; the tensors themselves are equal in order.
      const mine = model.namedParameters();
      const theirs = back.model.namedParameters();
      assert.equal(theirs.length, mine.length, name);
      theirs.forEach(([, t], k) => assert.deepEqual(Array.from(t.data), Array.from(mine[k][1].data), `${name} parameter ${k}`));
      const x = randomBatch(rng, 3 * d);
      assert.deepEqual(ours(back.model, x, [3, d]).logits, ours(model, x, [3, d]).logits, `${name}: identical forward`);
    }
    const plain = bp.mlp([3, 4, 2], { rng });
    assert.deepEqual(
      bp
        .fromOnnx(bp.toOnnx(plain, { inputShape: [3] }))
        .model.namedParameters()
        .map(([n]) => n),
      plain.namedParameters().map(([n]) => n),
      "an mlp keeps its parameter names",
    );
  });

  it("the imported model trains: a few SGD steps lower its loss", () => {
    const rng = new bp.Rng(8);
    const { model } = bp.fromOnnx(bp.toOnnx(bp.mlp([4, 8, 3], { rng }), { inputShape: [4] }));
    const x = bp.tensor(randomBatch(rng, 40), { shape: [10, 4] });
    const y = Int32Array.from({ length: 10 }, (_, i) => i % 3);
    const loss = () => bp.softmaxCrossEntropy(model.forward(x), y);
    const before = loss().item();
    const opt = new bp.SGD(model.parameters(), { lr: 0.1 });
    for (let i = 0; i < 20; i++) {
      opt.zeroGrad();
      bp.backward(loss());
      opt.step();
    }
    assert.ok(loss().item() < before * 0.8, `loss ${before} -> ${loss().item()}`);
  });

  /** A PyTorch-style graph: Gemm with W stored (out, in) and transB=1, float_data and DOUBLE initializers, a Constant node. */
  function torchStyle(): { bytes: Uint8Array; w1: number[][]; b1: number[]; w2: number[][]; b2: number[] } {
    const w1 = [
      [0.5, -1, 2],
      [1.5, 0.25, -0.75],
    ]; // (out=2, in=3)
    const b1 = [0.1, -0.2];
    const w2 = [
      [1, -1],
      [0.5, 2],
      [-3, 0.125],
      [0.75, 1],
    ]; // (out=4, in=2)
    const b2 = [0, 1, -1, 0.5];
    const model: bp.OnnxModel = {
      irVersion: 7,
      opsetImport: [{ domain: "", version: 13 }],
      producerName: "pytorch",
      metadataProps: [],
      graph: {
        name: "torch_jit",
        nodes: [
          bp.onnxNode(
            "Gemm",
            ["onnx::Gemm_0", "0.weight", "0.bias"],
            ["/0/Gemm_output_0"],
            [bp.attrFloat("alpha", 1), bp.attrFloat("beta", 1), bp.attrInt("transB", 1)],
            "/0/Gemm",
          ),
          bp.onnxNode("Tanh", ["/0/Gemm_output_0"], ["/1/Tanh_output_0"], [], "/1/Tanh"),
          bp.onnxNode("Constant", [], ["half"], [bp.attrTensor("value", { name: "", dims: [], dataType: bp.OnnxDataType.FLOAT, floatData: [0.5] })], "/c"),
          bp.onnxNode("Gemm", ["/1/Tanh_output_0", "2.weight", "2.bias"], ["/2/Gemm_output_0"], [bp.attrInt("transB", 1), bp.attrFloat("alpha", 2)], "/2/Gemm"),
          bp.onnxNode("Mul", ["/2/Gemm_output_0", "half"], ["logits"], [], "/3/Mul"),
          bp.onnxNode("Softmax", ["logits"], ["probs"], [bp.attrInt("axis", 1)], "/4/Softmax"),
        ],
        initializers: [
          { name: "0.weight", dims: [2, 3], dataType: bp.OnnxDataType.FLOAT, floatData: w1.flat() },
          { name: "0.bias", dims: [2], dataType: bp.OnnxDataType.FLOAT, floatData: b1 },
          bp.doubleTensor("2.weight", [4, 2], w2.flat()),
          bp.doubleTensor("2.bias", [4], b2),
        ],
        inputs: [bp.tensorValueInfo("onnx::Gemm_0", bp.OnnxDataType.FLOAT, ["N", 3])],
        outputs: [bp.tensorValueInfo("probs", bp.OnnxDataType.FLOAT, ["N", 4])],
        valueInfo: [],
      },
    };
    return { bytes: bp.encodeOnnx(model), w1, b1, w2, b2 };
  }

  it("reads a PyTorch-style Gemm(transB=1) graph with float_data and DOUBLE weights, alpha and a trailing Mul folded in", async () => {
    const { bytes, w1, b1, w2, b2 } = torchStyle();
    const r = bp.fromOnnx(bytes);
    assert.equal(r.dtype, "float64");
    assert.equal(r.softmax, true);
    assert.deepEqual(r.inputShape, [3]);
    assert.equal(r.preprocess, undefined);
    const [l1, act, l2] = r.model.layers as [bp.Linear, bp.Module, bp.Linear];
    assert.ok(act instanceof bp.Tanh);
    assert.deepEqual(l1.weight.shape, [3, 2]);
    assert.deepEqual(Array.from(l1.weight.data), [0.5, 1.5, -1, 0.25, 2, -0.75], "W transposed to (in, out)");
    assert.deepEqual(Array.from(l1.bias!.data), b1.map(Math.fround));
    // Gemm alpha=2 and the Mul by 0.5 fold into the second layer: W' = W^T, b' = b / 2.
    assert.deepEqual(Array.from(l2.weight.data), [1, 0.5, -3, 0.75, -1, 2, 0.125, 1]);
    assert.deepEqual(Array.from(l2.bias!.data), [0, 0.5, -0.5, 0.25]);
    // The imported float64 model against the graph's arithmetic written out: 0.5 * (2 * tanh(x W1^T + b1) W2^T + b2).
    const x = [0.3, -1.2, 2, 1, 0, -0.5];
    const got = bp.noGrad(() => r.model.forward(bp.tensor(x, { shape: [2, 3], dtype: "float64" })).data);
    for (let i = 0; i < 2; i++) {
      const h = w1.map((row, o) => Math.tanh(row.reduce((s, w, k) => s + w * x[i * 3 + k], 0) + Math.fround(b1[o])));
      w2.forEach((row, o) => {
        const want = 0.5 * (2 * row.reduce((s, w, k) => s + w * h[k], 0) + b2[o]);
        assert.ok(Math.abs(got[i * 4 + o] - want) < 1e-12, `row ${i} output ${o}: ${got[i * 4 + o]} vs ${want}`);
      });
    }
  });

  it("reads a model that PyTorch itself exported (torch.onnx.export), matching torch's outputs", { skip: noPythonTorch }, () => {
    const dir = mkdtempSync(join(tmpdir(), "onnx-torch-"));
    const out = execFileSync(
      PY,
      [
        "-c",
        `
import sys, json, torch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.LeakyReLU(0.1), torch.nn.Linear(6, 5), torch.nn.Sigmoid(), torch.nn.Linear(5, 3), torch.nn.Softmax(dim=1)).eval()
x = torch.randn(5, 4)
torch.onnx.export(net, x, sys.argv[1], input_names=["x"], output_names=["p"], dynamic_axes={"x": {0: "batch"}, "p": {0: "batch"}}, opset_version=13)
with torch.no_grad():
    print(json.dumps({"x": x.tolist(), "p": net(x).tolist()}))
`,
        join(dir, "torch.onnx"),
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    );
    const { x, p } = JSON.parse(out) as { x: number[][]; p: number[][] };
    const r = bp.fromOnnx(new Uint8Array(readFileSync(join(dir, "torch.onnx"))));
    assert.deepEqual(
      r.model.layers.map((l) => l.constructor.name),
      ["Linear", "LeakyReLU", "Linear", "Sigmoid", "Linear"],
    );
    assert.equal(r.softmax, true);
    const got = ours(r.model, Float32Array.from(x.flat()), [5, 4]);
    const diff = maxAbsDiff(got.probs, p.flat());
    assert.ok(diff < TOL, `vs torch: ${diff}`);
  });

  it("folds constant Sub/Mul/Add/Div before the first layer into a preprocess, and ORT agrees with it", async () => {
    const W = bp.floatTensor("W", [2, 2], [1, 2, 3, 4]);
    const model: bp.OnnxModel = {
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      metadataProps: [],
      graph: {
        name: "g",
        nodes: [
          bp.onnxNode("Sub", ["x", "m"], ["a"]),
          bp.onnxNode("Mul", ["s", "a"], ["b"]),
          bp.onnxNode("Add", ["b", "k"], ["c"]),
          bp.onnxNode("Div", ["c", "two"], ["e"]),
          bp.onnxNode("MatMul", ["e", "W"], ["y"]),
        ],
        initializers: [
          bp.floatTensor("m", [1, 2], [1, -1]),
          bp.floatTensor("s", [2], [4, 0.5]),
          bp.floatTensor("k", [], [3]),
          bp.floatTensor("two", [1], [2]),
          W,
        ],
        inputs: [bp.tensorValueInfo("x", bp.OnnxDataType.FLOAT, ["n", 2])],
        outputs: [bp.tensorValueInfo("y", bp.OnnxDataType.FLOAT, ["n", 2])],
        valueInfo: [],
      },
    };
    const r = bp.fromOnnx(model);
    // ((x - m) * s + 3) / 2 = (x - mean) / std with std = 2 / s, mean = m - 3 / s.
    assert.deepEqual(r.preprocess, { kind: "standardize", mean: [1 - 3 / 4, -1 - 3 / 0.5], std: [0.5, 4] });
    assert.equal(r.softmax, false);
    const x = Float32Array.from([2, 3, -1, 0.5]);
    const got = await runOrt(bp.encodeOnnx(model), x, [2, 2]);
    assert.ok(maxAbsDiff(got.y.data, ours(r.model, x, [2, 2], r.preprocess).logits) < TOL);
  });

  it("names unsupported operators and their nodes, and says what is not a chain", () => {
    const { bytes } = torchStyle();
    const m = bp.decodeOnnx(bytes);
    m.graph.nodes.splice(1, 0, bp.onnxNode("LRN", ["/0/Gemm_output_0"], ["lrn"], [], "/lrn1"), bp.onnxNode("GlobalMaxPool", ["lrn"], ["pool"]));
    assert.throws(
      () => bp.fromOnnx(m),
      (e: unknown) => e instanceof bp.OnnxError && /unsupported operators LRN \(node "\/lrn1"\), GlobalMaxPool \(node #2 \(unnamed\)\)/.test(e.message),
    );
    const custom = bp.decodeOnnx(bytes);
    custom.graph.nodes[1] = { ...custom.graph.nodes[1], domain: "com.microsoft", opType: "FusedTanh" };
    assert.throws(() => bp.fromOnnx(custom), /unsupported operator com\.microsoft\.FusedTanh \(node "\/1\/Tanh"\)/);
    const branch = bp.decodeOnnx(bytes);
    branch.graph.nodes[3] = { ...branch.graph.nodes[3], inputs: ["onnx::Gemm_0", "2.weight", "2.bias"] };
    assert.throws(() => bp.fromOnnx(branch), /Gemm node "\/2\/Gemm" does not continue the chain of layers from "\/1\/Tanh_output_0"/);
    const twoInputs = bp.decodeOnnx(bytes);
    twoInputs.graph.inputs.push(bp.tensorValueInfo("extra", bp.OnnxDataType.FLOAT, [1]));
    assert.throws(() => bp.fromOnnx(twoInputs), /one input \(besides its weights\), it has 2: onnx::Gemm_0, extra/);
    const after = bp.decodeOnnx(bytes);
    after.graph.nodes.push(bp.onnxNode("Relu", ["probs"], ["r"], [], "late"));
    assert.throws(() => bp.fromOnnx(after), /Relu node "late" follows the Softmax/);
    assert.throws(() => bp.fromOnnx(new Uint8Array([1, 2, 3])), bp.OnnxError);
    assert.throws(() => bp.fromOnnx(null as unknown as Uint8Array), /expected ONNX bytes/);
  });

  it("damaged files give an OnnxError, never a hang or another exception (fuzzed truncations and byte flips)", () => {
    const exported = bp.toOnnx(bp.mlp([4, 5, 3], { rng: new bp.Rng(2) }), { inputShape: [4], classes: ["a", "b", "c"] });
    for (const bytes of [exported, torchStyle().bytes]) {
      fc.assert(
        fc.property(fc.nat(bytes.length - 1), fc.nat(255), fc.boolean(), (at, byte, truncate) => {
          const bad = truncate ? bytes.subarray(0, at) : bytes.slice();
          if (!truncate) bad[at] = byte;
          try {
            const r = bp.fromOnnx(bad);
            assert.ok(r.model instanceof bp.Sequential); // a flip inside a weight or a name still reads
          } catch (e) {
            if (!(e instanceof bp.OnnxError)) throw e;
          }
        }),
        { numRuns: 300, seed: 42 },
      );
    }
  });
});

describe("backprop export --format onnx", () => {
  it("an iris model exported from the CLI gives, on raw flowers in ONNX Runtime, the classes and probabilities of our forward with the scaling", async () => {
    const dir = mkdtempSync(join(tmpdir(), "onnx-cli-"));
    const ckpt = join(dir, "iris.bp");
    const trained = await cli("train", "--dataset", "iris", "--hidden", "8", "--epochs", "15", "--batch", "16", "--lr", "0.05", "--save", ckpt);
    assert.equal(trained.code, 0, trained.err);

    // The scaling training applied: the training split's mean and (population) std, as prepareData computes them.
    const iris = loadIris();
    const raw = decodeCheckpoint(new Uint8Array(readFileSync(ckpt)));
    const meta = raw.meta as { seed: number; testFraction: number; preprocess?: { kind: string; mean: number[]; std: number[] } };
    const { train } = bp.trainTestSplit(iris, meta.testFraction, new bp.Rng(meta.seed));
    const n = train.y.length;
    const mean = [0, 1, 2, 3].map((j) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += train.x.data[i * 4 + j] / n;
      return s;
    });
    const std = [0, 1, 2, 3].map((j) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += (train.x.data[i * 4 + j] - mean[j]) ** 2 / n;
      return Math.sqrt(s) || 1;
    });
    if (meta.preprocess) {
      assert.equal(meta.preprocess.kind, "standardize");
      meta.preprocess.mean.forEach((v, j) => assert.ok(Math.abs(v - mean[j]) < 1e-6, `stored mean[${j}]`));
      meta.preprocess.std.forEach((v, j) => assert.ok(Math.abs(v - std[j]) < 1e-6, `stored std[${j}]`));
    } else {
      const unscaled = await cli("export", "--format", "onnx", "--model", ckpt, "--out", join(dir, "unscaled.onnx"));
      assert.equal(unscaled.code, 0, unscaled.err);
      assert.match(unscaled.err, /stores no input scaling/);
      // Checkpoints from before `train` stored its scaling: add it, as train now does.
      writeFileSync(ckpt, encodeCheckpoint(raw.tensors, { ...raw.meta, inputShape: [4], preprocess: { kind: "standardize", mean, std } }));
    }

    const out = join(dir, "sub", "iris.onnx");
    const r = await cli("export", "--format", "onnx", "--model", ckpt, "--out", out);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /wrote .*iris\.onnx \(ONNX opset 17, \d+ bytes\): 4-8-3 relu, input "input" \[batch, 4\] \(raw features.*over setosa, versicolor, virginica/,
    );
    const bytes = new Uint8Array(readFileSync(out));
    const onnx = bp.decodeOnnx(bytes);
    assert.deepEqual(JSON.parse(onnx.metadataProps.find((p) => p.key === "classes")!.value), iris.classes);

    const preprocess = { kind: "standardize" as const, mean, std };
    const lib = loadModel(ckpt).model;
    const x = Float32Array.from(iris.x.data);
    const got = await runOrt(bytes, x, [150, 4]);
    const want = ours(lib, x, [150, 4], preprocess);
    const diff = maxAbsDiff(got.probabilities.data, want.probs);
    console.log(`# iris, 150 raw flowers: ONNX Runtime vs backprop probabilities max |difference| ${diff.toExponential(2)}`);
    assert.ok(diff < TOL, `probabilities differ by ${diff}`);
    const argmax = (p: Float32Array, i: number) => [0, 1, 2].reduce((b, k) => (p[i * 3 + k] > p[i * 3 + b] ? k : b), 0);
    for (let i = 0; i < 150; i++) assert.equal(argmax(got.probabilities.data, i), argmax(want.probs, i), `flower ${i}`);
    const accuracy = iris.y.filter((y, i) => argmax(got.probabilities.data, i) === y).length / 150;
    assert.ok(accuracy > 0.8, `ONNX model accuracy on raw iris ${accuracy}`);
  });

  it("bad formats, files and outputs give one-line errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "onnx-cli-"));
    const r = await cli("export", "--format", "tflite", "--model", "x.bp", "--out", join(dir, "m"));
    assert.equal(r.code, 1);
    assert.match(r.err, /--format must be one of onnx.*got "tflite"/);
    const junk = join(dir, "junk.bp");
    writeFileSync(junk, "not a model");
    assert.match((await cli("export", "--format", "onnx", "--model", junk, "--out", join(dir, "m.onnx"))).err, /not a backprop checkpoint/);
    assert.match((await cli("export", "--format", "onnx", "--model", junk)).err, /--out/);
    const j = await cli("export", "--format", "onnx", "--model", junk, "--out", join(dir, "m.onnx"), "--json");
    assert.match(JSON.parse(j.out).error, /not a backprop checkpoint/);
  });
});
