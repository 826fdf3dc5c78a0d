/** The benchmark's clock, shared by the main run and the processes of bench/isolated.ts. */

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
