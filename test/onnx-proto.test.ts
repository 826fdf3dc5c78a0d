/** The ONNX protobuf layer: our bytes against the `onnx` Python package, its bytes against our decoder, and damaged input. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { PY, noPythonOnnx } from "./onnx-helpers.js";
import {
  decodeOnnx,
  encodeOnnx,
  floatTensor,
  doubleTensor,
  int64Tensor,
  tensorValues,
  attrFloat,
  attrInt,
  attrInts,
  attrFloats,
  attrString,
  attrStrings,
  attrTensor,
  onnxNode,
  tensorValueInfo,
  OnnxDataType,
  OnnxError,
  type OnnxModel,
} from "../src/interop/onnx/proto.js";

function python(script: string, ...args: string[]): string {
  return execFileSync(PY, ["-c", script, ...args], { encoding: "utf8" });
}

/** A small model using every field the layer writes. */
function sampleModel(): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    producerName: "backprop",
    producerVersion: "0.1.0",
    modelVersion: 3,
    docString: "a test model",
    metadataProps: [
      { key: "classes", value: '["a","b","ü"]' },
      { key: "empty", value: "" },
    ],
    graph: {
      name: "g",
      docString: "graph doc",
      nodes: [
        onnxNode("MatMul", ["input", "W"], ["h"], [], "matmul0"),
        onnxNode("Add", ["h", "b"], ["z"], [], "add0"),
        onnxNode("LeakyRelu", ["z"], ["a"], [attrFloat("alpha", 0.125)], "leaky0"),
        onnxNode("Softmax", ["a"], ["probabilities"], [attrInt("axis", -1)], "softmax"),
        onnxNode("Constant", [], ["c"], [attrTensor("value", int64Tensor("", [2], [-3, 2 ** 40]))], "const"),
        onnxNode("Constant", [], ["c2"], [attrFloats("value_floats", [1.5, -2])], "const2"),
        onnxNode("Constant", [], ["c3"], [attrInts("value_ints", [-1, 0, 7])], "const3"),
        onnxNode("Constant", [], ["c4"], [attrString("value_string", "héllo")], "const4"),
        onnxNode("Constant", [], ["c5"], [attrStrings("value_strings", ["x", ""])], "const5"),
      ],
      initializers: [floatTensor("W", [3, 2], [1, 2, 3, 4, 5, -6.25]), doubleTensor("b64", [2], [Math.PI, -1e-300]), floatTensor("b", [2], [0.5, -0.5])],
      inputs: [tensorValueInfo("input", OnnxDataType.FLOAT, ["batch", 3])],
      outputs: [tensorValueInfo("probabilities", OnnxDataType.FLOAT, ["batch", 2]), tensorValueInfo("c", OnnxDataType.INT64, [2])],
      valueInfo: [tensorValueInfo("h", OnnxDataType.FLOAT, [null, 2]), { name: "untyped" }],
    },
  };
}

