/**
 * Optimizers update parameters in place (`weights -= step_size * gradient` and its refinements),
 * with state buffers allocated once per parameter: no allocation per step.
 */
import type { Tensor } from "../core/tensor.js";
import { allocate, type TypedArray } from "../core/dtype.js";
import { getBackend } from "../core/backend.js";
import { checkOptionKeys } from "../core/options.js";
import { anomalyOn, reportUpdate } from "../core/anomaly.js";

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
      if (!p.grad) return;
      this.update(p.data, p.grad.data, i);
      if (anomalyOn) reportUpdate(this.constructor.name, i, p.shape, p.data, p.grad.data);
    });
  }

  protected abstract update(w: TypedArray, g: TypedArray, index: number): void;

  /**
   * The state buffers of parameter `index` by name (SGD's velocity; Adam's m and v), each undefined
   * until its first update; read by exporters (bp.toOnnxTraining), never written.
   */
  stateOf(index: number): Readonly<Record<string, TypedArray | undefined>> {
    void index;
    return {};
  }

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
  /** Mutable, so that a schedule can set it between steps (train's --lr-decay). */
  lr: number;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private readonly velocity: (TypedArray | undefined)[] = [];

  constructor(params: Iterable<Tensor>, options: SgdOptions) {
    super(params);
    checkSgd(options);
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.nesterov = options.nesterov ?? false;
    this.weightDecay = options.weightDecay ?? 0;
    if (this.nesterov && this.momentum <= 0) throw new Error("SGD: Nesterov momentum needs momentum > 0");
  }

  override stateOf(index: number): Readonly<Record<string, TypedArray | undefined>> {
    return this.momentum === 0 ? {} : { velocity: this.velocity[index] };
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
  /** Mutable, so that a schedule can set it between steps (train's --lr-decay). */
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  protected readonly decoupled: boolean = false;
  private readonly m: (TypedArray | undefined)[] = [];
  private readonly v: (TypedArray | undefined)[] = [];

  constructor(params: Iterable<Tensor>, options: AdamOptions = {}, op = "Adam") {
    super(params);
    checkAdam(op, options);
    this.lr = options.lr ?? 1e-3;
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
  }

  override stateOf(index: number): Readonly<Record<string, TypedArray | undefined>> {
    return { m: this.m[index], v: this.v[index] };
  }

  /** Whether weight decay is decoupled from the gradient (AdamW) rather than an L2 term in it. */
  get decoupledDecay(): boolean {
    return this.decoupled;
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
    super(params, { weightDecay: 0.01, ...options }, "AdamW");
  }
}

/** A setting that must be a finite number in a range, with PyTorch's wording ("invalid momentum -0.5"). */
function checkSetting(op: string, what: string, v: unknown, ok: (x: number) => boolean): number {
  if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) throw new RangeError(`${op}: invalid ${what} ${String(v)}`);
  return v;
}

const SGD_KEYS = ["lr", "momentum", "nesterov", "weightDecay"] as const;
const ADAM_KEYS = ["lr", "betas", "eps", "weightDecay"] as const;

function checkSgd(options: SgdOptions): void {
  checkOptionKeys("SGD", options, SGD_KEYS);
  if (options === undefined || options === null) throw new TypeError("SGD: options with a learning rate are required, e.g. { lr: 0.1 }");
  checkSetting("SGD", "learning rate", options.lr, (x) => x > 0);
  checkSetting("SGD", "momentum", options.momentum ?? 0, (x) => x >= 0);
  checkSetting("SGD", "weight decay", options.weightDecay ?? 0, (x) => x >= 0);
  if (options.nesterov !== undefined && typeof options.nesterov !== "boolean")
    throw new TypeError(`SGD: nesterov must be true or false, got ${String(options.nesterov)}`);
}

function checkAdam(op: string, options: AdamOptions): void {
  checkOptionKeys(op, options, ADAM_KEYS);
  checkSetting(op, "learning rate", options.lr ?? 1e-3, (x) => x > 0);
  const betas: unknown = options.betas ?? [0.9, 0.999];
  if (!Array.isArray(betas) || betas.length !== 2) throw new TypeError(`${op}: betas must be two numbers [beta1, beta2], got ${String(betas)}`);
  betas.forEach((b: unknown, i) => checkSetting(op, `beta at index ${i}:`, b, (x) => x >= 0 && x < 1));
  checkSetting(op, "epsilon", options.eps ?? 1e-8, (x) => x > 0);
  checkSetting(op, "weight decay", options.weightDecay ?? 0, (x) => x >= 0);
}
