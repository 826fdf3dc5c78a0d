/** Entry of a Node worker thread of the wasm backend: serves kernel jobs on the shared memory. */
import { parentPort } from "node:worker_threads";
import { serveThread, type ThreadInit } from "../core/backends/wasm/threads.js";

parentPort?.once("message", (init: ThreadInit) => serveThread(init));
