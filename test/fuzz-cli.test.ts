/**
 * Fuzzing the CLI and the checkpoint reader (issue 14): random argument lists always end with exit 0 or 1
 * and a well-formed error (one `error:` line, or one JSON object under --json), never a throw; damaged
 * checkpoints either load exactly what their bytes say or throw CheckpointError, never anything else.
 * Runs are bounded (training runs are iris, 1-2 epochs, or 3 digits per class) to stay well under 60 s.
 */
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { cli } from "./cli-helper.js";
import * as bp from "../src/index.js";
import { CheckpointError, crc32, decodeCheckpoint, encodeCheckpoint } from "../src/nn/checkpoint.js";
import { loadModel, modelFromCheckpoint } from "../src/cli/files.js";

const dir = mkdtempSync(join(tmpdir(), "backprop-fuzz-cli-"));
const paths = {
  model: join(dir, "good.bp"),
  junk: join(dir, "junk.bp"),
  folder: join(dir, "folder"),
  fifo: join(dir, "fifo.bp"),
  missing: join(dir, "missing.bp"),
};

const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
const opt = (flag: string, ...values: string[]) => pick(...values).map((v) => [flag, v]);
const flag = (f: string) => fc.constant([f]);

const trainOption = fc.oneof(
  fc.constant(["--dataset", "digits", "--per-class", "3"]),
  opt("--dataset", "iris", "cifar", ""),
  opt("--epochs", "1", "2", "0", "1.5", "x", "", "1e3"),
  opt("--hidden", "4", "2,3", "0", "a", "4,,2", "100000000", ""),
  opt("--batch", "16", "0", "1e3", "-3", "150"),
  opt("--lr", "0.1", "0", "-1", "abc", "1e30", "Infinity"),
  opt("--optimizer", "sgd", "adam", "rmsprop"),
  opt("--momentum", "0", "0.5", "1", "abc", "-0"),
  opt("--activation", "relu", "tanh", "gelu"),
  opt("--seed", "0", "7", "-1", "4294967296", "0x10"),
  opt("--test-fraction", "0.2", "0.999", "0", "1", "abc"),
  opt("--per-class", "2", "0", "x"),
  opt("--save", join(dir, "out", "m.bp"), paths.folder, "", "/sys/m.bp", join(paths.junk, "m.bp")),
  opt("--plot", join(dir, "plot.svg"), paths.folder, "", "/sys/p.svg"),
  flag("--detect-anomaly"),
  flag("--json"),
  flag("--bogus"),
  flag("stray"),
);
const modelPath = pick(paths.model, paths.junk, paths.folder, paths.fifo, paths.missing, "/dev/zero", "");
const explainOption = fc.oneof(
  opt("--at", "x=1", "y=2", "x=1,x=2", "A=[[1,2],[3,4]]", "A=[[1,2],[3,4]],y=1", "x=", "=1", "x=[1,2", "q", "pi=1", "x=1e400"),
  opt("--format", "table", "json", "markdown", "latex", "dot", "mermaid", "tikz", "python", "ts", "svg", "gif"),
  opt("--step", "0.1", "abc", ""),
  opt("--mode", "forward", "reverse", "sideways", ""),
  opt("--seed-input", "x", "y", "q", ""),
  opt("--out", join(dir, "explained.txt"), "/sys/e.txt", paths.folder),
  flag("--check"),
  flag("--json"),
  flag("--bogus"),
);

