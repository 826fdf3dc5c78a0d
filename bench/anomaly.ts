/**
 * What anomaly mode costs: the MLP training step and the 100k-op scalar chain with the mode off and
 * on, and (with --baseline) off against another build without the checks, each measurement in a fresh
 * process, taking turns. Prints medians and ratios from the same run.
 *
 *   npm run build && node --import tsx bench/anomaly.ts [--baseline OTHER/dist/node/index.js] [--runs N]
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { median, time } from "./timing.js";
import { backpropStep } from "./steps.js";

type Backprop = typeof import("../dist/node/index.js");
type Measure = "mlp" | "chain";

const HERE = fileURLToPath(import.meta.url);
const OURS = resolve(HERE, "../../dist/node/index.js");

/** One measurement in this process: steps/s of the MLP (native backend) or seconds of the chain. */
async function child(measure: Measure, entry: string, anomaly: boolean): Promise<number> {
  const bp = (await import(entry)) as Backprop;
  if (anomaly) bp.setDetectAnomaly(true);
  if (measure === "mlp") {
    const step = backpropStep(bp, bp.listBackends().includes("native") ? "native" : "wasm");
    for (let i = 0; i < 300; i++) step();
    return 1 / (await time(step, 20, 7, 0));
  }
  const chain = () => {
    const x0 = bp.tensor(0.5, { requiresGrad: true });
    let t = x0;
    for (let i = 0; i < 50_000; i++) t = t.mul(1.0000001).add(1e-7);
    t.backward();
  };
  return time(chain, 5, 7, 2);
}

function spawnChild(measure: Measure, entry: string, anomaly: boolean): number {
  const r = spawnSync(process.execPath, ["--import", "tsx", HERE, "--child", measure, entry, anomaly ? "on" : "off"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bench/anomaly child failed: ${r.stderr}`);
  return Number(JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}").value);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--child") {
    console.log(JSON.stringify({ value: await child(args[1] as Measure, args[2], args[3] === "on") }));
    return;
  }
  const base = args.includes("--baseline") ? resolve(args[args.indexOf("--baseline") + 1]) : null;
  const runs = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 5;
  const configs: [string, string, boolean][] = [
    ["off", OURS, false],
    ["on", OURS, true],
    ...(base ? ([["baseline", base, false]] as [string, string, boolean][]) : []),
  ];
  for (const measure of ["mlp", "chain"] as const) {
    const values = new Map<string, number[]>(configs.map(([name]) => [name, []]));
    for (let r = 0; r < runs; r++) for (const [name, entry, on] of configs) values.get(name)!.push(spawnChild(measure, entry, on));
    const med = (name: string) => median(values.get(name)!);
    const unit = measure === "mlp" ? "steps/s" : "s";
    console.log(`${measure === "mlp" ? "MLP 784-256-10 b128 step" : "scalar chain 100k ops"} (median of ${runs} processes each):`);
    for (const [name] of configs)
      console.log(
        `  ${name.padEnd(9)} ${med(name).toPrecision(4)} ${unit}   [${values
          .get(name)!
          .map((v) => v.toPrecision(3))
          .join(", ")}]`,
      );
    // Ratios as "time with X / time with mode off": above 1 means slower.
    const cost = (name: string) => (measure === "mlp" ? med("off") / med(name) : med(name) / med("off"));
    console.log(`  time on/off: ${cost("on").toFixed(2)}x${base ? `   time off/baseline: ${(1 / cost("baseline")).toFixed(3)}x` : ""}`);
  }
}

await main();
