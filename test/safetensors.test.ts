/**
 * safetensors: round trips, the two weight layouts, every rule of the format checked on damaged files,
 * the dtypes read, and files exchanged with PyTorch. Torch 1.13 (Debian's) has no `safetensors`
 * package, so the "PyTorch" files here are written by a few lines of Python from torch tensors' own
 * bytes and a JSON header, and our files are read back the same way (struct + json + torch.frombuffer).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as bp from "../src/index.js";
import { DEBIAN_PYTHON, pythonLacks } from "./python.js";

const PY = DEBIAN_PYTHON;
const torchMissing = pythonLacks("torch, numpy", "python3-torch python3-numpy");
if (torchMissing) console.log(`skipping the PyTorch exchange tests: ${torchMissing}`);

/** A file from a header object and raw data bytes, for building damaged files rule by rule. */
function file(header: unknown, data: Uint8Array | number[] = [], headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);

function rejects(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => bp.decodeSafetensors(bytes),
    (e: unknown) => e instanceof bp.SafetensorsError && pattern.test(e.message),
    `expected ${pattern}`,
  );
}

describe("safetensors: writing and reading", () => {
  it("round-trips named float32 and float64 tensors (scalars and empty ones too) with metadata", () => {
    const tensors = new Map<string, bp.Tensor>([
      [
        "a",
        bp.tensor([
          [1.5, -2],
          [3, 4e-8],
        ]),
      ],
      ["b.c", bp.tensor([Math.PI, -0, 1e300], { dtype: "float64" })],
      ["scalar", bp.tensor(7)],
      ["empty", bp.zeros([0, 3])],
    ]);
    const bytes = bp.encodeSafetensors(tensors, { note: "hi", "with space": "x y" });
    const n = new DataView(bytes.buffer).getUint32(0, true);
    assert.equal((8 + n) % 8, 0, "the data starts 8-byte aligned");
    const back = bp.decodeSafetensors(bytes);
    assert.deepEqual([...back.tensors.keys()], ["a", "b.c", "scalar", "empty"]);
    assert.deepEqual(back.metadata, { note: "hi", "with space": "x y" });
    assert.deepEqual(back.dtypes.get("b.c"), "F64");
    for (const [name, t] of tensors) {
      const u = back.tensors.get(name)!;
      assert.deepEqual(u.shape, t.shape, name);
      assert.equal(u.dtype, t.dtype, name);
      assert.deepEqual(Array.from(u.data), Array.from(t.data), name);
    }
  });

  it("saveSafetensors / loadSafetensorsInto: backprop layout by default, PyTorch's (weights transposed) on request", () => {
    const model = bp.mlp([3, 4, 2], { rng: new bp.Rng(1) });
    const own = bp.decodeSafetensors(bp.saveSafetensors(model));
    assert.equal(own.metadata["backprop.layout"], "backprop");
    assert.deepEqual(own.tensors.get("layers.0.weight")!.shape, [3, 4]);
    const pt = bp.decodeSafetensors(bp.saveSafetensors(model, { layout: "pytorch", metadata: { who: "test" } }));
    assert.deepEqual(pt.metadata, { who: "test", "backprop.layout": "pytorch", format: "pt" });
    const w = model.stateDict().get("layers.0.weight")!;
    const wt = pt.tensors.get("layers.0.weight")!;
    assert.deepEqual(wt.shape, [4, 3]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) assert.equal(wt.data[j * 3 + i], w.data[i * 4 + j]);
    assert.deepEqual(Array.from(pt.tensors.get("layers.2.bias")!.data), Array.from(model.stateDict().get("layers.2.bias")!.data));

    for (const layout of ["backprop", "pytorch"] as const) {
      const other = bp.mlp([3, 4, 2], { rng: new bp.Rng(2) });
      const meta = bp.loadSafetensorsInto(other, bp.saveSafetensors(model, { layout }));
      assert.equal(meta["backprop.layout"], layout);
      for (const [name, p] of model.stateDict()) assert.deepEqual(Array.from(other.stateDict().get(name)!.data), Array.from(p.data), `${layout} ${name}`);
    }
    // Without the layout key (a file from elsewhere) the file is taken to be in PyTorch's layout.
    const foreign = bp.encodeSafetensors(bp.decodeSafetensors(bp.saveSafetensors(model, { layout: "pytorch" })).tensors);
    const third = bp.mlp([3, 4, 2], { rng: new bp.Rng(3) });
    bp.loadSafetensorsInto(third, foreign);
    assert.deepEqual(Array.from(third.stateDict().get("layers.0.weight")!.data), Array.from(w.data));
    assert.throws(
      () => bp.loadSafetensorsInto(bp.mlp([3, 4, 2]), foreign, { layout: "backprop" }),
      /tensor 'layers.0.weight' has shape \(4,3\) in the file but \(3,4\) in the model \(read in the backprop layout/,
    );
    assert.throws(() => bp.loadSafetensorsInto(bp.mlp([3, 5, 2]), foreign), /layers.0.weight/);
    assert.throws(() => bp.saveSafetensors(model.stateDict(), { layout: "pytorch" }), /needs the Module/);
    assert.throws(
      () =>
        bp.encodeSafetensors([
          ["x", bp.tensor([1])],
          ["x", bp.tensor([2])],
        ]),
      /tensor 'x' is given twice/,
    );
  });

  it("reads F16, BF16 and the integer dtypes, exactly", () => {
    const data = new Uint8Array(2 * 4 + 2 * 2 + 8 * 2 + 4 * 2 + 2 + 1 + 1 + 2);
    const v = new DataView(data.buffer);
    [0x3c00, 0xc000, 0x0001, 0x7c00].forEach((h, i) => v.setUint16(2 * i, h, true)); // 1, -2, 2^-24, inf
    [0x3f80, 0x4049].forEach((h, i) => v.setUint16(8 + 2 * i, h, true)); // 1, 3.140625
    v.setBigInt64(12, 2n ** 53n - 1n, true);
    v.setBigInt64(20, -5n, true);
    v.setInt32(28, -2147483648, true);
    v.setInt32(32, 16777217, true); // not a float32: read into float64
    v.setInt16(36, -300, true);
    v.setInt8(38, -7);
    v.setUint8(39, 200);
    v.setUint8(40, 1);
    v.setUint8(41, 0);
    const header = {
      h: { dtype: "F16", shape: [4], data_offsets: [0, 8] },
      b: { dtype: "BF16", shape: [2], data_offsets: [8, 12] },
      l: { dtype: "I64", shape: [2], data_offsets: [12, 28] },
      i: { dtype: "I32", shape: [2], data_offsets: [28, 36] },
      s: { dtype: "I16", shape: [], data_offsets: [36, 38] },
      c: { dtype: "I8", shape: [1], data_offsets: [38, 39] },
      u: { dtype: "U8", shape: [1], data_offsets: [39, 40] },
      t: { dtype: "BOOL", shape: [2], data_offsets: [40, 42] },
    };
    const { tensors, dtypes } = bp.decodeSafetensors(file(header, data));
    const values = (k: string) => Array.from(tensors.get(k)!.data);
    assert.deepEqual(values("h"), [1, -2, 2 ** -24, Infinity]);
    assert.deepEqual(values("b"), [1, 3.140625]);
    assert.deepEqual(values("l"), [2 ** 53 - 1, -5]);
    assert.deepEqual(values("i"), [-2147483648, 16777217]);
    assert.equal(tensors.get("l")!.dtype, "float64");
    assert.equal(tensors.get("h")!.dtype, "float32");
    assert.deepEqual([values("s"), values("c"), values("u"), values("t")], [[-300], [-7], [200], [1, 0]]);
    assert.equal(dtypes.get("b"), "BF16");
    v.setBigInt64(12, 2n ** 53n + 1n, true);
    rejects(file(header, data), /tensor 'l': I64 element 0 \(9007199254740993\) is outside ±2\^53/);
  });
});

describe("safetensors: damaged files are refused, naming what is wrong", () => {
  const good = { w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  const data = f32([1, 2]);

  it("the header length: present, within 100 MB and within the file", () => {
    assert.deepEqual(Array.from(bp.decodeSafetensors(file(good, data)).tensors.get("w")!.data), [1, 2]);
    rejects(new Uint8Array(5), /5 bytes, fewer than the 8/);
    const huge = file(good, data);
    new DataView(huge.buffer).setUint32(0, 100_000_001, true);
    rejects(huge, /header length 100000001 is more than the 100000000 bytes allowed/);
    new DataView(huge.buffer).setUint32(0, 1, true);
    new DataView(huge.buffer).setUint32(4, 1, true);
    rejects(huge, /header length 4294967297/);
    const long = file(good, data);
    new DataView(long.buffer).setUint32(0, long.length, true);
    rejects(long, /the header needs \d+ bytes after the first 8, the file has \d+: it is truncated/);
    rejects(file(null, [], ""), /header is empty/);
  });

  it("the header: a JSON object in UTF-8, no name twice, metadata of strings", () => {
    rejects(file(null, [], '[{"a": 1}]'), /must begin with '\{'/);
    rejects(file(null, [], '{"w": '), /not valid JSON/);
    const bad = file(null, [], '{"w":"\xff"}');
    bad.set([0xc3, 0x28], 14);
    rejects(bad, /not valid UTF-8/);
    const twice = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}, "w" :{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    rejects(file(null, data, twice), /tensor 'w' appears twice in the header/);
    // A repeated key nested inside a value is not a repeated tensor; a quoted brace does not confuse the scan.
    const nested = '{"__metadata__":{"k":"{\\"w\\":"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    assert.equal(bp.decodeSafetensors(file(null, data, nested)).metadata.k, '{"w":');
    rejects(file({ __metadata__: { n: 3 }, ...good }, data), /__metadata__ 'n' must be a string, got 3/);
    rejects(file({ __metadata__: ["x"], ...good }, data), /__metadata__ must be an object/);
    // Padding with spaces after the JSON (as the reference writer aligns) is fine.
    assert.equal(bp.decodeSafetensors(file(null, data, JSON.stringify(good) + "     ")).tensors.size, 1);
  });

  it("each entry: a known dtype, a shape, two offsets that match the shape's bytes", () => {
    rejects(file({ w: [1] }, data), /tensor 'w': its header entry is not an object/);
    rejects(file({ w: { ...good.w, dtype: "F128" } }, data), /tensor 'w': unknown dtype "F128"/);
    rejects(file({ w: { ...good.w, dtype: "U32" } }, data), /tensor 'w': dtype U32 is not supported/);
    rejects(file({ w: { ...good.w, shape: [-2] } }, data), /tensor 'w': shape must be an array/);
    rejects(file({ w: { ...good.w, shape: [1.5] } }, data), /tensor 'w': shape must be an array/);
    rejects(file({ w: { ...good.w, data_offsets: [0] } }, data), /tensor 'w': data_offsets must be two non-negative integers/);
    rejects(file({ w: { ...good.w, data_offsets: [8, 0] } }, data), /tensor 'w': data_offsets \[8, 0\] end before they begin/);
    rejects(file({ w: { ...good.w, shape: [3] } }, data), /tensor 'w': shape \(3\) of F32 needs 12 bytes, its data_offsets \[0, 8\] hold 8/);
    rejects(file({ w: { ...good.w, dtype: "F64" } }, data), /tensor 'w': shape \(2\) of F64 needs 16 bytes/);
    // A shape of 2^80 elements is bounded while multiplying, not allocated.
    rejects(
      file({ w: { ...good.w, shape: [2 ** 40, 2 ** 40] } }, data),
      /tensor 'w': shape \(1099511627776, 1099511627776\) of F32 needs more bytes than the file has/,
    );
  });

  it("the data: every byte in exactly one tensor, nothing past the end, nothing after the last", () => {
    rejects(file(good, data.subarray(0, 6)), /tensor 'w': data_offsets \[0, 8\] lie past the end of the data \(6 bytes\): the file is truncated/);
    const two = (a: number[], b: number[]) => ({
      a: { dtype: "F32", shape: [(a[1] - a[0]) / 4], data_offsets: a },
      b: { dtype: "F32", shape: [(b[1] - b[0]) / 4], data_offsets: b },
    });
    const d12 = f32([1, 2, 3]);
    assert.equal(bp.decodeSafetensors(file(two([4, 12], [0, 4]), d12)).tensors.get("a")!.data[0], 2, "order in the header is free");
    rejects(file(two([0, 8], [4, 12]), d12), /tensors 'a' and 'b' overlap \(bytes 4 to 8\)/);
    rejects(file(two([0, 4], [8, 12]), d12), /bytes 4 to 8 of the data belong to no tensor \(before tensor 'b'\)/);
    rejects(file(two([4, 8], [8, 12]), d12), /bytes 0 to 4 of the data belong to no tensor \(before tensor 'a'\)/);
    rejects(file(good, f32([1, 2, 3])), /4 bytes of trailing data after its last tensor/);
    rejects(file({}, [1]), /1 bytes of trailing data/);
    assert.equal(bp.decodeSafetensors(file({}, [])).tensors.size, 0);
  });
});

describe("safetensors: files exchanged with PyTorch", { skip: torchMissing }, () => {
  it("reads a file made from torch tensors' bytes (F32, F64, F16, BF16, I64, I32), value for value", () => {
    const dir = mkdtempSync(join(tmpdir(), "safetensors-"));
    execFileSync(PY, [
      "-c",
      `import json, struct, torch
torch.manual_seed(0)
ts = {"w": torch.randn(3, 5), "d": torch.randn(4, dtype=torch.float64), "h": torch.randn(2, 3).half(),
      "bf": torch.randn(7).bfloat16(), "i": torch.tensor([[-(2**40), 3]]), "j": torch.tensor([-1, 2, 2**31 - 1], dtype=torch.int32)}
names = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}
header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
for k, t in ts.items():
    b = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b); off += len(b)
h = json.dumps(header).encode()
open("${dir}/torch.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
json.dump({k: t.double().reshape(-1).tolist() for k, t in ts.items()}, open("${dir}/values.json", "w"))`,
    ]);
    const expected = JSON.parse(readFileSync(join(dir, "values.json"), "utf8")) as Record<string, number[]>;
    const { tensors, metadata, dtypes } = bp.decodeSafetensors(readFileSync(join(dir, "torch.safetensors")));
    assert.deepEqual(metadata, { format: "pt" });
    assert.deepEqual([...dtypes.values()], ["F32", "F64", "F16", "BF16", "I64", "I32"]);
    assert.deepEqual(tensors.get("w")!.shape, [3, 5]);
    assert.deepEqual(tensors.get("i")!.shape, [1, 2]);
    for (const [k, values] of Object.entries(expected)) assert.deepEqual(Array.from(tensors.get(k)!.data), values, k);
  });

  it("our file is read by Python (json + struct + torch.frombuffer) with the same names, shapes and values", () => {
    const dir = mkdtempSync(join(tmpdir(), "safetensors-"));
    const model = bp.mlp([5, 3, 2], { rng: new bp.Rng(4) });
    const extra = new Map([["x64", bp.tensor([[0.1, -2.5, 1e-300]], { dtype: "float64" })]]);
    writeFileSync(join(dir, "ours.safetensors"), bp.saveSafetensors(model, { layout: "pytorch" }));
    writeFileSync(join(dir, "extra.safetensors"), bp.encodeSafetensors(extra, { a: "b" }));
    const out = execFileSync(PY, [
      "-c",
      `import json, struct, torch
def read(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert (8 + n) % 8 == 0
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    kinds = {"F32": torch.float32, "F64": torch.float64}
    buf = bytearray(data[8 + n:])
    return {k: torch.frombuffer(buf, dtype=kinds[e["dtype"]], count=(e["data_offsets"][1] - e["data_offsets"][0]) // (4 if e["dtype"] == "F32" else 8), offset=e["data_offsets"][0]).reshape(e["shape"]).double().tolist() for k, e in header.items()}, meta
net = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
tensors, meta = read("${dir}/ours.safetensors")
state = {k.replace("layers.", ""): torch.tensor(v) for k, v in tensors.items()}
net.load_state_dict(state)  # strict: every name and shape must match PyTorch's own
x = torch.tensor([[0.5, -1.0, 2.0, 0.25, 3.0]])
print(json.dumps({"tensors": tensors, "meta": meta, "extra": read("${dir}/extra.safetensors"), "y": net(x).tolist()}))`,
    ]).toString();
    const got = JSON.parse(out) as {
      tensors: Record<string, unknown>;
      meta: Record<string, string>;
      extra: [Record<string, unknown>, Record<string, string>];
      y: number[][];
    };
    assert.equal(got.meta["backprop.layout"], "pytorch");
    const pt = bp.decodeSafetensors(bp.saveSafetensors(model, { layout: "pytorch" })).tensors;
    for (const [name, t] of pt) assert.deepEqual(got.tensors[name], t.toArray(), name);
    assert.deepEqual(got.extra, [{ x64: [[0.1, -2.5, 1e-300]] }, { a: "b" }]);
    const ours = model.forward(bp.tensor([[0.5, -1, 2, 0.25, 3]])).toArray() as number[][];
    const diff = Math.max(...ours[0].map((v, i) => Math.abs(v - got.y[0][i])));
    console.log(`PyTorch's nn.Linear on our exported weights vs our forward: max |difference| ${diff.toExponential(2)}`);
    assert.ok(diff < 1e-6, `difference ${diff}`);
  });
});
