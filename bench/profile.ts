/**
 * Where the time of one MLP training step goes: each backend kernel call (by primitive and input
 * shapes) and each optimizer update, timed around the call, and what is left (tracing the graph,
 * the backward interpreter, dispatch, allocation, garbage collection). Where python3 has
 * PyTorch, its profiler's breakdown of the same step follows, so the two can be compared op by op.
 *
 *   npm run bench:profile [-- [backend] [steps] [mlp|cnn]]   (backend: native where built, else wasm; model: mlp)
 *
 * The timers add about a microsecond per kernel call, and a garbage collection that starts inside a
 * call is charged to it (a few calls show a median of 2 us and a mean of 30). Run on demand, like
 * the rest of bench/.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as bp from "../dist/node/index.js";
import type { Kernel, Prim } from "../dist/core/prim.js";
import type { KernelOverrides, UpdateKernels } from "../dist/core/backend.js";
import { backpropStep } from "./steps.js";
import { cnnStep } from "./cnn.js";
import { TORCH_PYTHON } from "./timing.js";
import { nativeAddon } from "../dist/node/native.js";

const [backendArg, stepsArg, modelArg] = process.argv.slice(2);
const backendName = backendArg ?? (bp.listBackends().includes("native") ? "native" : "wasm");
const steps = Number(stepsArg ?? 2000);
const model = modelArg ?? "mlp";
function usage(problem: string): never {
  console.error(`bench:profile: ${problem}\nusage: npm run bench:profile [-- [backend] [steps] [mlp|cnn]]`);
  process.exit(1);
}
if (!bp.listBackends().includes(backendName)) usage(`backend "${backendName}" is not available (have ${bp.listBackends().join(", ")})`);
if (!Number.isInteger(steps) || steps < 1) usage(`steps must be a positive integer, got "${stepsArg}"`);
if (model !== "mlp" && model !== "cnn") usage(`model must be mlp or cnn, got "${model}"`);

const spent = new Map<string, { us: number; calls: number; kind: "matmul" | "kernel" | "update" }>();
function charge(key: string, kind: "matmul" | "kernel" | "update", t0: number): void {
  const us = (performance.now() - t0) * 1000;
  const e = spent.get(key);
  if (e) {
    e.us += us;
    e.calls++;
  } else spent.set(key, { us, calls: 1, kind });
}

/** The backend, with every kernel (its own, or the reference one it leaves to the table) and update timed. */
function profiled(name: string): bp.Backend {
  bp.setBackend(name);
  const base = bp.getBackend();
  const kernels: { [P in Prim]?: Kernel<P> } = {};
  for (const prim of Object.keys(bp.PRIMS) as Prim[]) {
    const inner = (base.kernels[prim] ?? bp.PRIMS[prim].kernel) as Kernel<Prim>;
    const kind = prim === "matmul" ? "matmul" : "kernel";
    (kernels as Record<Prim, Kernel<Prim>>)[prim] = (ins, params, out) => {
      const t0 = performance.now();
      const r = inner(ins, params, out);
      charge(`${prim} ${ins.map((b) => b.shape.join("x") || "scalar").join(", ")}`, kind, t0);
      return r;
    };
  }
  const u = base.updates;
  const updates: UpdateKernels | undefined = u && {
    sgd: (w, ...rest) => {
      const t0 = performance.now();
      u.sgd(w, ...rest);
      charge(`sgd update ${w.length}`, "update", t0);
    },
    adam: (w, ...rest) => {
      const t0 = performance.now();
      u.adam(w, ...rest);
      charge(`adam update ${w.length}`, "update", t0);
    },
  };
  return { name: `profiled-${name}`, kernels: kernels as KernelOverrides, updates, smallestWork: base.smallestWork };
}

const backend = profiled(backendName);
bp.registerBackend(backend);
const step = model === "cnn" ? cnnStep(bp, backend.name) : backpropStep(bp, backend.name);
// warm-up, as in the timed benchmark (see MLP_WARMUP and CNN_WARMUP in run.ts)
for (let i = 0; i < (model === "cnn" ? 50 : 1000); i++) step();
spent.clear();
const addon = backendName === "native" ? nativeAddon() : null;
const pool0 = addon?.poolStats();
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const stepUs = ((performance.now() - t0) * 1000) / steps;
const pool1 = addon?.poolStats();

const rows = [...spent].sort((a, b) => b[1].us - a[1].us);
const per = (us: number) => us / steps;
const total = (kind: string) => per(rows.filter(([, e]) => e.kind === kind).reduce((s, [, e]) => s + e.us, 0));
const fmt = (us: number) => `${us.toFixed(1).padStart(8)} us ${((100 * us) / stepUs).toFixed(1).padStart(5)}%`;
const what = model === "cnn" ? "CNN conv16-pool-conv32-pool-linear batch 64" : "MLP 784-256-10 batch 128";
console.log(
  `backprop (${backendName} backend), ${what}, SGD: ${stepUs.toFixed(0)} us a step (${(1e6 / stepUs).toFixed(0)} steps/s) over ${steps} steps`,
);
for (const [key, e] of rows) console.log(`  ${key.padEnd(40)} ${fmt(per(e.us))}  ${(e.calls / steps).toFixed(1)} calls`);
const kernelsUs = total("matmul") + total("kernel") + total("update");
console.log(`  ${"products (matmul)".padEnd(40)} ${fmt(total("matmul"))}`);
console.log(`  ${"other kernels".padEnd(40)} ${fmt(total("kernel"))}`);
console.log(`  ${"optimizer updates".padEnd(40)} ${fmt(total("update"))}`);
console.log(`  ${"rest: graph, autodiff, dispatch, GC".padEnd(40)} ${fmt(stepUs - kernelsUs)}`);
if (pool0 && pool1) {
  // Whether the native thread pool's helpers were awake to share the work (a job one sleeps through runs on the caller alone).
  const [jobs, joins, wakes] = pool1.map((v, i) => (v - pool0[i]) / steps);
  console.log(
    `  native thread pool: ${jobs.toFixed(1)} shared jobs a step, ${joins.toFixed(1)} helper joins, ${wakes.toFixed(2)} wake-ups of a sleeping helper`,
  );
}

// PyTorch's own profile of the same step, for comparison (skipped without it).
const here = dirname(fileURLToPath(import.meta.url));
const r = spawnSync(TORCH_PYTHON, [join(here, "torch-profile.py"), String(Math.min(steps, 500)), model], { encoding: "utf8", timeout: 600_000 });
if (r.error || r.status !== 0) console.log(`\nPyTorch: not profiled (${r.error?.message ?? r.stderr.trim().split("\n").pop()})`);
else console.log(`\n${r.stdout.trimEnd()}`);
