/**
 * Data augmentation for images stored as flat rows (the digits dataset's (N, 784)): each training batch
 * sees every image moved by a few pixels, so a network cannot memorize where the ink sits.
 */
import { Tensor } from "../core/tensor.js";
import type { Rng } from "../core/random.js";

export interface RandomShiftOptions {
  /** One image, channels first: [1, 28, 28] for the digits. */
  image: readonly [number, number, number];
  /** Largest shift in pixels along each axis (each image draws its own, uniformly from -max..max). */
  max: number;
}

/**
 * Each row of x (N, C*H*W) moved by its own random (dy, dx) in -max..max, the uncovered border zero
 * (the digits' background). Returns a new float32 tensor without a graph (it is an input, not a weight).
 */
export function randomShift(x: Tensor, options: RandomShiftOptions, rng: Rng): Tensor {
  const [c, h, w] = options.image;
  const max = options.max;
  if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`randomShift: max must be a non-negative integer, got ${max}`);
  const d = c * h * w;
  if (x.shape.length !== 2 || x.shape[1] !== d)
    throw new RangeError(`randomShift: expected rows of ${c}x${h}x${w} = ${d} values, got a tensor of shape (${x.shape.join(", ")})`);
  const n = x.shape[0];
  const src = x.data;
  const out = new Float32Array(n * d);
  const draw = () => Math.min(2 * max, Math.floor(rng.uniform() * (2 * max + 1))) - max;
  for (let i = 0; i < n; i++) {
    const dy = draw();
    const dx = draw();
    // Destination columns whose source column x - dx lies inside the image.
    const x0 = Math.max(0, dx);
    const x1 = Math.min(w, w + dx);
    for (let ch = 0; ch < c; ch++) {
      const plane = i * d + ch * h * w;
      for (let y = Math.max(0, dy); y < Math.min(h, h + dy); y++) {
        const to = plane + y * w;
        const from = plane + (y - dy) * w - dx;
        for (let col = x0; col < x1; col++) out[to + col] = src[from + col];
      }
    }
  }
  return new Tensor(out, [n, d]);
}
