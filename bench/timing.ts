/** The benchmark's clock, shared by the main run and the processes of bench/isolated.ts. */
import { existsSync } from "node:fs";

/**
 * The Python with PyTorch for the CNN measure and the step profiles: BACKPROP_PYTHON, else Debian's
 * /usr/bin/python3 (python3-torch) where it exists, else python3 on PATH.
 */
export const TORCH_PYTHON = process.env.BACKPROP_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");

/**
 * The MLP warm-up ends after its steps or this many seconds, whichever comes first, for every library
 * (bench/isolated.ts; peers.py gets it from run.ts): a thousand steps at TensorFlow.js's 13-30 a
 * second would take a minute per process.
 */
export const WARMUP_SECONDS = 10;

/**
 * Products timed in a round of a matmul measure, for every library (peers.py gets them from run.ts):
 * three at least, since a single 1024 product's time depended on whether its 4 MB output was memory
 * the process had touched before (9 ms) or not (13-14 ms).
 */
export const productsPerRound = (n: number): number => Math.max(3, Math.floor(2e8 / n ** 3));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Median seconds per call of `fn` over `rounds` rounds of `inner` calls, after `warmup` calls (one
 * round unless given: a training step needs dozens before the JIT has compiled its hot paths).
 * Promises are awaited (TensorFlow.js reads back asynchronously); plain results cost a microtask.
 */
export async function time(fn: () => unknown | Promise<unknown>, inner: number, rounds: number, warmup = inner): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < inner; i++) await fn();
    out.push((performance.now() - t) / 1000 / inner);
  }
  return median(out);
}