/** A command with 0-6 options in random order; a few bare or misspelled invocations too. */
const argvArb: fc.Arbitrary<string[]> = fc.oneof(
  fc
    .tuple(fc.constant(["train", "--dataset", "iris", "--epochs", "1", "--hidden", "4"]), fc.array(trainOption, { maxLength: 5 }))
    .map(([head, o]) => [...head, ...o.flat()]),
  fc
    .tuple(pick("x", "x + y", "(x", "sum(A)", "ln(x) * y", "x^2", "1/x", "x +* y", ""), fc.array(explainOption, { maxLength: 5 }))
    .map(([p, o]) => ["explain", p, ...o.flat()]),
  fc.array(pick("(4,2)", "+", "@", "(2,4,1)", "(3,)", "x", "()", "**", "%", "--json", "--bogus"), { maxLength: 6 }).map((t) => ["shapes", ...t]),
  fc.tuple(modelPath, fc.array(pick("--json", "--bogus"), { maxLength: 2 })).map(([m, o]) => ["predict", "--model", m, ...o]),
  fc.array(pick("--json", "--bogus"), { maxLength: 2 }).map((o) => ["predict", ...o]),
  fc
    .tuple(
      modelPath,
      pick(
        "[5.1,3.5,1.4,0.2]",
        "[[1,2,3,4],[1,2]]",
        "[]",
        '{"a":1}',
        "[1e999,1,1,1]",
        "[1,",
        "7",
        paths.junk,
        paths.folder,
        paths.fifo,
        paths.missing,
        "/dev/zero",
        "",
      ),
      fc.array(pick("--json", "--bogus"), { maxLength: 1 }),
    )
    .map(([m, i, o]) => ["predict", "--model", m, "--input", i, ...o]),
  fc
    .tuple(
      pick("onnx", "safetensors", "pytorch", "tflite", ""),
      modelPath,
      pick(join(dir, "x.out"), join(dir, "torch"), paths.folder, paths.junk, "/sys/x", ""),
      fc.array(fc.oneof(flag("--json"), opt("--layout", "pytorch", "backprop", "nchw"), opt("--data", paths.junk, paths.missing)), { maxLength: 2 }),
    )
    .map(([f, m, out, o]) => ["export", "--format", f, "--model", m, "--out", out, ...o.flat()]),
  fc
    .tuple(
      fc.array(
        fc.oneof(
          opt("--sizes", "8,10,3", "a", "1", "0,3", "100000000,2", ""),
          opt("--batch", "4", "0", "x"),
          modelPath.map((m) => ["--model", m]),
          flag("--json"),
        ),
        { maxLength: 3 },
      ),
    )
    .map(([o]) => ["explain-model", ...o.flat()]),
  fc.array(pick("help", "bogus", "--json", "--help", "--version", "-V", "train", "--epoch", "explain"), { maxLength: 3 }),
);

/** The same reading of --json as runCli's: the flag, or explain's last --format being json. */
function jsonMode(argv: readonly string[]): boolean {
  const formats = argv.flatMap((a, i) => (a === "--format" ? [argv[i + 1]] : []));
  return argv.includes("--json") || formats[formats.length - 1] === "json";
}

/** explain's own syntax errors show the input with a caret under the column (three lines, by design). */
const CARET = /^error: syntax error at column \d+: [^\n]*\n {2}[^\n]*\n *\^$/;

