/** Issue 14, CLI side: no lost work, one-line errors, options checked before work, hardened checkpoints. */
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./cli-helper.js";
import * as bp from "../src/index.js";
import { CheckpointError, crc32, decodeCheckpoint, encodeCheckpoint } from "../src/nn/checkpoint.js";
import { cleanStaleTemporaries, modelFromCheckpoint, saveWithFallback, writeFileAtomic } from "../src/cli/files.js";
import { trainCommand, type TrainOptions } from "../src/cli/train.js";
import { isAnomalyDetectionEnabled } from "../src/core/anomaly.js";

const dir = mkdtempSync(join(tmpdir(), "backprop-reliability-"));
const tiny = ["train", "--dataset", "iris", "--epochs", "1", "--hidden", "4"];

/** An error is one line starting `error:` on stderr, nothing on stdout, exit 1. */
function assertOneLineError(r: { code: number; out: string; err: string }, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code (stderr: ${r.err})`);
  assert.equal(r.out, "", "nothing on stdout");
  assert.equal(r.err.split("\n").length, 1, `one line on stderr, got:\n${r.err}`);
  assert.match(r.err, /^error: /);
  assert.match(r.err, pattern);
  assert.doesNotMatch(r.err, /\.tmp\b|\n\s+at /, "no temporary file names, no stack traces");
}

/** Under --json: one object {"error": ...} on stdout, nothing on stderr, exit 1. */
function assertJsonError(r: { code: number; out: string; err: string }, pattern: RegExp): void {
  assert.equal(r.code, 1, `exit code (stdout: ${r.out}, stderr: ${r.err})`);
  assert.equal(r.err, "");
  const j = JSON.parse(r.out) as { error: string };
  assert.deepEqual(Object.keys(j), ["error"]);
  assert.match(j.error, pattern);
  assert.doesNotMatch(j.error, /^error:/);
}

describe("train: the save and plot paths are checked before training", () => {
  it("a directory as --save is an error before any epoch runs", async () => {
    const r = await cli(...tiny, "--save", dir);
    assertOneLineError(r, /--save: .* is a directory; give a file name/);
  });

  it("a missing folder is created", async () => {
    const model = join(dir, "runs", "a", "model.bp");
    const plot = join(dir, "plots", "b", "curves.svg");
    const r = await cli(...tiny, "--save", model, "--plot", plot);
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(model) && existsSync(plot));
  });

  it("a folder that is a file, an unwritable folder, empty names: errors before training", async () => {
    const file = join(dir, "plain.txt");
    writeFileSync(file, "x");
    assertOneLineError(await cli(...tiny, "--save", join(file, "model.bp")), /plain\.txt is not a folder/);
    // /sys refuses new files even to root, so this holds whoever runs the tests.
    assertOneLineError(await cli(...tiny, "--save", "/sys/model.bp"), /cannot write \/sys\/model\.bp/);
    assertOneLineError(await cli(...tiny, "--plot", "/sys/curves.svg"), /--plot: cannot write \/sys\/curves\.svg/);
    assertOneLineError(await cli(...tiny, "--plot", dir), /--plot: .* is a directory/);
    assertOneLineError(await cli(...tiny, "--save", ""), /--save needs a file name/);
    assertOneLineError(await cli(...tiny, "--plot", ""), /--plot needs a file name/);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith(".tmp")),
      [],
      "the write probes leave nothing behind",
    );
  });

  it("if the final write fails anyway, the model goes to a fallback file and the error says where", async () => {
    const target = join(dir, "late", "model.bp");
    const fallbackDir = join(dir, "rescue");
    mkdirSync(fallbackDir);
    const failing = (path: string, data: Uint8Array | string): void => {
      if (path === target) throw Object.assign(new Error(`EACCES: permission denied, open '${join(dir, "late", ".model.bp.1.2.tmp")}'`), { code: "EACCES" });
      writeFileAtomic(path, data);
    };
    const opts: TrainOptions = {
      dataset: "iris",
      hidden: "4",
      epochs: "1",
      batch: "16",
      lr: "0.1",
      optimizer: "sgd",
      momentum: "0.9",
      activation: "relu",
      seed: "0",
      testFraction: "0.2",
      save: target,
    };
    await assert.rejects(trainCommand(opts, { out: () => {}, err: () => {} }, { write: failing, fallbackDir }), (e: Error) => {
      assert.match(e.message, /^cannot write .*late\/model\.bp \(permission denied\); the trained model was saved to .*rescue\/model-\d+\.bp instead$/);
      assert.doesNotMatch(e.message, /\.tmp/);
      return true;
    });
    const saved = readdirSync(fallbackDir);
    assert.equal(saved.length, 1);
    const { model } = modelFromCheckpoint(new Uint8Array(readFileSync(join(fallbackDir, saved[0]))), "rescued");
    assert.equal(model.namedParameters()[0][1].shape.join(), "4,4");
  });

  it("saveWithFallback writes the bytes to the fallback file unchanged", () => {
    const fallbackDir = mkdtempSync(join(tmpdir(), "backprop-fallback-"));
    const bytes = new Uint8Array([1, 2, 3, 250]);
    const r = saveWithFallback(join(dir, "nowhere", "m.bp"), bytes, {
      write: () => {
        throw new Error("disk full");
      },
      fallbackDir,
    });
    assert.ok(r.fallback);
    assert.match(r.error ?? "", /disk full/);
    assert.deepEqual([...readFileSync(r.fallback)], [1, 2, 3, 250]);
  });

  it("writeFileAtomic names the target, never its temporary file", () => {
    assert.throws(
      () => writeFileAtomic("/sys/x.bp", "data"),
      (e: Error) => /\/sys\/x\.bp/.test(e.message) && !/\.tmp/.test(e.message),
    );
    assert.throws(
      () => writeFileAtomic(dir, "data"),
      (e: Error) => /is a directory/.test(e.message) && !/\.tmp/.test(e.message),
    );
  });
});

describe("stale temporaries of killed saves", () => {
  it("the next save to the same path removes ours whose process is gone or that are old, and nothing else", () => {
    const d = mkdtempSync(join(tmpdir(), "backprop-stale-"));
    const dead = 2 ** 30; // above Linux's pid_max, so no live process has it
    const now = Date.now();
    const files = {
      deadPid: `.model.bp.${dead}.${now}.tmp`,
      liveFresh: `.model.bp.${process.ppid}.${now}.tmp`,
      liveAncient: `.model.bp.${process.ppid}.1000.tmp`,
      otherTarget: `.other.bp.${dead}.${now}.tmp`,
      notOurs: `.model.bp.notes.tmp`,
      noDot: `model.bp.${dead}.${now}.tmp`,
    };
    for (const f of Object.values(files)) writeFileSync(join(d, f), "x".repeat(100));
    // And one left by a real process that has since exited (as a killed save would).
    execFileSync(process.execPath, [
      "-e",
      `require("fs").writeFileSync(${JSON.stringify(d)} + "/.model.bp." + process.pid + "." + Date.now() + ".tmp", "partial")`,
    ]);
    assert.equal(readdirSync(d).length, 7);
    writeFileAtomic(join(d, "model.bp"), "new");
    const left = new Set(readdirSync(d));
    assert.equal(readFileSync(join(d, "model.bp"), "utf8"), "new");
    assert.ok(!left.has(files.deadPid), "dead pid removed");
    assert.ok(!left.has(files.liveAncient), "older than a day removed");
    for (const keep of [files.liveFresh, files.otherTarget, files.notOurs, files.noDot]) assert.ok(left.has(keep), `${keep} kept`);
    assert.equal(left.size, 5);
    assert.equal(cleanStaleTemporaries(join(d, "model.bp")), 0, "nothing left to clean");
  });
});

describe("every CLI error is one line (or one JSON object)", () => {
  it("commander's usage errors", async () => {
    assertOneLineError(await cli("train", "--epoch", "3"), /^error: unknown option '--epoch' \(Did you mean --epochs\?\)$/);
    assertOneLineError(await cli("nope"), /^error: unknown command 'nope'$/);
    assertOneLineError(await cli(), /^error: no command given/);
    assertOneLineError(await cli("help", "nope"), /^error: unknown command 'nope'$/);
    assertOneLineError(await cli("predict"), /required option '--model <file>' not specified/);
    assertOneLineError(await cli("shapes"), /missing required argument 'operands'/);
  });

  it("--json turns every error into one JSON object on stdout", async () => {
    assertJsonError(await cli("train", "--json", "--bogus"), /^unknown option '--bogus'$/);
    assertJsonError(await cli("predict", "--json"), /required option '--model <file>' not specified/);
    assertJsonError(await cli("predict", "--json", "--model", join(dir, "missing.bp")), /missing\.bp: no such file/);
    assertJsonError(await cli("train", "--json", "--epochs", "0"), /--epochs needs an integer >= 1, got "0"/);
    assertJsonError(await cli("train", "--json", "--dataset", "cifar"), /--dataset must be digits or iris/);
    assertJsonError(await cli("explain", "x", "--at", "x=1", "--at", "x=2", "--format", "json"), /--at gives 'x' twice/);
  });

  it("an unexpected exception inside a command is one line, not a stack trace", async () => {
    const r = await cli("explain", "x", "--at", "x=1", "--out", "/sys/nope.txt");
    assert.equal(r.code, 1);
    assert.equal(r.err.split("\n").length, 1, r.err);
    assert.match(r.err, /^error: .*\/sys\/nope\.txt/);
  });
});

describe("options are checked before any work", () => {
  it("duplicate --at keys name the key; arrays with commas are not split", async () => {
    assertOneLineError(await cli("explain", "x", "--at", "x=1", "--at", "x=2"), /--at gives 'x' twice \(x=1 and x=2\)/);
    assertOneLineError(await cli("explain", "x", "--at", "x=1,x=2"), /--at gives 'x' twice/);
    assertOneLineError(await cli("explain", "sum(A)", "--at", "A=[[1,2],[3,4]],A=2"), /--at gives 'A' twice/);
    const ok = await cli("explain", "sum(A) + y", "--at", "A=[[1,2],[3,4]],y=1", "--json");
    assert.equal(ok.code, 0, ok.out);
    assert.equal(JSON.parse(ok.out).value, 11);
  });

  it("--momentum, --lr, --test-fraction", async () => {
    for (const m of ["abc", "1", "-0.1", "", "NaN"])
      assertOneLineError(await cli(...tiny, "--momentum", m), new RegExp(`--momentum needs a number in \\[0, 1\\), got "${m}"`));
    for (const lr of ["0", "-1", "abc", "Infinity", "", "0x10"]) assertOneLineError(await cli(...tiny, "--lr", lr), /--lr needs a positive number/);
    assertOneLineError(await cli(...tiny, "--test-fraction", "0.999"), /--test-fraction 0\.999 leaves no training example \(150 examples, 150 held out\)/);
    assertOneLineError(await cli(...tiny, "--test-fraction", "1"), /--test-fraction must be between 0 and 1/);
    assertOneLineError(await cli(...tiny, "--per-class", "5"), /--per-class applies to --dataset digits only/);
    const ok = await cli(...tiny, "--momentum", "0", "--lr", "1e-2", "--test-fraction", "0.5");
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /75 train, 75 test/);
  });

  it("counts are positive integers written in decimal", async () => {
    for (const flag of ["--epochs", "--batch", "--hidden", "--per-class"]) {
      for (const v of ["1.5", "1e3", "", " ", "0x10", "Infinity", "-1", "0"]) {
        const args = flag === "--per-class" ? ["train", "--dataset", "digits", flag, v] : [...tiny, flag, v];
        assertOneLineError(await cli(...args), new RegExp(`${flag} needs an integer >= 1`));
      }
    }
    for (const v of ["1.5", "-1", "", "abc", "4294967296"]) assertOneLineError(await cli(...tiny, "--seed", v), /--seed needs an integer from 0 to 4294967295/);
    assertOneLineError(await cli(...tiny, "--hidden", "8,,4"), /--hidden needs an integer >= 1/);
    assertOneLineError(await cli(...tiny, "--hidden", "100000000"), /--hidden layers are limited to 65536 units/);
    assertOneLineError(await cli("explain-model", "--batch", "1.5"), /--batch needs an integer >= 1/);
  });

  it("--model must be a regular checkpoint file: no hang on /dev/zero or a FIFO", async () => {
    assertOneLineError(await cli("predict", "--model", "/dev/zero"), /\/dev\/zero is not a regular file/);
    assertOneLineError(await cli("explain-model", "--model", "/dev/zero"), /\/dev\/zero is not a regular file/);
    assertOneLineError(await cli("predict", "--model", dir), /is a directory/);
    assertOneLineError(await cli("predict", "--model", join(dir, "absent.bp")), /absent\.bp: no such file/);
    const fifo = join(dir, "pipe.bp");
    execFileSync("mkfifo", [fifo]);
    assertOneLineError(await cli("predict", "--model", fifo), /pipe\.bp is not a regular file/);
    const junk = join(dir, "junk.bp");
    writeFileSync(junk, "not a model at all");
    assertOneLineError(await cli("explain-model", "--model", junk), /junk\.bp: not a backprop checkpoint/);
  });

  it("--detect-anomaly is accepted, training works, and the mode is switched off afterwards", async () => {
    const r = await cli(...tiny, "--detect-anomaly", "--json");
    assert.equal(r.code, 0, r.err);
    assert.ok(JSON.parse(r.out.split("\n").pop() ?? "").testAccuracy > 0);
    assert.equal(isAnomalyDetectionEnabled(), false);
  });

  it("--detect-anomaly turns a diverging run (lr 1e30) into one error line naming the op", async () => {
    const diverging = [...tiny, "--lr", "1e30", "--epochs", "2"];
    // Without the flag fit only sees the loss turn NaN, a step later and without the op.
    const plain = await cli(...diverging);
    assert.equal(plain.code, 1);
    assert.match(plain.err, /^error: fit: the loss became NaN/);
    const r = await cli(...diverging, "--detect-anomaly");
    assert.equal(r.code, 1);
    const lines = r.err.split("\n");
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], /^error: anomaly: matmul of shapes .* gave -?Infinity .*; called at /);
    assert.equal(isAnomalyDetectionEnabled(), false);
  });
});

/** Rebuilds a checkpoint around an edited manifest, with the data section unchanged and a fresh CRC. */
function withManifest(bytes: Uint8Array, edit: (m: Record<string, unknown> & { tensors: Record<string, unknown>[] }) => unknown): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getUint32(8, true);
  const manifest = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len)));
  const data = bytes.subarray((12 + len + 7) & ~7, bytes.length - 4);
  const result = edit(manifest);
  const json = new TextEncoder().encode(JSON.stringify(result === undefined ? manifest : result));
  const start = (12 + json.length + 7) & ~7;
  const out = new Uint8Array(start + data.length + 4);
  out.set(bytes.subarray(0, 8));
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(data, start);
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

describe("checkpoints: every size and offset is bounded before allocating", () => {
  let bytes: Uint8Array;
  before(() => {
    const model = bp.mlp([4, 3, 2], { rng: new bp.Rng(1) });
    bytes = encodeCheckpoint(model.namedParameters(), {
      architecture: { kind: "mlp", sizes: [4, 3, 2], activation: "relu" },
      dataset: "iris",
      classes: ["a", "b"],
      seed: 0,
      testFraction: 0.2,
    });
  });
  const rejects = (b: Uint8Array, pattern: RegExp) =>
    assert.throws(
      () => modelFromCheckpoint(b, "m.bp"),
      (e: Error) => e instanceof CheckpointError && pattern.test(e.message),
    );

  it("the untouched checkpoint loads", () => {
    const { model } = modelFromCheckpoint(bytes, "m.bp");
    assert.equal(model.namedParameters().length, 4);
  });

  it("a 16 GB tensor in the manifest is rejected without allocating it", () => {
    const huge = withManifest(bytes, (m) => {
      m.tensors[0].shape = [65536, 65536];
      m.tensors[0].byteLength = 65536 * 65536 * 4;
    });
    const t0 = performance.now();
    assert.throws(
      () => decodeCheckpoint(huge),
      (e: Error) => e instanceof CheckpointError && /tensor 'layers\.0\.weight'.*(needs more bytes than the file has|outside the data section)/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 500);
  });

  it("overlapping tensors, wrong byte lengths, bad shapes, bad entries", () => {
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[1].offset = m.tensors[0].offset;
      }),
      /tensors 'layers\.0\.weight' and 'layers\.0\.bias' overlap|'layers\.0\.bias' .* overlap/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[3].offset = 1_000_000;
      }),
      /tensor 'layers\.2\.bias' \(bytes 1000000 to 1000008\) lies outside the data section of 96 bytes/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[0].shape = [3, 3];
      }),
      /shape \(3,3\) float32 needs 36 bytes, the manifest says 48/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[0].shape = [-4, -3];
      }),
      /shape must be an array of non-negative integers/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[0].shape = [1.5, 8];
      }),
      /shape must be an array of non-negative integers/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[0].shape = "4,3";
      }),
      /shape must be an array of non-negative integers/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[0].offset = -8;
      }),
      /offset must be a non-negative integer/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[0].offset = "0";
      }),
      /offset must be a non-negative integer/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[1].name = m.tensors[0].name;
      }),
      /tensor 'layers\.0\.weight' appears twice/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[0] = null as unknown as Record<string, unknown>;
      }),
      /tensor entry 1 is not an object/,
    );
    rejects(
      withManifest(bytes, () => null),
      /unknown format or version/,
    );
    rejects(
      withManifest(bytes, () => [1, 2]),
      /unknown format or version/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.meta = "x";
      }),
      /meta must be an object/,
    );
  });

  it("a manifest whose tensors do not match its architecture is a CheckpointError, even when huge", () => {
    rejects(
      withManifest(bytes, (m) => {
        (m.meta as { architecture: { sizes: number[] } }).architecture.sizes = [4, 5, 2];
      }),
      /architecture 4-5-2 needs 37 parameters, the checkpoint has 23/,
    );
    const t0 = performance.now();
    rejects(
      withManifest(bytes, (m) => {
        (m.meta as { architecture: { sizes: number[] } }).architecture.sizes = [4, 1e9, 2];
      }),
      /architecture 4-1000000000-2 needs/,
    );
    assert.ok(performance.now() - t0 < 500);
    rejects(
      withManifest(bytes, (m) => {
        (m.meta as { architecture: { sizes: unknown } }).architecture.sizes = "4,3,2";
      }),
      /does not describe an MLP/,
    );
    rejects(
      withManifest(bytes, (m) => {
        (m.meta as { architecture: { activation: string } }).architecture.activation = "gelu";
      }),
      /unknown activation "gelu"/,
    );
    rejects(
      withManifest(bytes, (m) => {
        m.tensors[0].name = "layers.9.weight";
      }),
      /loadStateDict: tensor 'layers\.0\.weight' is missing/,
    );
  });
});