describe("ONNX protobuf layer", () => {
  it("decodes what it encodes, field for field", () => {
    const m = sampleModel();
    const back = decodeOnnx(encodeOnnx(m));
    assert.deepEqual(back, m);
    assert.deepEqual(Array.from(tensorValues(back.graph.initializers[0])), [1, 2, 3, 4, 5, -6.25]);
    assert.deepEqual(Array.from(tensorValues(back.graph.initializers[1])), [Math.PI, -1e-300]);
    assert.deepEqual(Array.from(tensorValues(back.graph.nodes[4].attributes[0].t!)), [-3, 2 ** 40]);
    // ONNX reads the attribute's float as float32: 0.1 comes back as the nearest float32.
    const f = decodeOnnx(encodeOnnx({ ...m, graph: { ...m.graph, nodes: [onnxNode("LeakyRelu", ["x"], ["y"], [attrFloat("alpha", 0.1)])] } }));
    assert.equal(f.graph.nodes[0].attributes[0].f, Math.fround(0.1));
  });

  it("reads packed and unpacked repeated fields, skips unknown fields of every wire type", () => {
    // A TensorProto by hand: dims 2 packed (field 1, wire 2), data_type FLOAT, float_data unpacked
    // (field 4, wire 5) twice, plus unknown fields 99 (varint), 100 (64-bit), 101 (bytes), 102 (32-bit).
    const tensor = [
      0x0a, 0x01, 0x02, 0x10, 0x01, 0x25, 0x00, 0x00, 0x80, 0x3f, 0x25, 0x00, 0x00, 0x00, 0xc0, 0x98, 0x06, 0x05, 0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xaa,
      0x06, 0x02, 0x41, 0x42, 0xb5, 0x06, 1, 2, 3, 4, 0x42, 0x01, 0x57,
    ];
    const graph = [0x2a, tensor.length, ...tensor];
    const model = [0x08, 0x08, 0x3a, graph.length, ...graph];
    const m = decodeOnnx(Uint8Array.from(model));
    assert.equal(m.irVersion, 8);
    const t = m.graph.initializers[0];
    assert.deepEqual(t.dims, [2]);
    assert.equal(t.name, "W");
    assert.deepEqual(t.floatData, [1, -2]);
    assert.deepEqual(Array.from(tensorValues(t)), [1, -2]);
  });

  it("is read by the onnx Python package: the checker passes and it serializes back to the same bytes", { skip: noPythonOnnx }, () => {
    const dir = mkdtempSync(join(tmpdir(), "onnx-proto-"));
    const m = sampleModel();
    // The checker wants a graph whose values are all defined: check a model without the Constant extras too.
    const checkable: OnnxModel = { ...m, graph: { ...m.graph, nodes: m.graph.nodes.slice(0, 5), outputs: m.graph.outputs, valueInfo: [] } };
    const bytes = encodeOnnx(m);
    writeFileSync(join(dir, "all.onnx"), bytes);
    writeFileSync(join(dir, "check.onnx"), encodeOnnx(checkable));
    const out = python(
      `
import sys, json, onnx
from onnx import numpy_helper
d = sys.argv[1]
raw = open(d + "/all.onnx", "rb").read()
m = onnx.load_from_string(raw)
same = m.SerializeToString() == raw
c = onnx.load(d + "/check.onnx")
onnx.checker.check_model(c, full_check=True)
g = m.graph
print(json.dumps({
  "same": same,
  "ir": m.ir_version, "opset": [[o.domain, o.version] for o in m.opset_import],
  "meta": {p.key: p.value for p in m.metadata_props},
  "ops": [n.op_type for n in g.node], "names": [n.name for n in g.node],
  "alpha": g.node[2].attribute[0].f, "axis": g.node[3].attribute[0].i,
  "const": numpy_helper.to_array(g.node[4].attribute[0].t).tolist(),
  "floats": list(g.node[5].attribute[0].floats), "ints": list(g.node[6].attribute[0].ints),
  "s": g.node[7].attribute[0].s.decode(), "strings": [s.decode() for s in g.node[8].attribute[0].strings],
  "W": numpy_helper.to_array(g.initializer[0]).tolist(), "b64": numpy_helper.to_array(g.initializer[1]).tolist(),
  "in": [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in g.input],
  "vi": [d.WhichOneof("value") for d in g.value_info[0].type.tensor_type.shape.dim],
}))
`,
      dir,
    );
    const r = JSON.parse(out) as Record<string, unknown>;
    assert.equal(r.same, true, "onnx re-serializes our bytes unchanged (same fields, same order, same packing)");
    assert.equal(r.ir, 8);
    assert.deepEqual(r.opset, [["", 17]]);
    assert.deepEqual(r.meta, { classes: '["a","b","ü"]', empty: "" });
    assert.deepEqual(r.ops, ["MatMul", "Add", "LeakyRelu", "Softmax", "Constant", "Constant", "Constant", "Constant", "Constant"]);
    assert.equal(r.alpha, 0.125);
    assert.equal(r.axis, -1);
    assert.deepEqual(r.const, [-3, 2 ** 40]);
    assert.deepEqual(r.floats, [1.5, -2]);
    assert.deepEqual(r.ints, [-1, 0, 7]);
    assert.equal(r.s, "héllo");
    assert.deepEqual(r.strings, ["x", ""]);
    assert.deepEqual(r.W, [
      [1, 2],
      [3, 4],
      [5, -6.25],
    ]);
    assert.deepEqual(r.b64, [Math.PI, -1e-300]);
    assert.deepEqual(r.in, [["batch", 3]]);
    assert.deepEqual(r.vi, [null, "dim_value"]);
  });

  it("decodes what the onnx Python package writes (float_data, int64_data, double_data, int32_data)", { skip: noPythonOnnx }, () => {
    const dir = mkdtempSync(join(tmpdir(), "onnx-proto-"));
    python(
      `
import sys, onnx
from onnx import helper, TensorProto
W = helper.make_tensor("W", TensorProto.FLOAT, [2, 2], [1.0, -2.0, 3.5, 4.0])
D = helper.make_tensor("D", TensorProto.DOUBLE, [3], [0.1, -0.2, 1e100])
I = helper.make_tensor("I", TensorProto.INT64, [2], [-5, 2**50])
J = helper.make_tensor("J", TensorProto.INT32, [2], [-7, 9])
R = helper.make_tensor("R", TensorProto.FLOAT, [2], b"\\x00\\x00\\x80\\x3f\\x00\\x00\\x00\\x40", raw=True)
n = helper.make_node("Gemm", ["x", "W"], ["y"], name="gemm", alpha=0.5, transB=1, doc_string="d")
g = helper.make_graph([n], "pt", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2])],
  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2])], [W, D, I, J, R])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="pytorch")
onnx.helper.set_model_props(m, {"k": "v"})
onnx.save(m, sys.argv[1] + "/py.onnx")
`,
      dir,
    );
    const m = decodeOnnx(new Uint8Array(readFileSync(join(dir, "py.onnx"))));
    assert.equal(m.producerName, "pytorch");
    assert.deepEqual(m.opsetImport, [{ domain: "", version: 13 }]);
    assert.deepEqual(m.metadataProps, [{ key: "k", value: "v" }]);
    const [W, D, I, J, R] = m.graph.initializers;
    assert.deepEqual(W.floatData, [1, -2, 3.5, 4]);
    assert.deepEqual(Array.from(tensorValues(D)), [0.1, -0.2, 1e100]);
    assert.deepEqual(Array.from(tensorValues(I)), [-5, 2 ** 50]);
    assert.deepEqual(Array.from(tensorValues(J)), [-7, 9]);
    assert.deepEqual(Array.from(tensorValues(R)), [1, 2]);
    const n = m.graph.nodes[0];
    assert.deepEqual([n.opType, n.name, n.inputs, n.outputs, n.docString], ["Gemm", "gemm", ["x", "W"], ["y"], "d"]);
    assert.deepEqual(
      n.attributes.map((a) => [a.name, a.f ?? a.i]),
      [
        ["alpha", 0.5],
        ["transB", 1],
      ],
    );
    assert.deepEqual(m.graph.inputs[0].tensorType, { elemType: OnnxDataType.FLOAT, shape: ["N", 2] });
  });

  it("rejects damaged bytes with a clear error, never a hang or another exception (fuzzed)", () => {
    const good = encodeOnnx(sampleModel());
    assert.throws(() => decodeOnnx(new Uint8Array(0)), /input is empty/);
    assert.throws(
      () => decodeOnnx(good.subarray(0, good.length - 3)),
      (e: unknown) => e instanceof OnnxError && /runs past the end|truncated/.test(e.message),
    );
    assert.throws(() => decodeOnnx(new TextEncoder().encode("not a model at all")), OnnxError);
    assert.throws(() => decodeOnnx(Uint8Array.from([0x08, 0x80, 0x80])), /truncated varint at byte 3 \(in ModelProto\)/);
    assert.throws(() => decodeOnnx(Uint8Array.from([0x08, ...new Array<number>(11).fill(0xff)])), /varint longer than ten bytes/);
    assert.throws(() => decodeOnnx(Uint8Array.from([0x9b, 0x06])), /unsupported wire type group start/);
    assert.throws(() => decodeOnnx(Uint8Array.from([0x08, 0x01])), /has no graph/);
    assert.throws(() => decodeOnnx(Uint8Array.from([0x0a, 0x00, 0x3a, 0x00])), /field 1 has wire type length-delimited, expected varint/);
    // Truncations and byte flips: each either decodes (a flip may land in a value) or throws OnnxError.
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.nat(255), fc.boolean(), (at, byte, truncate) => {
        const bad = truncate ? good.subarray(0, at) : good.slice();
        if (!truncate) bad[at] = byte;
        try {
          decodeOnnx(bad);
        } catch (e) {
          if (!(e instanceof OnnxError)) throw e;
        }
      }),
      { numRuns: 400, seed: 19 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeOnnx(bytes);
        } catch (e) {
          if (!(e instanceof OnnxError)) throw e;
        }
      }),
      { numRuns: 400, seed: 7 },
    );
  });

  it("builders check their counts and tensorValues checks the data against the dims", () => {
    assert.throws(() => floatTensor("W", [2, 2], [1, 2, 3]), /dims \[2, 2\] hold 4 values, got 3/);
    assert.throws(() => int64Tensor("s", [1], [0.5]), /not a safe integer/);
    assert.throws(() => tensorValues({ name: "W", dims: [3], dataType: OnnxDataType.FLOAT, rawData: new Uint8Array(8) }), /raw_data has 8 bytes.*need 12/);
    assert.throws(() => tensorValues({ name: "W", dims: [3], dataType: OnnxDataType.FLOAT, floatData: [1] }), /holds 1 values, dims \[3\] need 3/);
    assert.throws(() => tensorValues({ name: "S", dims: [1], dataType: OnnxDataType.STRING }), /data type STRING is not supported/);
    assert.deepEqual(Array.from(tensorValues({ name: "e", dims: [0, 3], dataType: OnnxDataType.FLOAT })), []);
  });
});
