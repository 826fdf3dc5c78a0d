/**
 * The Node entry of `backprop`: the whole library, with the native backend selected when it was built
 * and the wasm kernels allowed one worker thread per core for large work.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { useWasmThreads } from "../index.js";
import { useNativeBackend } from "./native.js";

export * from "../index.js";
export { useNativeBackend, nativeAddon } from "./native.js";
export { loadDigits, loadIris } from "./datasets.js";
// Shadows the browser-safe loadModel of the star export: this one also rescales old iris checkpoints.
export { loadModel, legacyIrisScaling } from "./saved-model.js";

// Sources run under tsx in development (tests) carry a .ts extension and start through a tsx bootstrap.
const fromSource = import.meta.url.endsWith(".ts");
useWasmThreads(() => {
  const worker = fromSource
    ? new Worker(new URL("../../scripts/tsx-thread.mjs", import.meta.url), { workerData: { script: new URL("./wasm-thread.ts", import.meta.url).href } })
    : new Worker(new URL("./wasm-thread.js", import.meta.url));
  worker.unref(); // an idle pool never keeps the process alive
  // A thread that fails to start never reports ready, and the kernels keep to this thread.
  worker.on("error", () => undefined);
  return worker;
}, availableParallelism());
useNativeBackend();
