/**
 * Modules: objects whose fields hold parameters (tensors that require grad) and child modules.
 * Parameters are found by walking the fields in declaration order, so names are stable
 * ("layers.0.weight") for checkpoints and diagnostics.
 */
import { Tensor } from "../core/tensor.js";
import { formatShape } from "../core/shape.js";

export abstract class Module {
  /** Training mode (true) or evaluation mode; layers that behave differently read it. */
  training = true;

  abstract forward(x: Tensor): Tensor;

  /** Child modules with their field names (array elements are named by index). */
  children(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) out.push([key, value]);
      else if (Array.isArray(value)) value.forEach((v, i) => v instanceof Module && out.push([`${key}.${i}`, v]));
    }
    return out;
  }

  /** Parameters of this module and its children, depth first, with dotted names. */
  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Tensor && value.requiresGrad) out.push([prefix + key, value]);
    }
    for (const [name, child] of this.children()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  train(flag = true): this {
    this.training = flag;
    for (const [, c] of this.children()) c.train(flag);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Parameters by name (the tensors themselves, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedParameters());
  }

  /**
   * Copies values into the parameters. Every parameter must be present with the same shape;
   * the error names the first tensor that is missing, extra or mismatched.
   */
  loadStateDict(state: ReadonlyMap<string, Tensor>): void {
    const own = this.stateDict();
    for (const [name, p] of own) {
      const t = state.get(name);
      if (!t) throw new Error(`loadStateDict: tensor '${name}' is missing from the checkpoint`);
      if (t.shape.join() !== p.shape.join()) {
        throw new Error(`loadStateDict: tensor '${name}' has shape ${formatShape(t.shape)} in the checkpoint but ${formatShape(p.shape)} in the model`);
      }
    }
    for (const name of state.keys()) if (!own.has(name)) throw new Error(`loadStateDict: the checkpoint has tensor '${name}', which the model does not`);
    for (const [name, p] of own) p.data.set(state.get(name)!.data);
  }
}
