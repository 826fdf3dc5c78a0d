/**
 * `npm run bench [-- --json] [-- --quick] [-- --cnn]`: times backprop and its peers in one run (TensorFlow.js with
 * its cpu and wasm backends; NumPy and PyTorch where python3 has them) and reports medians and the
 * ratios backprop/peer. Absolute times on shared machines are noise; the ratios are the result.
 */
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
// The built package, as users run it (tsx-transpiled sources are slower).
import * as bp from "../dist/node/index.js";
import { median, productsPerRound, time as timeRounds, TORCH_PYTHON, WARMUP_SECONDS } from "./timing.js";

const args = new Set(process.argv.slice(2));
const json = args.has("--json");
const quick = args.has("--quick");
/** Only the CNN training step (bench/cnn.ts) against TensorFlow.js's wasm backend and PyTorch. */
const cnnOnly = args.has("--cnn");
const ROUNDS = quick ? 3 : 7;
const MATMUL = [128, 256, 512, 1024];
const ELEMENTWISE = [1_000_000, 10_000_000];
/**
 * Training steps before an MLP is timed, for every library alike (the slow JS kernels excepted): a
 * training run takes thousands, and our step reaches its steady speed only after several hundred (on
 * the 2-core Xeon: about 480 steps/s over the first 100, 800-950 over steps 100-600, 1,100-1,200 from
 * step 700 on, while the heap and malloc's arenas grow to their working size and V8 compiles the hot
 * paths). Timed after 300, it read 820-940. A slower library stops warming up after WARMUP_SECONDS.
 */
const MLP_WARMUP = 1000;
/** Fresh processes per library for the isolated measures (their median is reported). */
const PROCESSES = quick ? 1 : 3;
const here = dirname(new URL(import.meta.url).pathname);
const log = (s: string): void => {
  if (json) process.stderr.write(s + "\n");
  else console.log(s);
};

/** Median seconds per call of `fn` (see bench/timing.ts), over ROUNDS rounds unless given. */
const time = (fn: () => unknown | Promise<unknown>, inner = 1, rounds = ROUNDS, warmup = inner): Promise<number> => timeRounds(fn, inner, rounds, warmup);

type Row = Record<string, number | null>;
const results: Record<string, Row> = {};
const put = (metric: string, who: string, value: number | null) => ((results[metric] ??= {})[who] = value);

const BACKENDS = ["native", "wasm", "js"].filter((b) => bp.listBackends().includes(b));

async function benchBackprop(): Promise<void> {
  const rng = new bp.Rng(0);
  // The wasm kernels start their worker threads on the first large job: start them before timing.
  bp.setBackend("wasm");
  bp.add(bp.zeros([1 << 17]), 1);
  const threads = 1 + ((await bp.createWasmBackend()?.pool()?.whenReady()) ?? 0);
  log(`wasm kernels: ${threads} thread(s)`);
  for (const n of MATMUL) {
    const a = bp.randn([n, n], { rng });
    const b = bp.randn([n, n], { rng });
    for (const backend of BACKENDS) {
      if (backend === "js" && n > 512) continue; // minutes per round: the reference kernel is for correctness
      bp.setBackend(backend);
      const t = await time(() => bp.matmul(a, b), productsPerRound(n));
      put(`matmul ${n} (GFLOP/s)`, `backprop-${backend}`, (2 * n ** 3) / t / 1e9);
    }
  }
  for (const n of ELEMENTWISE) {
    const a = bp.randn([n], { rng });
    const b = bp.randn([n], { rng });
    for (const backend of BACKENDS) {
      bp.setBackend(backend);
      const t = await time(() => bp.add(a, b), Math.max(1, Math.floor(2e7 / n)));
      put(`add ${n.toExponential(0)} (Gelem/s)`, `backprop-${backend}`, n / t / 1e9);
      const te = await time(() => bp.exp(a), Math.max(1, Math.floor(2e7 / n)));
      put(`exp ${n.toExponential(0)} (Gelem/s)`, `backprop-${backend}`, n / te / 1e9);
    }
  }
}

/**
 * The MLP training step, the cost of its backward pass next to its forward pass, and the scalar
 * chain, each library in fresh processes (bench/isolated.ts), taking turns; the median over the
 * processes. Each then runs as it would in a user's program.
 */
