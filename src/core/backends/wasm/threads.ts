/**
 * Worker threads for the wasm kernels: every thread instantiates the same module over one shared
 * memory, so a job is just "call export f with these integer arguments" on a slice of the work.
 * Jobs are handed over and finished through a control block at the start of that memory with
 * Atomics.wait/notify, which keeps every kernel synchronous (a tensor op returns its result, as everywhere
 * else in the library). The platform supplies the threads: Node's worker_threads or browser Workers.
 */
import { WASM_EXPORTS } from "./module.js";

/** What a spawned thread must answer to: one message, the `ThreadInit`. */
export interface ThreadPort {
  postMessage(message: ThreadInit): void;
  terminate?(): unknown;
}
export type SpawnThread = () => ThreadPort;

export interface ThreadInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly slot: number;
}

export type WasmFn = (...args: number[]) => unknown;
export interface Job {
  readonly fn: number;
  readonly args: readonly number[];
}

/** Bytes at the start of the memory reserved for the control block (32 int32 per thread). */
export const CONTROL_BYTES = 4096;
const SLOT = 32;
const MAX_ARGS = SLOT - 4;
export const MAX_THREADS = CONTROL_BYTES / 4 / SLOT;
// Slot layout: state, ready flag, function index, argument count, arguments.
const IDLE = 0;
const POSTED = 1;
const DONE = 2;
const EXIT = 3;

export function fnIndex(name: (typeof WASM_EXPORTS)[number]): number {
  return WASM_EXPORTS.indexOf(name);
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
export function canBlock(): boolean {
  if (typeof SharedArrayBuffer === "undefined" || typeof Atomics === "undefined") return false;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0);
    return true;
  } catch {
    return false;
  }
}

export class ThreadPool {
  private readonly ctl: Int32Array;
  private readonly ports: ThreadPort[] = [];
  private broken = false;

  constructor(memory: WebAssembly.Memory, module: WebAssembly.Module, spawn: SpawnThread, workers: number) {
    this.ctl = new Int32Array(memory.buffer, 0, CONTROL_BYTES / 4);
    for (let w = 1; w <= Math.min(workers, MAX_THREADS - 1); w++) {
      Atomics.store(this.ctl, w * SLOT, IDLE);
      Atomics.store(this.ctl, w * SLOT + 1, 0);
      const port = spawn();
      port.postMessage({ module, memory, slot: w });
      this.ports.push(port);
    }
  }

  /** Threads that have started and can take a job now (the calling thread not counted). */
  ready(): number {
    if (this.broken) return 0;
    let n = 0;
    while (n < this.ports.length && Atomics.load(this.ctl, (n + 1) * SLOT + 1) === 1) n++;
    return n;
  }

  /** Resolves once `count` threads (default: all) are ready, or after `timeoutMs`. */
  async whenReady(count = this.ports.length, timeoutMs = 10_000): Promise<number> {
    const start = Date.now();
    while (this.ready() < count && Date.now() - start < timeoutMs) await new Promise((r) => setTimeout(r, 5));
    return this.ready();
  }

  /**
   * Runs jobs[0] here and jobs[i] on thread i; returns when all are done. A thread that does not
   * finish long after this one did is taken for dead: its job runs here and the pool is retired, so
   * a lost worker costs speed, never a hang or a wrong result.
   */
  run(fns: readonly WasmFn[], jobs: readonly Job[]): void {
    const ctl = this.ctl;
    for (let i = 1; i < jobs.length; i++) {
      const base = i * SLOT;
      const { fn, args } = jobs[i];
      if (args.length > MAX_ARGS) throw new Error(`wasm thread job: ${args.length} arguments, at most ${MAX_ARGS}`);
      ctl[base + 2] = fn;
      ctl[base + 3] = args.length;
      for (let a = 0; a < args.length; a++) ctl[base + 4 + a] = args[a];
      Atomics.store(ctl, base, POSTED);
      Atomics.notify(ctl, base);
    }
    const t0 = Date.now();
    fns[jobs[0].fn](...jobs[0].args);
    const patience = Math.max(2000, 50 * (Date.now() - t0));
    for (let i = 1; i < jobs.length; i++) {
      const base = i * SLOT;
      const deadline = Date.now() + patience;
      while (Atomics.load(ctl, base) === POSTED && Date.now() < deadline) Atomics.wait(ctl, base, POSTED, 50);
      if (Atomics.load(ctl, base) !== DONE) {
        this.retire();
        fns[jobs[i].fn](...jobs[i].args);
        continue;
      }
      Atomics.store(ctl, base, IDLE);
    }
  }

  /** Stops the threads (they exit their wait loop) and serves every later job on the calling thread. */
  retire(): void {
    this.broken = true;
    for (let w = 1; w <= this.ports.length; w++) {
      Atomics.store(this.ctl, w * SLOT, EXIT);
      Atomics.notify(this.ctl, w * SLOT);
    }
  }
}

/** The body of a worker thread: instantiate the module over the shared memory, then serve jobs until told to exit. */
export function serveThread(init: ThreadInit): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const fns = WASM_EXPORTS.map((name) => instance.exports[name] as WasmFn);
  const ctl = new Int32Array(init.memory.buffer, 0, CONTROL_BYTES / 4);
  const base = init.slot * SLOT;
  Atomics.store(ctl, base + 1, 1);
  const args: number[] = [];
  for (;;) {
    let s: number;
    while ((s = Atomics.load(ctl, base)) !== POSTED) {
      if (s === EXIT) return;
      Atomics.wait(ctl, base, s);
    }
    args.length = ctl[base + 3];
    for (let a = 0; a < args.length; a++) args[a] = ctl[base + 4 + a];
    fns[ctl[base + 2]](...args);
    Atomics.compareExchange(ctl, base, POSTED, DONE); // an EXIT that came meanwhile stays
    Atomics.notify(ctl, base);
  }
}
