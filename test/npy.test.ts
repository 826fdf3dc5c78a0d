import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readNpy, writeNpy, NpyError, type NpyArray } from "../src/data/npy.js";
import { DEBIAN_PYTHON, pythonLacks } from "./python.js";

const PY = DEBIAN_PYTHON;
const numpyMissing = pythonLacks("numpy", "python3-numpy");

describe(".npy files", () => {
  it("round-trips every dtype with its shape, 64-byte aligned", () => {
    const cases: NpyArray[] = [
      { dtype: "float32", shape: [2, 3], data: Float32Array.from([1, -2.5, 3, 4, 5, 6e-8]) },
      { dtype: "float64", shape: [3], data: Float64Array.from([Math.PI, -0, 1e300]) },
      { dtype: "int32", shape: [2, 1, 2], data: Int32Array.from([1, -2, 2147483647, -2147483648]) },
      { dtype: "int64", shape: [2], data: [9007199254740991, -5] },
      { dtype: "uint8", shape: [], data: Uint8Array.from([255]) },
      { dtype: "bool", shape: [0, 4], data: new Uint8Array(0) },
    ];
    for (const c of cases) {
      const bytes = writeNpy(c);
      const headerEnd = bytes.length - c.data.length * { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 }[c.dtype];
      assert.equal(headerEnd % 64, 0, c.dtype);
      const back = readNpy(bytes);
      assert.equal(back.dtype, c.dtype);
      assert.deepEqual(back.shape, c.shape);
      assert.deepEqual(Array.from(back.data), Array.from(c.data));
    }
  });

  it("rejects damaged files with what is wrong", () => {
    const good = writeNpy({ dtype: "float32", shape: [4], data: new Float32Array(4) });
    assert.throws(() => readNpy(good.subarray(0, good.length - 1)), /needs 16 bytes, the file has 15/);
    assert.throws(() => readNpy(new Uint8Array([1, 2, 3])), /bad magic/);
    const bad = good.slice();
    const text = new TextDecoder().decode(bad);
    const at = text.indexOf("<f4");
    bad.set(new TextEncoder().encode(">f4"), at);
    assert.throws(
      () => readNpy(bad),
      (e: unknown) => e instanceof NpyError && /dtype '>f4'/.test(e.message),
    );
    assert.throws(() => writeNpy({ dtype: "float32", shape: [3], data: new Float32Array(2) }), /3 elements, the data 2/);
  });

  it("reads what NumPy writes and NumPy reads what it writes", { skip: numpyMissing }, () => {
    const dir = mkdtempSync(join(tmpdir(), "npy-"));
    execFileSync(PY, [
      "-c",
      `import numpy as np
np.save("${dir}/a.npy", np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7)
np.save("${dir}/b.npy", np.array([[1, 2], [3, -4]], dtype=np.int64))`,
    ]);
    const a = readNpy(readFileSync(join(dir, "a.npy")));
    assert.deepEqual(a.shape, [2, 3, 4]);
    assert.equal(a.data[23], Math.fround(23 / 7));
    assert.deepEqual(Array.from(readNpy(readFileSync(join(dir, "b.npy"))).data), [1, 2, 3, -4]);
    writeFileSync(join(dir, "c.npy"), writeNpy({ dtype: "float64", shape: [2, 2], data: Float64Array.from([1, 2, 3, 0.5]) }));
    const out = execFileSync(PY, ["-c", `import numpy as np; a = np.load("${dir}/c.npy"); print(a.dtype, a.shape, a.sum())`])
      .toString()
      .trim();
    assert.equal(out, "float64 (2, 2) 6.5");
  });
});
