/** Diagnostics: parameter counts, gradient norms, dead ReLUs, symmetric weights, and backward-pass shapes. */
import type { Tensor } from "../core/tensor.js";
import { formatShape } from "../core/shape.js";
import { Module } from "./module.js";
import { Linear, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh } from "./layers.js";

export interface LayerCount {
  name: string;
  weights: number;
  biases: number;
}

/** Weights and biases per Linear layer; [8,10,10,3] has 210 weights and 23 biases (233 in all). */
export function parameterCounts(model: Module): { layers: LayerCount[]; weights: number; biases: number; total: number } {
  const layers: LayerCount[] = [];
  const walk = (m: Module, name: string): void => {
    if (m instanceof Linear) layers.push({ name, weights: m.weight.size, biases: m.bias?.size ?? 0 });
    for (const [child, c] of m.children()) walk(c, name ? `${name}.${child}` : child);
  };
  walk(model, "");
  const weights = layers.reduce((a, l) => a + l.weights, 0);
  const biases = layers.reduce((a, l) => a + l.biases, 0);
  return { layers, weights, biases, total: weights + biases };
}

/** L2 norm of each parameter's gradient (null before backward). */
export function gradientNorms(model: Module): { name: string; norm: number | null }[] {
  return model.namedParameters().map(([name, p]) => {
    if (!p.grad) return { name, norm: null };
    let s = 0;
    for (const g of p.grad.data) s += g * g;
    return { name, norm: Math.sqrt(s) };
  });
}

/** Fraction of units (columns of a (N, units) activation) that are zero for every example: dead ReLUs. */
export function deadFraction(activations: Tensor): number {
  const [n, units] = activations.ndim === 2 ? activations.shape : [1, activations.size];
  let dead = 0;
  for (let j = 0; j < units; j++) {
    let alive = false;
    for (let i = 0; i < n && !alive; i++) alive = activations.data[i * units + j] > 0;
    if (!alive) dead++;
  }
  return units === 0 ? 0 : dead / units;
}

/** Warnings for Linear layers whose weights are all equal: every unit gets the same gradient, forever. */
export function symmetryWarnings(model: Module): string[] {
  // Only Linear weights: a normalization layer's weight starts all ones by design.
  const linear = new Set<Tensor>();
  const walk = (m: Module): void => {
    if (m instanceof Linear) linear.add(m.weight);
    for (const [, c] of m.children()) walk(c);
  };
  walk(model);
  const out: string[] = [];
  for (const [name, p] of model.namedParameters()) {
    if (!linear.has(p) || p.size < 2) continue;
    const w0 = p.data[0];
    if (p.data.every((w) => w === w0)) {
      out.push(`${name}: all ${p.size} weights equal ${w0}; the units of this layer get identical gradients and symmetry never breaks (initialize randomly)`);
    }
  }
  return out;
}

/** Fraction of dead ReLUs per ReLU layer of a Sequential, measured on a batch. */
export function deadRelus(model: Sequential, x: Tensor): { layer: string; fraction: number }[] {
  const out: { layer: string; fraction: number }[] = [];
  let h = x;
  model.layers.forEach((l, i) => {
    h = l.forward(h);
    if (l instanceof ReLU) out.push({ layer: `layers.${i}`, fraction: deadFraction(h) });
  });
  return out;
}

function layerName(l: Module): string {
  if (l instanceof Linear) return `Linear(${l.inFeatures} -> ${l.outFeatures})`;
  if (l instanceof ReLU) return "ReLU";
  if (l instanceof LeakyReLU) return `LeakyReLU(${l.slope})`;
  if (l instanceof Sigmoid) return "Sigmoid";
  if (l instanceof Tanh) return "Tanh";
  return l.constructor.name;
}

/**
 * The backward pass of a Sequential layer by layer, right to left, with the shape of every dout,
 * dW, db and dx: the lecture's denominator convention, where a gradient has its variable's shape.
 */
export function backwardShapes(model: Sequential, batch: number, inFeatures: number, classes: number): string[] {
  const shapes: number[][] = [[batch, inFeatures]];
  for (const l of model.layers) {
    const prev = shapes[shapes.length - 1];
    shapes.push(l instanceof Linear ? [prev[0], l.outFeatures] : prev);
  }
  const lines: string[] = [];
  const last = shapes[shapes.length - 1];
  lines.push(`loss = softmax cross-entropy of logits ${formatShape(last)} against ${batch} class indices (${classes} classes)`);
  lines.push(`dlogits = (softmax(logits) - onehot) / ${batch}: ${formatShape(last)}`);
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const l = model.layers[i];
    const out = shapes[i + 1];
    const inp = shapes[i];
    const where = `layers.${i} ${layerName(l)}`;
    if (l instanceof Linear) {
      lines.push(`${where}: out = x W + b`);
      lines.push(
        `  dout ${formatShape(out)} -> dW = x^T dout ${formatShape([l.inFeatures, l.outFeatures])} (as W), db = sum over the batch ${formatShape([l.outFeatures])} (as b), dx = dout W^T ${formatShape(inp)} (as x)`,
      );
    } else {
      const local = l instanceof ReLU ? "1[x > 0]" : l instanceof Sigmoid ? "s (1 - s)" : l instanceof Tanh ? "1 - t^2" : "local derivative";
      lines.push(`${where}: elementwise`);
      lines.push(`  dout ${formatShape(out)} -> dx = dout * ${local} ${formatShape(inp)} (no parameters)`);
    }
  }
  return lines;
}
