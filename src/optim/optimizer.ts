/**
 * Optimizers update parameters in place (`weights -= step_size * gradient` and its refinements),
 * with state buffers allocated once per parameter: no allocation per step.
 */
import type { Tensor } from "../core/tensor.js";
import { allocate, type TypedArray } from "../core/dtype.js";
import { getBackend } from "../core/backend.js";

export abstract class Optimizer {
  readonly params: Tensor[];
  /** Steps taken so far. */
  steps = 0;

  constructor(params: Iterable<Tensor>) {
    this.params = [...params];
    for (const p of this.params) {
      if (!p.requiresGrad) throw new Error("optimizer: every parameter must have requiresGrad set");
    }
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  /** Applies one update from the current `.grad` of each parameter (parameters without one are skipped). */
  step(): void {
    this.steps++;
    this.params.forEach((p, i) => {
      if (p.grad) this.update(p.data, p.grad.data, i);
    });
  }

  protected abstract update(w: TypedArray, g: TypedArray, index: number): void;

  protected buffer(store: (TypedArray | undefined)[], index: number, like: TypedArray): TypedArray {
    return (store[index] ??= allocate(like instanceof Float64Array ? "float64" : "float32", like.length));
  }
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  /** L2 penalty added to the gradient: g += weightDecay * w. */
  weightDecay?: number;
}

/** SGD with optional momentum (PyTorch's form: v = mu v + g) and Nesterov's look-ahead. */
export class SGD extends Optimizer {
  readonly lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private readonly velocity: (TypedArray | undefined)[] = [];

  constructor(params: Iterable<Tensor>, options: SgdOptions) {
    super(params);
    checkRate(options.lr);
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    if (this.nesterov && this.momentum <= 0) throw new Error("SGD: Nesterov momentum needs momentum > 0");
  }

  protected update(w: TypedArray, g: TypedArray, index: number): void {
    const { lr, momentum: mu, weightDecay: wd } = this;
    const fast = getBackend().updates;
    if (fast && w instanceof Float32Array && g instanceof Float32Array) {
      const first = mu !== 0 && this.velocity[index] === undefined;
      fast.sgd(w, g, mu === 0 ? null : (this.buffer(this.velocity, index, w) as Float32Array), lr, mu, wd, this.nesterov, first);
      return;
    }
    if (mu === 0) {
      for (let i = 0; i < w.length; i++) w[i] -= lr * (g[i] + wd * w[i]);
      return;
    }
    const first = this.velocity[index] === undefined;
    const v = this.buffer(this.velocity, index, w);
    for (let i = 0; i < w.length; i++) {
      const gi = g[i] + wd * w[i];
      v[i] = first ? gi : mu * v[i] + gi;
      w[i] -= lr * (this.nesterov ? gi + mu * v[i] : v[i]);
    }
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** Adam with bias correction; weight decay as an L2 term in the gradient (use AdamW to decouple it). */
export class Adam extends Optimizer {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  protected readonly decoupled: boolean = false;
  private readonly m: (TypedArray | undefined)[] = [];
  private readonly v: (TypedArray | undefined)[] = [];

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params);
    this.lr = options.lr ?? 1e-3;
    checkRate(this.lr);
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
  }

  protected update(w: TypedArray, g: TypedArray, index: number): void {
    const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd } = this;
    const m = this.buffer(this.m, index, w);
    const v = this.buffer(this.v, index, w);
    const c1 = 1 - Math.pow(b1, this.steps);
    const c2 = 1 - Math.pow(b2, this.steps);
    const fast = getBackend().updates;
    if (fast && w instanceof Float32Array && g instanceof Float32Array) {
      fast.adam(w, g, m as Float32Array, v as Float32Array, lr, b1, b2, eps, wd, this.decoupled, c1, c2);
      return;
    }
    for (let i = 0; i < w.length; i++) {
      const gi = this.decoupled ? g[i] : g[i] + wd * w[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      if (this.decoupled) w[i] -= lr * wd * w[i];
      w[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
    }
  }
}

/** Adam with decoupled weight decay (Loshchilov and Hutter): w -= lr * wd * w, apart from the gradient. */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  constructor(params: Iterable<Tensor>, options: AdamOptions = {}) {
    super(params, { weightDecay: 0.01, ...options });
  }
}

function checkRate(lr: number): void {
  if (!Number.isFinite(lr) || lr <= 0) throw new Error(`optimizer: the learning rate must be a positive number, got ${lr}`);
}
