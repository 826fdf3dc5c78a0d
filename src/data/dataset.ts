/** Classification datasets as tensors: seeded shuffles, train/test splits, batches, standardization. */
import { Tensor } from "../core/tensor.js";
import type { Rng } from "../core/random.js";

export interface Dataset {
  name: string;
  /** Features, (N, D) float32. */
  x: Tensor;
  /** Class index of each example. */
  y: Int32Array;
  /** Class names, indexed by class. */
  classes: string[];
}

export function size(ds: Dataset): number {
  return ds.y.length;
}

/** The examples at `indices`, in that order (rows copied into new tensors). */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const d = ds.x.shape[1];
  const x = new Float32Array(indices.length * d);
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    x.set(ds.x.data.subarray(k * d, (k + 1) * d), i * d);
    y[i] = ds.y[k];
  }
  return { name: ds.name, x: new Tensor(x, [indices.length, d]), y, classes: ds.classes };
}

/** A seeded shuffle, then the last `testFraction` of the examples become the test set. */
export function trainTestSplit(ds: Dataset, testFraction: number, rng: Rng): { train: Dataset; test: Dataset } {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`trainTestSplit: testFraction must be in (0, 1), got ${testFraction}`);
  const order = rng.shuffle(Array.from({ length: size(ds) }, (_, i) => i));
  const nTest = Math.max(1, Math.round(order.length * testFraction));
  return { train: subset(ds, order.slice(0, order.length - nTest)), test: subset(ds, order.slice(order.length - nTest)) };
}

/** Minibatches in a fresh seeded order (the last one may be smaller). */
export function* batches(ds: Dataset, batchSize: number, rng: Rng): Generator<Dataset> {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batches: batch size must be a positive integer, got ${batchSize}`);
  const order = rng.shuffle(Array.from({ length: size(ds) }, (_, i) => i));
  for (let s = 0; s < order.length; s += batchSize) yield subset(ds, order.slice(s, s + batchSize));
}

/** Per-feature statistics of a training set, kept so that new data can be scaled as the training data was. */
export interface Standardizer {
  /** Mean of each feature over the training set. */
  mean: number[];
  /** Population standard deviation of each feature (1 where a feature is constant, so it is left as it is). */
  std: number[];
  /** (x - mean) / std per feature, on any dataset with as many features. */
  apply(ds: Dataset): Dataset;
}

/** The mean and standard deviation of each feature of `train` (float64 sums), and the scaling they define. */
export function standardizer(train: Dataset): Standardizer {
  const [n, d] = train.x.shape;
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += train.x.data[i * d + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sd[j] += (train.x.data[i * d + j] - mean[j]) ** 2 / n;
  for (let j = 0; j < d; j++) sd[j] = Math.sqrt(sd[j]) || 1;
  return {
    mean: Array.from(mean),
    std: Array.from(sd),
    apply(ds: Dataset): Dataset {
      if (ds.x.shape[1] !== d) throw new Error(`standardize: the data has ${ds.x.shape[1]} features, the statistics ${d}`);
      const x = Float32Array.from(ds.x.data, (v, k) => (v - mean[k % d]) / sd[k % d]);
      return { ...ds, x: new Tensor(x, ds.x.shape) };
    },
  };
}

/** Standardizes features with the training set's mean and standard deviation (applied to both sets). */
export function standardize(train: Dataset, ...others: Dataset[]): Dataset[] {
  const s = standardizer(train);
  return [train, ...others].map((ds) => s.apply(ds));
}