function benchIsolated(): void {
  const mlp = [...BACKENDS.map((b) => `backprop-${b}`), "tfjs-cpu", "tfjs-wasm"];
  const jobs: [string, string, string][] = [
    ...mlp.map((who): [string, string, string] => ["mlp", who, "MLP 784-256-10 b128 (steps/s)"]),
    ["backward-cost", `backprop-${BACKENDS[0]}`, "MLP backward/forward (time ratio)"],
    ["chain", "backprop", "scalar chain 100k ops fwd+bwd (s)"],
    ["chain", "micrograd-js", "scalar chain 100k ops fwd+bwd (s)"],
  ];
  const values = new Map<string, number[]>();
  for (let p = 0; p < PROCESSES; p++) {
    for (const [measure, who, metric] of jobs) {
      const slow = who === "backprop-js" || who === "tfjs-cpu";
      if (slow && p > 0) continue; // a few steps a second: one process says enough
      const r = spawnSync(
        process.execPath,
        ["--import", "tsx", join(here, "isolated.ts"), measure, who, String(slow ? 3 : ROUNDS), String(slow ? 4 : MLP_WARMUP)],
        { encoding: "utf8", timeout: 600_000 },
      );
      if (r.status !== 0) {
        log(`${measure} ${who}: failed (${(r.stderr || "").trim().split("\n").pop()})`);
        continue;
      }
      const key = `${metric}\u0000${who}`;
      values.set(key, [...(values.get(key) ?? []), (JSON.parse(r.stdout) as { value: number }).value]);
    }
  }
  for (const [key, v] of values) {
    const [metric, who] = key.split("\u0000");
    put(metric, who, median(v));
  }
}

/** Warm-up steps of the CNN (or WARMUP_SECONDS): ours reaches its steady speed within a few dozen. */
const CNN_WARMUP = 50;
const CNN_METRIC = "CNN conv16-pool-conv32-pool-linear b64 (steps/s)";

/**
 * The CNN training step of bench/cnn.ts: ours on the native and wasm backends and TensorFlow.js's wasm
 * backend, each in fresh processes (bench/isolated.ts), and PyTorch CPU (bench/torch-cnn.py, with
 * TORCH_PYTHON), on as many threads as our native pool has; PROCESSES rounds taking turns, the median
 * of each. Ratios from one machine at one time are the result; the machines here are shared.
 */
function benchCnn(): void {
  const threads = bp.nativeAddon()?.threads() ?? 1;
  const ours = BACKENDS.filter((b) => b !== "js").map((b) => `backprop-${b}`);
  const values = new Map<string, number[]>();
  const add = (who: string, v: number) => values.set(who, [...(values.get(who) ?? []), v]);
  for (let p = 0; p < PROCESSES; p++) {
    for (const who of [...ours, "tfjs-wasm"]) {
      const r = spawnSync(process.execPath, ["--import", "tsx", join(here, "isolated.ts"), "cnn", who, String(ROUNDS), String(CNN_WARMUP)], {
        encoding: "utf8",
        timeout: 600_000,
        env: { ...process.env, BACKPROP_CNN_THREADS: String(threads) },
      });
      if (r.status !== 0) {
        log(`cnn ${who}: failed (${(r.stderr || "").trim().split("\n").pop()})`);
        continue;
      }
      if (p === 0) log(`  ${r.stderr.trim().split("\n").pop()}`);
      add(who, (JSON.parse(r.stdout) as { value: number }).value);
    }
    const t = spawnSync(TORCH_PYTHON, [join(here, "torch-cnn.py"), String(threads), String(ROUNDS), String(CNN_WARMUP), String(WARMUP_SECONDS)], {
      encoding: "utf8",
      timeout: 600_000,
    });
    if (t.status !== 0) {
      if (p === 0) log(`pytorch (${TORCH_PYTHON}): not available (${(t.stderr || t.error?.message || "").trim().split("\n").pop()})`);
      continue;
    }
    const torch = JSON.parse(t.stdout) as { version: string; threads: number; mkldnn: boolean; stepsPerSecond: number };
    if (p === 0) log(`  pytorch ${torch.version}: ${torch.threads} thread(s), oneDNN ${torch.mkldnn ? "on" : "off"}`);
    add("pytorch", torch.stepsPerSecond);
  }
  for (const [who, v] of values) {
    log(`  ${who}: ${v.map((x) => x.toFixed(1)).join(", ")} steps/s`);
    put(CNN_METRIC, who, median(v));
  }
}

