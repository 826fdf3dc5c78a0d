// Development only: starts a worker thread from TypeScript sources (tests run src/ under tsx, and Node 20
// does not apply --import hooks to a worker's own entry module).
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.script);
