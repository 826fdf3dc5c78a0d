/**
 * The ONNX messages we read and write, and a small protobuf wire-format encoder and decoder for them.
 * Field numbers follow onnx.proto (ONNX 1.12, IR version 8). Our own encoder rather than a protobuf
 * library: the subset is small (six message types, four wire types), it keeps this module free of
 * generated code and dependencies, and it runs in browsers as is. The tests check it against the
 * `onnx` Python package (its loader and full checker) and ONNX Runtime.
 *
 * int64 fields are JavaScript numbers: exact up to 2^53, which covers dims, attributes and indices;
 * larger values (INT64_MAX as "to the end" in Slice, say) are rounded when read and clamped when written.
 */

/** TensorProto.DataType codes (the ones in use; others pass through as plain numbers). */
export const OnnxDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

/** AttributeProto.AttributeType codes. GRAPH(S), SPARSE_TENSOR(S) and TYPE_PROTO(S) are skipped when read. */
export const OnnxAttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
} as const;

/** The IR version written (ONNX 1.10+, opsets up to 17 and beyond) and the opset we export. */
export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

export interface OnnxTensor {
  name: string;
  dims: number[];
  /** An OnnxDataType code. */
  dataType: number;
  /** Little-endian packed values; when present the typed fields below are empty. */
  rawData?: Uint8Array;
  floatData?: number[];
  int32Data?: number[];
  int64Data?: number[];
  doubleData?: number[];
  docString?: string;
}

export interface OnnxAttribute {
  name: string;
  /** An OnnxAttributeType code: says which field below holds the value. */
  type: number;
  f?: number;
  i?: number;
  /** UTF-8 text (ONNX stores bytes; all standard string attributes are text). */
  s?: string;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
  strings?: string[];
  tensors?: OnnxTensor[];
  docString?: string;
}

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** "" or absent: the standard ai.onnx domain. */
  domain?: string;
  attributes: OnnxAttribute[];
  docString?: string;
}

/** One dimension: a size, a symbolic name ("batch"), or null when neither is given (unknown). */
export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  name: string;
  /** Present for tensor types (TypeProto.Tensor); absent for no type or other kinds (sequence, map). */
  tensorType?: { elemType: number; shape?: OnnxDim[] };
  docString?: string;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
  docString?: string;
}

export interface OnnxOpset {
  /** "" for the standard operators. */
  domain: string;
  version: number;
}

export interface OnnxModel {
  irVersion: number;
  opsetImport: OnnxOpset[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: OnnxGraph;
  metadataProps: { key: string; value: string }[];
}

/** Damaged or unsupported bytes; the message says what was being read and at which byte. */
export class OnnxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OnnxError";
  }
}

