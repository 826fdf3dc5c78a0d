/** How the wasm backend's kernels size their work: when to take it at all, and how to split it over threads. */
import type { Job } from "./threads.js";

/** Below this many elements the copies and the call cost more than a JS loop. */
export const MIN_ELEMENTS = 512;
/** Elementwise work is split over threads from this many elements. */
export const PAR_ELEMENTS = 1 << 16;

/** [start, end) of part `t` of `total` items in `parts` pieces, boundaries on multiples of `align`. */
function share(total: number, parts: number, t: number, align: number): [number, number] {
  const per = Math.ceil(total / parts / align) * align;
  return [Math.min(total, t * per), Math.min(total, (t + 1) * per)];
}

/** A job for each non-empty part of `total` items split `parts` ways (see share): job(start, end). */
export function splitJobs(total: number, parts: number, align: number, job: (start: number, end: number) => Job): Job[] {
  const jobs: Job[] = [];
  for (let t = 0; t < parts; t++) {
    const [a, b] = share(total, parts, t, align);
    if (a < b) jobs.push(job(a, b));
  }
  return jobs;
}
