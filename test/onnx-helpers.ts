/** Shared by the ONNX tests: whether Debian's Python has onnx / torch (else why not), and running bytes in ONNX Runtime. */
import * as ort from "onnxruntime-web";
import { pythonLacks } from "./python.js";

export { DEBIAN_PYTHON as PY } from "./python.js";

/** Why the onnx-package checks cannot run here, or false when they can. */
export const noPythonOnnx = pythonLacks("onnx, numpy", "python3-onnx");
/** Why the PyTorch checks cannot run here, or false when they can. */
export const noPythonTorch = pythonLacks("torch", "python3-torch");

ort.env.wasm.numThreads = 1; // no worker threads: the test process must be able to exit

export interface OrtOutput {
  data: Float32Array;
  dims: readonly number[];
}

/** Runs ONNX bytes in ONNX Runtime (its wasm build, in Node) on one float32 batch; returns every output by name. */
export async function runOrt(bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<Record<string, OrtOutput>> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  try {
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", x, shape) });
    const out: Record<string, OrtOutput> = {};
    for (const [name, t] of Object.entries(result)) out[name] = { data: t.data as Float32Array, dims: t.dims };
    return out;
  } finally {
    await session.release();
  }
}