// ---------------------------------------------------------------------------------------------------
// Writing

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const utf8 = new TextEncoder();
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** An int64 as a varint (negative numbers take ten bytes, two's complement, as protobuf says). */
  varint(n: number): void {
    this.reserve(10);
    if (Number.isInteger(n) && n >= 0 && n < 2 ** 31) {
      while (n >= 0x80) {
        this.buf[this.length++] = (n & 0x7f) | 0x80;
        n >>>= 7;
      }
      this.buf[this.length++] = n;
      return;
    }
    if (!Number.isFinite(n)) throw new OnnxError(`ONNX encode: an integer field holds ${n}`);
    let b = BigInt(Math.trunc(n));
    b = b > INT64_MAX ? INT64_MAX : b < INT64_MIN ? INT64_MIN : b;
    let u = BigInt.asUintN(64, b);
    while (u >= 0x80n) {
      this.buf[this.length++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    this.buf[this.length++] = Number(u);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  string(field: number, s: string | undefined): void {
    if (s !== undefined) this.bytes(field, utf8.encode(s));
  }

  int(field: number, n: number | undefined): void {
    if (n === undefined) return;
    this.tag(field, WIRE_VARINT);
    this.varint(n);
  }

  float(field: number, x: number): void {
    this.tag(field, WIRE_I32);
    this.reserve(4);
    this.view.setFloat32(this.length, x, true);
    this.length += 4;
  }

  /** A nested message: written to its own buffer first, since its length comes before it. */
  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.bytes(field, inner.finish());
  }

  /** Repeated scalars declared [packed = true] in onnx.proto: one length-delimited run. */
  packedVarints(field: number, values: readonly number[] | undefined): void {
    if (!values || values.length === 0) return;
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    this.bytes(field, inner.finish());
  }

  packedFixed(field: number, values: readonly number[] | undefined, width: 4 | 8): void {
    if (!values || values.length === 0) return;
    const out = new Uint8Array(values.length * width);
    const dv = new DataView(out.buffer);
    values.forEach((v, k) => (width === 4 ? dv.setFloat32(k * 4, v, true) : dv.setFloat64(k * 8, v, true)));
    this.bytes(field, out);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

function writeTensor(w: Writer, t: OnnxTensor): void {
  for (const d of t.dims) w.int(1, d); // dims: repeated int64, not packed in onnx.proto
  w.int(2, t.dataType);
  w.packedFixed(4, t.floatData, 4);
  w.packedVarints(5, t.int32Data);
  w.packedVarints(7, t.int64Data);
  w.string(8, t.name);
  if (t.rawData) w.bytes(9, t.rawData);
  w.packedFixed(10, t.doubleData, 8);
  w.string(12, t.docString);
}

function writeAttribute(w: Writer, a: OnnxAttribute): void {
  w.string(1, a.name);
  if (a.f !== undefined) w.float(2, a.f);
  w.int(3, a.i);
  w.string(4, a.s);
  if (a.t) w.message(5, (m) => writeTensor(m, a.t!));
  for (const f of a.floats ?? []) w.float(7, f);
  for (const i of a.ints ?? []) w.int(8, i);
  for (const s of a.strings ?? []) w.string(9, s);
  for (const t of a.tensors ?? []) w.message(10, (m) => writeTensor(m, t));
  w.string(13, a.docString);
  w.int(20, a.type);
}

function writeNode(w: Writer, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes) w.message(5, (m) => writeAttribute(m, a));
  w.string(6, n.docString);
  w.string(7, n.domain);
}

function writeValueInfo(w: Writer, v: OnnxValueInfo): void {
  w.string(1, v.name);
  const tt = v.tensorType;
  if (tt) {
    w.message(2, (type) =>
      type.message(1, (tensor) => {
        tensor.int(1, tt.elemType);
        if (tt.shape)
          tensor.message(2, (shape) => {
            for (const d of tt.shape!)
              shape.message(1, (dim) => {
                if (typeof d === "number") dim.int(1, d);
                else if (typeof d === "string") dim.string(2, d);
              });
          });
      }),
    );
  }
  w.string(3, v.docString);
}

function writeGraph(w: Writer, g: OnnxGraph): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  w.string(10, g.docString);
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
  for (const v of g.valueInfo) w.message(13, (m) => writeValueInfo(m, v));
}

/** The model as ONNX protobuf bytes (what `onnx.load` and ONNX Runtime read). */
export function encodeOnnx(model: OnnxModel): Uint8Array {
  const w = new Writer();
  w.int(1, model.irVersion);
  w.string(2, model.producerName);
  w.string(3, model.producerVersion);
  w.string(4, model.domain);
  w.int(5, model.modelVersion);
  w.string(6, model.docString);
  w.message(7, (m) => writeGraph(m, model.graph));
  for (const o of model.opsetImport)
    w.message(8, (m) => {
      m.string(1, o.domain);
      m.int(2, o.version);
    });
  for (const p of model.metadataProps)
    w.message(14, (m) => {
      m.string(1, p.key);
      m.string(2, p.value);
    });
  return w.finish();
}

// ---------------------------------------------------------------------------------------------------
// Reading

const utf8Decoder = new TextDecoder("utf-8");
const WIRE_NAMES = ["varint", "64-bit", "length-delimited", "group start", "group end", "32-bit", "6", "7"];

/**
 * A cursor over [pos, end) of the input. Every read checks the bound first, and every field read
 * advances by at least one byte, so damaged input ends in an OnnxError, never a hang or a read past
 * the buffer.
 */
class Reader {
  private readonly view: DataView;
  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
    /** The message being read, for error messages. */
    readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(message: string): never {
    throw new OnnxError(`ONNX decode: ${message} at byte ${this.pos} (in ${this.what}); the file is damaged or not an ONNX model`);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a signed int64 (numbers past 2^53 rounded). */
  varint(): number {
    let result = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail("truncated varint");
      const b = this.buf[this.pos++];
      if (i < 7) result += (b & 0x7f) * 2 ** (7 * i);
      if ((b & 0x80) === 0) return i < 7 ? result : this.bigVarint(this.pos - i - 1, i + 1);
    }
    return this.fail("varint longer than ten bytes");
  }

  private bigVarint(start: number, count: number): number {
    let u = 0n;
    for (let i = count - 1; i >= 0; i--) u = (u << 7n) | BigInt(this.buf[start + i] & 0x7f);
    return Number(BigInt.asIntN(64, u));
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) this.fail(`${what} of ${n} bytes runs past the end (${this.end - this.pos} left)`);
  }

  fixed32(): number {
    this.need(4, "32-bit value");
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  fixed64(): number {
    this.need(8, "64-bit value");
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** A length-delimited field's extent; the caller reads it with a sub-reader or copies it. */
  lengthDelimited(): [number, number] {
    const n = this.varint();
    if (n < 0) this.fail(`negative length ${n}`);
    this.need(n, "field");
    const start = this.pos;
    this.pos += n;
    return [start, this.pos];
  }

  sub(what: string): Reader {
    const [start, end] = this.lengthDelimited();
    return new Reader(this.buf, start, end, what);
  }

  bytes(): Uint8Array {
    const [start, end] = this.lengthDelimited();
    return this.buf.slice(start, end);
  }

  string(): string {
    const [start, end] = this.lengthDelimited();
    return utf8Decoder.decode(this.buf.subarray(start, end));
  }

  /** The next field's number and wire type, or null at the end of the message. */
  tag(): [number, number] | null {
    if (this.done()) return null;
    const t = this.varint();
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field <= 0) this.fail(`invalid field number ${field}`);
    return [field, wire];
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) (this.need(8, "64-bit value"), (this.pos += 8));
    else if (wire === WIRE_LEN) this.lengthDelimited();
    else if (wire === WIRE_I32) (this.need(4, "32-bit value"), (this.pos += 4));
    else this.fail(`unsupported wire type ${WIRE_NAMES[wire]}`);
  }

  expect(field: number, wire: number, wanted: number): void {
    if (wire !== wanted) this.fail(`field ${field} has wire type ${WIRE_NAMES[wire]}, expected ${WIRE_NAMES[wanted]}`);
  }

  /** A repeated scalar, packed (one length-delimited run) or not (one value per tag). */
  repeated(field: number, wire: number, scalarWire: number, out: number[]): void {
    const read = () => (scalarWire === WIRE_VARINT ? this.varint() : scalarWire === WIRE_I32 ? this.fixed32() : this.fixed64());
    if (wire === scalarWire) {
      out.push(read());
      return;
    }
    this.expect(field, wire, WIRE_LEN);
    const [start, end] = this.lengthDelimited();
    const inner = new Reader(this.buf, start, end, this.what);
    while (!inner.done()) out.push(scalarWire === WIRE_VARINT ? inner.varint() : scalarWire === WIRE_I32 ? inner.fixed32() : inner.fixed64());
  }
}

function readTensor(r: Reader): OnnxTensor {
  const t: OnnxTensor = { name: "", dims: [], dataType: 0 };
  const floats: number[] = [];
  const int32s: number[] = [];
  const int64s: number[] = [];
  const doubles: number[] = [];
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [f, w] = tag;
    if (f === 1) r.repeated(f, w, WIRE_VARINT, t.dims);
    else if (f === 2) (r.expect(f, w, WIRE_VARINT), (t.dataType = r.varint()));
    else if (f === 4) r.repeated(f, w, WIRE_I32, floats);
    else if (f === 5) r.repeated(f, w, WIRE_VARINT, int32s);
    else if (f === 7) r.repeated(f, w, WIRE_VARINT, int64s);
    else if (f === 8) (r.expect(f, w, WIRE_LEN), (t.name = r.string()));
    else if (f === 9) (r.expect(f, w, WIRE_LEN), (t.rawData = r.bytes()));
    else if (f === 10) r.repeated(f, w, WIRE_I64, doubles);
    else if (f === 12) (r.expect(f, w, WIRE_LEN), (t.docString = r.string()));
    else if (f === 14) {
      r.expect(f, w, WIRE_VARINT);
      if (r.varint() === 1) r.fail(`tensor '${t.name}' keeps its data in an external file, which is not supported`);
    } else r.skip(w);
  }
  if (floats.length) t.floatData = floats;
  if (int32s.length) t.int32Data = int32s;
  if (int64s.length) t.int64Data = int64s;
  if (doubles.length) t.doubleData = doubles;
  return t;
}

