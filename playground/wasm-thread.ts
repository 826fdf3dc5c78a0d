// A worker thread of the wasm kernels: the training worker starts these when the page is cross-origin
// isolated (SharedArrayBuffer), and large products and elementwise work are split over them.
import { serveThread, type ThreadInit } from "../src/core/backends/wasm/threads.js";

self.onmessage = (e: MessageEvent<ThreadInit>) => serveThread(e.data);