function checkResult(argv: readonly string[], r: { code: number; out: string; err: string }): void {
  const where = `argv ${JSON.stringify(argv)} -> ${JSON.stringify(r)}`;
  assert.ok(r.code === 0 || r.code === 1, `exit code: ${where}`);
  const helpOrVersion = argv.some((a) => ["--help", "-h", "--version", "-V", "help"].includes(a));
  if (r.code === 1 && jsonMode(argv)) {
    const lines = r.out.split("\n");
    assert.equal(lines.length, 1, `one JSON line on stdout: ${where}`);
    const j = JSON.parse(lines[0]) as { error?: unknown };
    assert.equal(typeof j.error, "string", where);
  } else if (r.code === 1) {
    const lines = r.err.split("\n").filter((l) => !l.startsWith("warning: "));
    if (argv[0] === "explain" && CARET.test(r.err)) return;
    assert.equal(lines.length, 1, `one line on stderr: ${where}`);
    assert.match(lines[0], /^error: \S/, where);
  } else if (jsonMode(argv) && !helpOrVersion) {
    const last = r.out.split("\n").pop() ?? "";
    assert.doesNotThrow(() => {
      try {
        JSON.parse(r.out);
      } catch {
        JSON.parse(last);
      }
    }, `stdout is JSON: ${where}`);
  }
  assert.doesNotMatch(r.err + r.out, /\n\s+at \S+ \(|\.tmp\b/, `no stack trace, no temporary file: ${where}`);
}

describe("fuzz: random CLI arguments", () => {
  before(async () => {
    mkdirSync(paths.folder);
    writeFileSync(paths.junk, "not a checkpoint at all");
    execFileSync("mkfifo", [paths.fifo]);
    const r = await cli("train", "--dataset", "iris", "--epochs", "1", "--hidden", "4", "--save", paths.model);
    assert.equal(r.code, 0, r.err);
  });

  it("exit 0 or 1, one error line (or one JSON object), never a throw", async () => {
    await fc.assert(
      fc.asyncProperty(argvArb, async (argv) => {
        checkResult(argv, await cli(...argv));
      }),
      { numRuns: 150 },
    );
  });
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Manifest {
  meta: { architecture: { sizes: Json } } & Record<string, Json>;
  tensors: Record<string, Json>[];
}

function manifestOf(bytes: Uint8Array): { manifest: Manifest; dataStart: number } {
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  return { manifest: JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as Manifest, dataStart: (12 + len + 7) & ~7 };
}

/** The file with an edited manifest and a fresh CRC, the data section unchanged: only the loader's checks can catch it. */
function rebuild(bytes: Uint8Array, manifest: Manifest): Uint8Array {
  const { dataStart } = manifestOf(bytes);
  const data = bytes.subarray(dataStart, bytes.length - 4);
  const json = new TextEncoder().encode(JSON.stringify(manifest));
  const start = (12 + json.length + 7) & ~7;
  const out = new Uint8Array(start + data.length + 4);
  out.set(bytes.subarray(0, 8));
  const view = new DataView(out.buffer);
  view.setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(data, start);
  view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

const FIELD_VALUES: Json[] = [
  -1,
  0,
  1,
  7,
  8,
  12,
  48,
  64,
  88,
  1e9,
  2 ** 53,
  2 ** 60,
  1.5,
  "x",
  null,
  true,
  [],
  [4, 3],
  [3, 4],
  [3],
  [2],
  [1e9, 1e9],
  [65536, 65536],
  [-1],
  [1.5],
  {},
  "float64",
  "float32",
  "layers.0.weight",
  "layers.2.bias",
];

type Damage =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "truncate"; keep: number }
  | { kind: "append"; extra: number[] }
  | { kind: "edit"; tensor: number; field: string; value: Json }
  | { kind: "sizes"; value: Json }
  | { kind: "drop"; tensor: number }
  | { kind: "duplicate"; tensor: number }
  | { kind: "jsonLength"; value: number };

const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), keep: fc.nat() }),
  fc.record({ kind: fc.constant("append" as const), extra: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }) }),
  fc.record({
    kind: fc.constant("edit" as const),
    tensor: fc.integer({ min: 0, max: 3 }),
    field: pick("offset", "byteLength", "shape", "dtype", "name"),
    value: pick(...FIELD_VALUES),
  }),
  fc.record({
    kind: fc.constant("sizes" as const),
    value: pick<Json>([4, 3, 2], [4, 5, 2], [4, 1e9, 2], [4, 2], [3, 4, 2], "4,3,2", [], [4, 0, 2], [4, 3.5, 2], null),
  }),
  fc.record({ kind: fc.constant("drop" as const), tensor: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("duplicate" as const), tensor: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("jsonLength" as const), value: fc.nat({ max: 0xffffffff }) }),
);