function readAttribute(r: Reader): OnnxAttribute {
  const a: OnnxAttribute = { name: "", type: 0 };
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  const tensors: OnnxTensor[] = [];
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [f, w] = tag;
    if (f === 1) (r.expect(f, w, WIRE_LEN), (a.name = r.string()));
    else if (f === 2) (r.expect(f, w, WIRE_I32), (a.f = r.fixed32()));
    else if (f === 3) (r.expect(f, w, WIRE_VARINT), (a.i = r.varint()));
    else if (f === 4) (r.expect(f, w, WIRE_LEN), (a.s = r.string()));
    else if (f === 5) (r.expect(f, w, WIRE_LEN), (a.t = readTensor(r.sub("TensorProto"))));
    else if (f === 7) r.repeated(f, w, WIRE_I32, floats);
    else if (f === 8) r.repeated(f, w, WIRE_VARINT, ints);
    else if (f === 9) (r.expect(f, w, WIRE_LEN), strings.push(r.string()));
    else if (f === 10) (r.expect(f, w, WIRE_LEN), tensors.push(readTensor(r.sub("TensorProto"))));
    else if (f === 13) (r.expect(f, w, WIRE_LEN), (a.docString = r.string()));
    else if (f === 20) (r.expect(f, w, WIRE_VARINT), (a.type = r.varint()));
    else r.skip(w); // graphs, sparse tensors, type protos, ref_attr_name
  }
  if (floats.length || a.type === OnnxAttributeType.FLOATS) a.floats = floats;
  if (ints.length || a.type === OnnxAttributeType.INTS) a.ints = ints;
  if (strings.length || a.type === OnnxAttributeType.STRINGS) a.strings = strings;
  if (tensors.length || a.type === OnnxAttributeType.TENSORS) a.tensors = tensors;
  return a;
}

