/**
 * explain-model for convolutional networks (issue 20): parameter counts of Conv2d, BatchNorm and Linear
 * layers, and the backward pass layer by layer with the shape of every dout, dW, db, dx, each shape checked
 * against a real backward pass of the same model.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as bp from "../src/index.js";
import { cli } from "./cli-helper.js";

describe("the default CNN (bp.cnn)", () => {
  it("is unflatten to 1x28x28, conv 1->16 3x3 pad 1, relu, maxpool 2, conv 16->32, relu, maxpool 2, flatten, linear 1568->10; logits (N, 10) for flat digits", () => {
    const model = bp.cnn({ rng: new bp.Rng(1) });
    assert.equal(model.layers.length, 9);
    const out = model.forward(bp.zeros([3, 784]));
    assert.deepEqual(out.shape, [3, 10]);
    assert.throws(() => bp.cnn({ channels: [] }), /cnn: channels must be a non-empty list/);
  });

  it("parameter counts: conv weights O*C/groups*kh*kw and O biases; 20490 in all", () => {
    const c = bp.parameterCounts(bp.cnn({ rng: new bp.Rng(1) }));
    assert.deepEqual(
      c.layers.map((l) => [l.name, l.layer, l.weights, l.biases]),
      [
        ["layers.1", "Conv2d(1 -> 16, 3x3, padding 1)", 16 * 1 * 3 * 3, 16],
        ["layers.4", "Conv2d(16 -> 32, 3x3, padding 1)", 32 * 16 * 3 * 3, 32],
        ["layers.8", "Linear(1568 -> 10)", 1568 * 10, 10],
      ],
    );
    assert.deepEqual([c.weights, c.biases, c.total], [20432, 58, 20490]);
    // A grouped convolution without bias, a batch norm (γ as weights, β as biases) and a layer norm.
    const m = new bp.Sequential(new bp.Conv2d(4, 6, [3, 2], { groups: 2, bias: false }), new bp.BatchNorm2d(6), new bp.Flatten(), new bp.LayerNorm(6 * 3 * 4));
    const d = bp.parameterCounts(m);
    assert.deepEqual(
      d.layers.map((l) => [l.layer, l.weights, l.biases]),
      [
        ["Conv2d(4 -> 6, 3x2, groups 2)", 6 * 2 * 3 * 2, 0],
        ["BatchNorm2d(6)", 6, 6],
        ["LayerNorm(72)", 72, 72],
      ],
    );
    assert.equal(
      d.total,
      m.parameters().reduce((a, p) => a + p.size, 0),
    );
  });

  it("backward shapes: every dW and db has its parameter's shape and every dx its layer input's, as a real backward pass gives", () => {
    const model = bp.cnn({ rng: new bp.Rng(2) });
    const batch = 3;
    const lines = bp.backwardShapes(model, batch, 784, 10);
    // The real pass: each layer's dout and dx by the engine's VJP of that layer, and the parameters' gradients.
    const acts: bp.Tensor[] = [bp.randn([batch, 784], { rng: new bp.Rng(3) })];
    for (const l of model.layers) acts.push(bp.noGrad(() => l.forward(acts[acts.length - 1])));
    const grads: bp.Tensor[] = new Array<bp.Tensor>(acts.length);
    const [, lossBack] = bp.vjp((z) => bp.crossEntropy(z, [1, 2, 3]), acts[acts.length - 1]);
    grads[acts.length - 1] = lossBack(bp.scalar(1))[0]!;
    for (let i = model.layers.length - 1; i >= 0; i--) {
      const [, back] = bp.vjp((x) => model.layers[i].forward(x), acts[i]);
      grads[i] = back(grads[i + 1])[0]!;
    }
    bp.crossEntropy(model.forward(acts[0]), [1, 2, 3]).backward();
    const fmt = (t: bp.Tensor) => `(${t.shape.join(",")}${t.ndim === 1 ? "," : ""})`;
    const conv = model.layers[4] as bp.Conv2d;
    const convLine = lines[lines.indexOf("layers.4 Conv2d(16 -> 32, 3x3, padding 1): out = conv2d(x, W) + b") + 1];
    assert.equal(
      convLine,
      `  dout ${fmt(grads[5])} -> dW = correlation of x with dout, summed over the batch ${fmt(conv.weight.grad!)} (as W), db = sum of dout over N, H, W ${fmt(conv.bias!.grad!)} (as b), dx = transposed convolution of dout with W (the full convolution with W rotated 180 degrees at stride 1) ${fmt(grads[4])} (as x)`,
    );
    assert.equal(
      convLine,
      "  dout (3,32,14,14) -> dW = correlation of x with dout, summed over the batch (32,16,3,3) (as W), db = sum of dout over N, H, W (32,) (as b), dx = transposed convolution of dout with W (the full convolution with W rotated 180 degrees at stride 1) (3,16,14,14) (as x)",
    );
    assert.ok(
      lines.includes(`  dout ${fmt(grads[4])} -> dx = dout routed to the argmax of each 2x2 window, 0 elsewhere ${fmt(grads[3])} (as x)`),
      lines.join("\n"),
    );
    assert.ok(lines.includes(`  dout ${fmt(grads[8])} -> dx = dout reshaped back ${fmt(grads[7])} (as x)`), lines.join("\n"));
    assert.ok(lines.includes(`  dout ${fmt(grads[1])} -> dx = dout reshaped back ${fmt(grads[0])} (as x)`), lines.join("\n"));
    assert.ok(lines.includes("  dout (3,16,28,28) -> dx = dout * 1[x > 0] (3,16,28,28) (no parameters)"), lines.join("\n"));
  });
});

describe("backprop explain-model --arch cnn", () => {
  it("prints the counts and the backward pass layer by layer with shapes", async () => {
    const r = await cli("explain-model", "--arch", "cnn", "--batch", "64");
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^network cnn \(784 = 1x28x28 -> 10\): 20432 weights \+ 58 biases = 20490 parameters\n {2}layers\.1 Conv2d\(1 -> 16, 3x3, padding 1\): 144 weights, 16 biases\n/,
    );
    assert.match(
      r.out,
      /layers\.1 Conv2d\(1 -> 16, 3x3, padding 1\): out = conv2d\(x, W\) \+ b\n {4}dout \(64,16,28,28\) -> dW = correlation of x with dout, summed over the batch \(16,1,3,3\) \(as W\), db = sum of dout over N, H, W \(16,\) \(as b\), dx = .* \(64,1,28,28\) \(as x\)$/m,
    );
    assert.match(r.out, /layers\.8 Linear\(1568 -> 10\): out = x W \+ b\n {4}dout \(64,10\) -> dW = x\^T dout \(1568,10\)/);
    // Right to left: the last layer first.
    assert.ok(r.out.indexOf("layers.8 Linear") < r.out.indexOf("layers.1 Conv2d(1 -> 16, 3x3, padding 1): out"));
  });

  it("the MLP stays the default; wrong combinations are one-line errors", async () => {
    const m = await cli("explain-model", "--sizes", "8,10,3");
    assert.equal(m.code, 0);
    assert.match(m.out, /^network 8-10-3: 110 weights \+ 13 biases = 123 parameters\n {2}layers\.0 Linear\(8 -> 10\): 80 weights, 10 biases/);
    for (const [args, error] of [
      [["--arch", "rnn"], '--arch must be mlp or cnn, got "rnn"'],
      [["--arch", "cnn", "--sizes", "8,3"], "--sizes gives an MLP's layer sizes; --arch cnn has its own layers (leave --sizes out)"],
      [["--arch", "cnn", "--model", "m.bp"], "--model takes the architecture from the file; leave --arch out"],
    ] as const) {
      const r = await cli("explain-model", ...args);
      assert.equal(r.code, 1);
      assert.equal(r.err.trim(), `error: ${error}`);
    }
  });

  it("a huge --batch allocates nothing: shapes come from one example", async () => {
    const r = await cli("explain-model", "--arch", "cnn", "--batch", "1000000000");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /dout \(1000000000,16,28,28\)/);
  });
});