/** Memory over a long training run (bench/heap.ts, in a process of its own): should stay flat. */
function benchHeap(): void {
  const steps = quick ? 2000 : 10_000;
  const r = spawnSync(process.execPath, ["--import", "tsx", join(here, "heap.ts"), String(steps)], { encoding: "utf8", timeout: 900_000 });
  if (r.status !== 0) return log(`heap run failed: ${r.stderr.trim().split("\n").pop()}`);
  const { mb } = JSON.parse(r.stdout) as { mb: number[] };
  put("heap + buffers after 1,000 steps (MB)", "backprop", mb[0]);
  put(`heap + buffers after ${steps.toLocaleString("en")} steps (MB)`, "backprop", mb[mb.length - 1]);
  put(`heap + buffers, largest over steps 1,000-${steps.toLocaleString("en")} (MB)`, "backprop", Math.max(...mb));
}

async function benchTfjs(backend: "cpu" | "wasm"): Promise<void> {
  if (backend === "wasm") {
    const require = createRequire(import.meta.url);
    setWasmPaths(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + "/");
  }
  if (!(await tf.setBackend(backend))) return log(`tfjs-${backend}: not available`);
  const who = `tfjs-${backend}`;
  for (const n of MATMUL) {
    if (backend === "cpu" && n > 512) continue;
    const a = tf.randomNormal([n, n]);
    const b = tf.randomNormal([n, n]);
    const t = await time(() => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    }, productsPerRound(n));
    put(`matmul ${n} (GFLOP/s)`, who, (2 * n ** 3) / t / 1e9);
    a.dispose();
    b.dispose();
  }
  for (const n of ELEMENTWISE) {
    const a = tf.randomNormal([n]);
    const b = tf.randomNormal([n]);
    const t = await time(
      () => {
        const c = tf.add(a, b);
        c.dataSync();
        c.dispose();
      },
      Math.max(1, Math.floor(2e7 / n)),
    );
    put(`add ${n.toExponential(0)} (Gelem/s)`, who, n / t / 1e9);
    const te = await time(
      () => {
        const c = tf.exp(a);
        c.dataSync();
        c.dispose();
      },
      Math.max(1, Math.floor(2e7 / n)),
    );
    put(`exp ${n.toExponential(0)} (Gelem/s)`, who, n / te / 1e9);
    a.dispose();
    b.dispose();
  }
}

function benchPython(): void {
  const env = { ...process.env };
  // The machine sets these for old OpenBLAS builds; a current NumPy runs its best kernel without them.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(
    "python3",
    [
      join(here, "peers.py"),
      JSON.stringify({
        rounds: ROUNDS,
        matmul: MATMUL,
        productsPerRound: MATMUL.map(productsPerRound),
        elementwise: ELEMENTWISE,
        mlpWarmup: MLP_WARMUP,
        warmupSeconds: WARMUP_SECONDS,
      }),
    ],
    { encoding: "utf8", env, timeout: 600_000 },
  );
  if (r.status !== 0) return log(`python peers: not available (${(r.stderr || "no python3").trim().split("\n").pop()})`);
  const peers = JSON.parse(r.stdout) as Record<
    string,
    {
      version: string;
      matmul: Record<string, number>;
      elementwise?: Record<string, number>;
      exp?: Record<string, number>;
      mlpStepsPerSecond: number;
      blas?: unknown;
      threads?: number;
    } | null
  >;
  for (const [who, p] of Object.entries(peers)) {
    if (!p) {
      log(`${who}: not installed for python3`);
      continue;
    }
    log(`${who} ${p.version}${p.threads ? `, ${p.threads} threads` : ""}${p.blas ? ` ${JSON.stringify(p.blas)}` : ""}`);
    for (const [n, g] of Object.entries(p.matmul)) put(`matmul ${n} (GFLOP/s)`, who, g);
    for (const [n, g] of Object.entries(p.elementwise ?? {})) put(`add ${Number(n).toExponential(0)} (Gelem/s)`, who, g);
    for (const [n, g] of Object.entries(p.exp ?? {})) put(`exp ${Number(n).toExponential(0)} (Gelem/s)`, who, g);
    put("MLP 784-256-10 b128 (steps/s)", who, p.mlpStepsPerSecond);
  }
}