function readNode(r: Reader): OnnxNode {
  const n: OnnxNode = { opType: "", inputs: [], outputs: [], attributes: [] };
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [f, w] = tag;
    if (f === 1) (r.expect(f, w, WIRE_LEN), n.inputs.push(r.string()));
    else if (f === 2) (r.expect(f, w, WIRE_LEN), n.outputs.push(r.string()));
    else if (f === 3) (r.expect(f, w, WIRE_LEN), (n.name = r.string()));
    else if (f === 4) (r.expect(f, w, WIRE_LEN), (n.opType = r.string()));
    else if (f === 5) (r.expect(f, w, WIRE_LEN), n.attributes.push(readAttribute(r.sub("AttributeProto"))));
    else if (f === 6) (r.expect(f, w, WIRE_LEN), (n.docString = r.string()));
    else if (f === 7) (r.expect(f, w, WIRE_LEN), (n.domain = r.string()));
    else r.skip(w);
  }
  return n;
}

function readShape(r: Reader): OnnxDim[] {
  const dims: OnnxDim[] = [];
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [f, w] = tag;
    if (f !== 1) {
      r.skip(w);
      continue;
    }
    r.expect(f, w, WIRE_LEN);
    const d = r.sub("TensorShapeProto.Dimension");
    let dim: OnnxDim = null;
    for (let t = d.tag(); t; t = d.tag()) {
      if (t[0] === 1) (d.expect(1, t[1], WIRE_VARINT), (dim = d.varint()));
      else if (t[0] === 2) (d.expect(2, t[1], WIRE_LEN), (dim = d.string()));
      else d.skip(t[1]); // denotation
    }
    dims.push(dim);
  }
  return dims;
}

