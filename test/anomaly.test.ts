/** Anomaly mode: the first NaN or infinity of a forward value, a backward rule or an update throws, naming the op and the caller's line. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as bp from "../src/index.js";

/** "anomaly.test.ts:LINE" of the line `offset` lines below the one that calls this. */
function lineBelow(offset: number): string {
  const frame = (new Error().stack ?? "").split("\n")[2];
  const m = /anomaly\.test\.ts:(\d+)/.exec(frame);
  assert.ok(m, frame);
  return `anomaly.test.ts:${Number(m[1]) + offset}:`;
}

function anomaly(fn: () => unknown): bp.AnomalyError {
  try {
    bp.detectAnomaly(fn);
  } catch (e) {
    assert.ok(e instanceof bp.AnomalyError, `expected an AnomalyError, got ${String(e)}`);
    return e;
  }
  assert.fail("no AnomalyError was thrown");
}

describe("anomaly mode: forward values", () => {
  it("names the op, its shapes, the bad value and its index, finite inputs, and the caller's line", () => {
    let line = "";
    const e = anomaly(() => {
      const x = bp.tensor([1, 0, 2]);
      line = lineBelow(1);
      bp.log(x);
    });
    assert.equal(e.op, "log");
    assert.equal(e.pass, "forward");
    assert.match(
      e.message,
      /^anomaly: log of shapes \(3,\) gave -Infinity at flat index 1 of its output \(3,\): from finite inputs \(input 0 = 0\); called at /,
    );
    assert.ok(e.message.includes(line), `${e.message} should point at ${line}`);
    assert.ok(!/src[\\/]core/.test(e.site), e.site);
  });

  it("tells an overflow from an input that already held a NaN", () => {
    const overflow = anomaly(() => bp.exp(bp.tensor([1, 100])));
    assert.match(overflow.message, /exp of shapes \(2,\) gave Infinity at flat index 1 .*from finite inputs \(input 0 = 100\)/);
    const given = anomaly(() => bp.mul(bp.tensor([[1, NaN]]), bp.ones([3, 1])));
    assert.match(given.message, /mul of shapes \(1,2\), \(3,1\) gave NaN .*its input 0 \(shape \(1,2\)\) already holds NaN at flat index 1/);
  });

  it("checks the scalar fast paths too (one-element operands)", () => {
    const e = anomaly(() => bp.div(bp.tensor(1), 0));
    assert.match(e.message, /^anomaly: div of shapes \(\), \(\) gave Infinity/);
  });

  it("is off by default and after detectAnomaly returns or throws", () => {
    assert.equal(bp.isAnomalyDetectionEnabled(), false);
    assert.equal(bp.log(bp.tensor(0)).item(), -Infinity);
    anomaly(() => bp.log(bp.tensor(0)));
    assert.equal(bp.isAnomalyDetectionEnabled(), false);
    assert.equal(
      bp.detectAnomaly(() => bp.log(bp.tensor(1)).item()),
      0,
    );
    bp.setDetectAnomaly(true);
    try {
      assert.throws(() => bp.sqrt(bp.tensor(-1)), bp.AnomalyError);
    } finally {
      bp.setDetectAnomaly(false);
    }
    assert.ok(Number.isNaN(bp.sqrt(bp.tensor(-1)).item()));
  });
});

describe("anomaly mode: backward", () => {
  it("reports the first non-finite gradient with the line that created the op, not the backward call", () => {
    let line = "";
    const e = anomaly(() => {
      const x = bp.tensor([4, 0, 1], { requiresGrad: true });
      line = lineBelow(1);
      const y = bp.sqrt(x);
      bp.sum(bp.mul(y, 3)).backward();
    });
    assert.equal(e.op, "sqrt");
    assert.equal(e.pass, "backward");
    assert.match(
      e.message,
      /^anomaly: the backward of sqrt of shapes \(3,\) gave Infinity at flat index 1 of the gradient for input 0 \(shape \(3,\)\); the upstream gradient was finite; called at /,
    );
    assert.ok(e.message.includes(line), `${e.message} should point at ${line}`);
  });

  it("does not report ops inside a rule, only the rule's result, and passes a clean backward", () => {
    // d/dx x^0 at 0 computes 0^-1 = inf inside its rule but returns 0: nothing to report.
    const x = bp.tensor([0, 2], { requiresGrad: true, dtype: "float64" });
    bp.detectAnomaly(() => bp.sum(bp.pow(x, 0)).backward());
    assert.deepEqual([...x.grad!.data], [0, 0]);
  });

  it("says when the upstream gradient was already non-finite", () => {
    const e = anomaly(() => {
      const x = bp.tensor([1, 2], { requiresGrad: true });
      bp.mul(x, 2).backward(bp.tensor([1, Infinity]));
    });
    assert.match(e.message, /backward of mul .* the upstream gradient already held Infinity at flat index 1/);
  });
});

describe("anomaly mode: optimizer updates and training", () => {
  it("an update that overflows a parameter names the optimizer and the parameter", () => {
    const w = bp.tensor([1, 2], { requiresGrad: true });
    const opt = new bp.SGD([w], { lr: 1e38 });
    w.grad = bp.tensor([1e10, 0]);
    const e = anomaly(() => opt.step());
    assert.equal(e.pass, "update");
    assert.match(e.message, /the SGD step made parameter 0 \(shape \(2,\)\) -Infinity at flat index 0; its gradient there was 10000000000/);
  });

  it("fit with a diverging learning rate stops at the first anomaly instead of training on NaN", () => {
    const rng = new bp.Rng(0);
    const x = bp.randn([32, 4], { rng });
    const ds: bp.Dataset = { name: "blobs", x: bp.mul(x, 1e3), y: Int32Array.from({ length: 32 }, (_, i) => i % 3), classes: ["a", "b", "c"] };
    const model = bp.mlp([4, 8, 3], { rng });
    const e = anomaly(() => bp.fit(model, ds, { epochs: 5, batchSize: 8, optimizer: new bp.SGD(model.parameters(), { lr: 1e30 }), rng }));
    assert.match(e.message, /^anomaly: /);
  });
});

describe("BACKPROP_DETECT_ANOMALY=1", () => {
  it("switches the mode on for a whole process", () => {
    const dir = mkdtempSync(join(tmpdir(), "bp-anomaly-"));
    const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const script = join(dir, "run.ts");
    writeFileSync(script, `import * as bp from ${JSON.stringify(entry)};\nconsole.log(bp.isAnomalyDetectionEnabled());\nbp.log(bp.tensor([0]));\n`);
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ["--import", "tsx", script], { env: { ...process.env, ...env }, encoding: "utf8" });
    const on = run({ BACKPROP_DETECT_ANOMALY: "1" });
    assert.equal(on.status, 1, on.stderr);
    assert.match(on.stdout, /^true/);
    assert.match(on.stderr, /AnomalyError: anomaly: log of shapes \(1,\) gave -Infinity .*called at .*run\.ts:3/);
    const off = run({ BACKPROP_DETECT_ANOMALY: "0" });
    assert.equal(off.status, 0, off.stderr);
    assert.match(off.stdout, /^false/);
  });
});