/** How explain's cost grows with the expression, next to numerical differentiation's. */
async function benchGrowth(): Promise<void> {
  for (const terms of quick ? [10, 100, 1000] : [10, 100, 1000, 10000, 33333]) {
    // sum_i sin(x_i) * x_{i+1} over `terms` inputs: about 3 nodes per term.
    const names = Array.from({ length: terms }, (_, i) => `x${i}`);
    const src = names.map((n, i) => `sin(${n}) * ${names[(i + 1) % terms]}`).join(" + ");
    const at = [names.map((n, i) => `${n}=${(i % 7) / 10 + 0.1}`).join(",")];
    const given = bp.parseAssignments(at);
    const nodes = bp.explain(src, given).stages.length;
    const t = await time(() => bp.explain(src, given), 1, quick ? 1 : 3);
    put(`explain, ${nodes} stages (s)`, "backprop", t);
    if (terms <= 1000) {
      // Central differences: two forward evaluations per input.
      const xs = names.map((n) => given.get(n)!);
      const f = (...v: bp.Tensor[]) => v.reduce((acc: bp.Tensor, xi, i) => acc.add(xi.sin().mul(v[(i + 1) % v.length])), bp.scalar(0, "float64"));
      const tNum = await time(
        () =>
          bp.noGrad(() => {
            for (let i = 0; i < xs.length; i++) {
              f(...xs);
              f(...xs);
            }
          }),
        1,
        1,
      );
      const tGrad = await time(
        () =>
          bp.grad(
            (...v: bp.Tensor[]) => f(...v),
            names.map((_, i) => i),
          )(...xs),
        1,
        3,
      );
      put(`gradient of ${terms} inputs: numeric/backprop (time ratio)`, "backprop", tNum / tGrad);
    }
  }
}

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const machine = `${cpu}, ${cpus().length} cores, Node ${process.version}, native backend: ${bp.nativeAddon()?.isa() ?? "not built"}`;
  log(`machine: ${machine}`);
  if (cnnOnly) {
    log("CNN training step, each library in processes of its own…");
    benchCnn();
    return report(machine);
  }
  log("backprop…");
  await benchBackprop();
  log("training step and scalar chain, each in processes of its own…");
  benchIsolated();
  log("TensorFlow.js cpu…");
  await benchTfjs("cpu");
  log("TensorFlow.js wasm…");
  await benchTfjs("wasm");
  log("NumPy / PyTorch…");
  benchPython();
  log("growth…");
  await benchGrowth();
  log("memory over a long run…");
  benchHeap();
  log("CNN training step…");
  benchCnn();
  report(machine);
}

/** The results as JSON or a table with the ratios backprop/peer. */
function report(machine: string): void {
  const ours = (row: Row) => row["backprop-native"] ?? row["backprop-wasm"] ?? row["backprop"] ?? row["backprop-js"] ?? null;
  const peers = ["tfjs-cpu", "tfjs-wasm", "numpy", "pytorch", "micrograd-js"];
  if (json) {
    console.log(JSON.stringify({ machine, rounds: ROUNDS, results }));
    return;
  }
  const fmt = (v: number | null | undefined) => (v === null || v === undefined ? "–" : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));
  const lines = ["| measure | backprop | " + peers.join(" | ") + " | backprop/peer |", "|---|---|" + peers.map(() => "---|").join("") + "---|"];
  for (const [metric, row] of Object.entries(results)) {
    const o = ours(row);
    const lowerIsBetter = metric.endsWith("(s)");
    const ratios = peers.filter((p) => row[p] && o).map((p) => `${p} ${fmt(lowerIsBetter ? row[p]! / o! : o! / row[p]!)}x`);
    // What a browser gets: our wasm backend against TensorFlow.js's.
    if (row["backprop-native"] && row["backprop-wasm"] && row["tfjs-wasm"]) ratios.push(`(wasm/tfjs-wasm ${fmt(row["backprop-wasm"] / row["tfjs-wasm"])}x)`);
    const others = ["wasm", "js"].filter((b) => row[`backprop-${b}`] && row["backprop-native"]).map((b) => `${b} ${fmt(row[`backprop-${b}`])}`);
    const js = others.length ? ` (${others.join(", ")})` : "";
    lines.push(`| ${metric} | ${fmt(o)}${js} | ${peers.map((p) => fmt(row[p])).join(" | ")} | ${ratios.join(", ") || "–"} |`);
  }
  console.log(`\n${machine}; medians of ${ROUNDS} rounds; ratios > 1 mean backprop is faster\n`);
  console.log(lines.join("\n"));
}

await main();