function readTensorType(r: Reader): { elemType: number; shape?: OnnxDim[] } {
  const tt: { elemType: number; shape?: OnnxDim[] } = { elemType: 0 };
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [f, w] = tag;
    if (f === 1) (r.expect(f, w, WIRE_VARINT), (tt.elemType = r.varint()));
    else if (f === 2) (r.expect(f, w, WIRE_LEN), (tt.shape = readShape(r.sub("TensorShapeProto"))));
    else r.skip(w);
  }
  return tt;
}

function readValueInfo(r: Reader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: "" };
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [f, w] = tag;
    if (f === 1) (r.expect(f, w, WIRE_LEN), (v.name = r.string()));
    else if (f === 2) {
      r.expect(f, w, WIRE_LEN);
      const type = r.sub("TypeProto");
      for (let t = type.tag(); t; t = type.tag()) {
        if (t[0] === 1) (type.expect(1, t[1], WIRE_LEN), (v.tensorType = readTensorType(type.sub("TypeProto.Tensor"))));
        else type.skip(t[1]); // sequence, map, optional, sparse tensor, denotation
      }
    } else if (f === 3) (r.expect(f, w, WIRE_LEN), (v.docString = r.string()));
    else r.skip(w);
  }
  return v;
}

function readGraph(r: Reader): OnnxGraph {
  const g: OnnxGraph = { name: "", nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] };
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [f, w] = tag;
    if (f === 1) (r.expect(f, w, WIRE_LEN), g.nodes.push(readNode(r.sub("NodeProto"))));
    else if (f === 2) (r.expect(f, w, WIRE_LEN), (g.name = r.string()));
    else if (f === 5) (r.expect(f, w, WIRE_LEN), g.initializers.push(readTensor(r.sub("TensorProto"))));
    else if (f === 10) (r.expect(f, w, WIRE_LEN), (g.docString = r.string()));
    else if (f === 11) (r.expect(f, w, WIRE_LEN), g.inputs.push(readValueInfo(r.sub("ValueInfoProto"))));
    else if (f === 12) (r.expect(f, w, WIRE_LEN), g.outputs.push(readValueInfo(r.sub("ValueInfoProto"))));
    else if (f === 13) (r.expect(f, w, WIRE_LEN), g.valueInfo.push(readValueInfo(r.sub("ValueInfoProto"))));
    else r.skip(w);
  }
  return g;
}

function readStringEntry(r: Reader): { key: string; value: string } {
  const e = { key: "", value: "" };
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [f, w] = tag;
    if (f === 1) (r.expect(f, w, WIRE_LEN), (e.key = r.string()));
    else if (f === 2) (r.expect(f, w, WIRE_LEN), (e.value = r.string()));
    else r.skip(w);
  }
  return e;
}

/**
 * Reads ONNX protobuf bytes. Fields outside the subset above (training info, functions, sparse
 * initializers, graph-valued attributes) are skipped. Throws OnnxError on damaged input.
 */
export function decodeOnnx(bytes: Uint8Array): OnnxModel {
  if (!(bytes instanceof Uint8Array)) throw new OnnxError(`ONNX decode: expected bytes (a Uint8Array), got ${bytes === null ? "null" : typeof bytes}`);
  if (bytes.length === 0) throw new OnnxError("ONNX decode: the input is empty");
  const r = new Reader(bytes, 0, bytes.length, "ModelProto");
  const model: Partial<OnnxModel> & { opsetImport: OnnxOpset[]; metadataProps: { key: string; value: string }[] } = { opsetImport: [], metadataProps: [] };
  for (let tag = r.tag(); tag; tag = r.tag()) {
    const [f, w] = tag;
    if (f === 1) (r.expect(f, w, WIRE_VARINT), (model.irVersion = r.varint()));
    else if (f === 2) (r.expect(f, w, WIRE_LEN), (model.producerName = r.string()));
    else if (f === 3) (r.expect(f, w, WIRE_LEN), (model.producerVersion = r.string()));
    else if (f === 4) (r.expect(f, w, WIRE_LEN), (model.domain = r.string()));
    else if (f === 5) (r.expect(f, w, WIRE_VARINT), (model.modelVersion = r.varint()));
    else if (f === 6) (r.expect(f, w, WIRE_LEN), (model.docString = r.string()));
    else if (f === 7) (r.expect(f, w, WIRE_LEN), (model.graph = readGraph(r.sub("GraphProto"))));
    else if (f === 8) {
      r.expect(f, w, WIRE_LEN);
      const o = r.sub("OperatorSetIdProto");
      const opset: OnnxOpset = { domain: "", version: 0 };
      for (let t = o.tag(); t; t = o.tag()) {
        if (t[0] === 1) (o.expect(1, t[1], WIRE_LEN), (opset.domain = o.string()));
        else if (t[0] === 2) (o.expect(2, t[1], WIRE_VARINT), (opset.version = o.varint()));
        else o.skip(t[1]);
      }
      model.opsetImport.push(opset);
    } else if (f === 14) (r.expect(f, w, WIRE_LEN), model.metadataProps.push(readStringEntry(r.sub("StringStringEntryProto"))));
    else r.skip(w);
  }
  if (!model.graph) throw new OnnxError("ONNX decode: the model has no graph; the file is damaged or not an ONNX model");
  return { irVersion: model.irVersion ?? 0, ...model, graph: model.graph };
}