function damage(bytes: Uint8Array, d: Damage): Uint8Array {
  const out = bytes.slice();
  const { manifest } = manifestOf(bytes);
  switch (d.kind) {
    case "flip":
      out[d.at % out.length] ^= 1 << d.bit;
      return out;
    case "truncate":
      return out.subarray(0, d.keep % out.length);
    case "append":
      return Uint8Array.from([...out, ...d.extra]);
    case "jsonLength":
      new DataView(out.buffer).setUint32(8, d.value, true);
      return out;
    case "edit":
      manifest.tensors[d.tensor][d.field] = d.value;
      return rebuild(bytes, manifest);
    case "sizes":
      manifest.meta.architecture.sizes = d.value;
      return rebuild(bytes, manifest);
    case "drop":
      manifest.tensors.splice(d.tensor, 1);
      return rebuild(bytes, manifest);
    case "duplicate":
      manifest.tensors.push({ ...manifest.tensors[d.tensor] });
      return rebuild(bytes, manifest);
  }
}

/** What the bytes say a tensor holds: read independently of the loader, at the manifest's range. */
function declaredValues(bytes: Uint8Array, name: string): number[] {
  const { manifest, dataStart } = manifestOf(bytes);
  const e = manifest.tensors.find((t) => t.name === name);
  assert.ok(e, `tensor ${name} is in the manifest`);
  const step = e.dtype === "float64" ? 8 : 4;
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart + (e.offset as number), e.byteLength as number);
  return Array.from({ length: (e.byteLength as number) / step }, (_, k) => (step === 8 ? view.getFloat64(k * 8, true) : view.getFloat32(k * 4, true)));
}

describe("fuzz: damaged checkpoints", () => {
  const model = bp.mlp([4, 3, 2], { rng: new bp.Rng(5) });
  const original = encodeCheckpoint(model.namedParameters(), {
    architecture: { kind: "mlp", sizes: [4, 3, 2], activation: "relu" },
    dataset: "iris",
    classes: ["a", "b"],
    seed: 0,
    testFraction: 0.2,
  });
  const file = join(dir, "damaged.bp");

  it("load what the bytes say, or throw CheckpointError; never RangeError or TypeError, never slowly", () => {
    fc.assert(
      fc.property(damageArb, (d) => {
        const bytes = damage(original, d);
        const t0 = performance.now();
        let loaded: ReturnType<typeof modelFromCheckpoint> | null = null;
        try {
          loaded = modelFromCheckpoint(bytes, "fuzz.bp");
        } catch (e) {
          assert.ok(e instanceof CheckpointError, `${(e as Error).name}: ${(e as Error).message} for ${JSON.stringify(d)}`);
        }
        assert.ok(performance.now() - t0 < 250, `took ${performance.now() - t0} ms for ${JSON.stringify(d)}`);
        if (loaded) {
          for (const [name, p] of loaded.model.namedParameters())
            assert.deepEqual(Array.from(p.data), declaredValues(bytes, name), `${name} for ${JSON.stringify(d)}`);
        }
        // The file route (size bounds, header read) agrees with the in-memory one.
        writeFileSync(file, bytes);
        try {
          const fromFile = loadModel(file);
          assert.ok(loaded, `loadModel accepted what modelFromCheckpoint refused: ${JSON.stringify(d)}`);
          assert.deepEqual(
            fromFile.model.namedParameters().map(([, p]) => Array.from(p.data)),
            loaded.model.namedParameters().map(([, p]) => Array.from(p.data)),
          );
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          assert.ok(e instanceof CheckpointError, `${(e as Error).name}: ${(e as Error).message}`);
          assert.equal(loaded, null, `loadModel refused what modelFromCheckpoint accepted: ${(e as Error).message}`);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("decodeCheckpoint alone: tensors inside the file, or CheckpointError", () => {
    fc.assert(
      fc.property(damageArb, (d) => {
        const bytes = damage(original, d);
        try {
          const { tensors } = decodeCheckpoint(bytes);
          for (const [name, t] of tensors) assert.deepEqual(Array.from(t.data), declaredValues(bytes, name));
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
          assert.ok(e instanceof CheckpointError, `${(e as Error).name}: ${(e as Error).message} for ${JSON.stringify(d)}`);
        }
      }),
      { numRuns: 400 },
    );
  });
});