// ---------------------------------------------------------------------------------------------------
// Builders and readers of values

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function checkCount(name: string, dims: readonly number[], count: number): void {
  if (!dims.every((d) => Number.isInteger(d) && d >= 0))
    throw new OnnxError(`ONNX tensor '${name}': dims must be non-negative integers, got [${dims.join(", ")}]`);
  if (product(dims) !== count) throw new OnnxError(`ONNX tensor '${name}': dims [${dims.join(", ")}] hold ${product(dims)} values, got ${count}`);
}

/** A float32 tensor (an initializer, say), stored as raw little-endian bytes. */
export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  checkCount(name, dims, values.length);
  const raw = new Uint8Array(values.length * 4);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
  return { name, dims: [...dims], dataType: OnnxDataType.FLOAT, rawData: raw };
}

/** A float64 (DOUBLE) tensor, as raw little-endian bytes. */
export function doubleTensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  checkCount(name, dims, values.length);
  const raw = new Uint8Array(values.length * 8);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat64(i * 8, values[i], true);
  return { name, dims: [...dims], dataType: OnnxDataType.DOUBLE, rawData: raw };
}

/** An int64 tensor (shapes for Reshape, axes, labels), as raw little-endian bytes. */
export function int64Tensor(name: string, dims: readonly number[], values: ArrayLike<number>): OnnxTensor {
  checkCount(name, dims, values.length);
  const raw = new Uint8Array(values.length * 8);
  const dv = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isSafeInteger(values[i])) throw new OnnxError(`ONNX tensor '${name}': int64 value ${values[i]} at index ${i} is not a safe integer`);
    dv.setBigInt64(i * 8, BigInt(values[i]), true);
  }
  return { name, dims: [...dims], dataType: OnnxDataType.INT64, rawData: raw };
}

const RAW_READERS: Record<number, [number, (dv: DataView, at: number) => number]> = {
  [OnnxDataType.FLOAT]: [4, (dv, at) => dv.getFloat32(at, true)],
  [OnnxDataType.DOUBLE]: [8, (dv, at) => dv.getFloat64(at, true)],
  [OnnxDataType.INT8]: [1, (dv, at) => dv.getInt8(at)],
  [OnnxDataType.UINT8]: [1, (dv, at) => dv.getUint8(at)],
  [OnnxDataType.BOOL]: [1, (dv, at) => dv.getUint8(at)],
  [OnnxDataType.INT16]: [2, (dv, at) => dv.getInt16(at, true)],
  [OnnxDataType.UINT16]: [2, (dv, at) => dv.getUint16(at, true)],
  [OnnxDataType.INT32]: [4, (dv, at) => dv.getInt32(at, true)],
  [OnnxDataType.UINT32]: [4, (dv, at) => dv.getUint32(at, true)],
  [OnnxDataType.INT64]: [8, (dv, at) => Number(dv.getBigInt64(at, true))],
  [OnnxDataType.UINT64]: [8, (dv, at) => Number(dv.getBigUint64(at, true))],
};

/** The types whose values onnx.proto keeps in int32_data when raw_data is not used. */
const INT32_FIELD_TYPES: ReadonlySet<number> = new Set([
  OnnxDataType.INT32,
  OnnxDataType.INT16,
  OnnxDataType.INT8,
  OnnxDataType.UINT16,
  OnnxDataType.UINT8,
  OnnxDataType.BOOL,
]);

/**
 * A numeric tensor's values as float64, from whichever field holds them (raw_data, float_data,
 * double_data, int32_data, int64_data). The count must match the dims.
 */
export function tensorValues(t: OnnxTensor): Float64Array {
  const count = product(t.dims);
  if (!t.dims.every((d) => Number.isInteger(d) && d >= 0))
    throw new OnnxError(`ONNX tensor '${t.name}': dims must be non-negative integers, got [${t.dims.join(", ")}]`);
  let out: Float64Array;
  if (t.rawData && t.rawData.length > 0) {
    const reader = RAW_READERS[t.dataType];
    if (!reader) throw new OnnxError(`ONNX tensor '${t.name}': data type ${dataTypeName(t.dataType)} is not supported`);
    const [width, read] = reader;
    if (t.rawData.length !== count * width)
      throw new OnnxError(
        `ONNX tensor '${t.name}': raw_data has ${t.rawData.length} bytes, dims [${t.dims.join(", ")}] of ${dataTypeName(t.dataType)} need ${count * width}`,
      );
    const dv = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = read(dv, i * width);
    return out;
  }
  const typed =
    t.dataType === OnnxDataType.FLOAT
      ? t.floatData
      : t.dataType === OnnxDataType.DOUBLE
        ? t.doubleData
        : t.dataType === OnnxDataType.INT64
          ? t.int64Data
          : INT32_FIELD_TYPES.has(t.dataType)
            ? t.int32Data
            : undefined;
  if (typed === undefined && !RAW_READERS[t.dataType]) throw new OnnxError(`ONNX tensor '${t.name}': data type ${dataTypeName(t.dataType)} is not supported`);
  const values = typed ?? [];
  if (values.length !== count) throw new OnnxError(`ONNX tensor '${t.name}': holds ${values.length} values, dims [${t.dims.join(", ")}] need ${count}`);
  return Float64Array.from(values);
}

/** "FLOAT", "INT64", ... for messages. */
export function dataTypeName(code: number): string {
  const entry = Object.entries(OnnxDataType).find(([, v]) => v === code);
  return entry ? entry[0] : `code ${code}`;
}

export const attrFloat = (name: string, f: number): OnnxAttribute => ({ name, type: OnnxAttributeType.FLOAT, f });
export const attrInt = (name: string, i: number): OnnxAttribute => ({ name, type: OnnxAttributeType.INT, i });
export const attrString = (name: string, s: string): OnnxAttribute => ({ name, type: OnnxAttributeType.STRING, s });
export const attrTensor = (name: string, t: OnnxTensor): OnnxAttribute => ({ name, type: OnnxAttributeType.TENSOR, t });
export const attrFloats = (name: string, floats: readonly number[]): OnnxAttribute => ({ name, type: OnnxAttributeType.FLOATS, floats: [...floats] });
export const attrInts = (name: string, ints: readonly number[]): OnnxAttribute => ({ name, type: OnnxAttributeType.INTS, ints: [...ints] });
export const attrStrings = (name: string, strings: readonly string[]): OnnxAttribute => ({ name, type: OnnxAttributeType.STRINGS, strings: [...strings] });

/** A node; `name` defaults to none (ONNX allows it). */
export function onnxNode(opType: string, inputs: readonly string[], outputs: readonly string[], attributes: OnnxAttribute[] = [], name?: string): OnnxNode {
  return { opType, inputs: [...inputs], outputs: [...outputs], attributes, ...(name !== undefined ? { name } : {}) };
}

/** A tensor-typed graph input or output: elemType an OnnxDataType code, shape of sizes and symbolic names. */
export function tensorValueInfo(name: string, elemType: number, shape?: readonly OnnxDim[]): OnnxValueInfo {
  return { name, tensorType: { elemType, ...(shape ? { shape: [...shape] } : {}) } };
}

/** An attribute's value by name on a node, or undefined. */
export function findAttribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attributes.find((a) => a.name === name);
}
