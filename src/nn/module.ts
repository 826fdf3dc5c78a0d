/**
 * Modules: objects whose fields hold parameters (tensors that require grad) and child modules.
 * Parameters are found by walking the fields in declaration order, so names are stable
 * ("layers.0.weight") for checkpoints and diagnostics. Buffers (running statistics) are registered
 * by name instead: they are state to save and load, never trained, so a field walk cannot tell them
 * from any other tensor a module happens to hold.
 */
import { Tensor } from "../core/tensor.js";
import { formatShape } from "../core/shape.js";

const BUFFER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export abstract class Module {
  /** Training mode (true) or evaluation mode; layers that behave differently read it. */
  training = true;
  // A private field, so the field walks (children, parameters) never see it.
  readonly #buffers = new Map<string, Tensor>();

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

  /** This module's own parameters (not its children's), in field order. */
  private ownParameters(prefix: string): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Tensor && value.requiresGrad) out.push([prefix + key, value]);
    }
    return out;
  }

  /** Parameters of this module and its children, depth first, with dotted names. */
  namedParameters(prefix = ""): [string, Tensor][] {
    const out = this.ownParameters(prefix);
    for (const [name, child] of this.children()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /**
   * Registers `tensor` as buffer `name` (PyTorch's register_buffer): saved by `stateDict` and restored
   * by `loadStateDict`, left out of `parameters()` so no optimizer touches it. Returns the tensor.
   */
  registerBuffer(name: string, tensor: Tensor): Tensor {
    if (typeof name !== "string" || !BUFFER_NAME.test(name))
      throw new Error(`registerBuffer: buffer name must be an identifier without dots, got ${JSON.stringify(name)}`);
    if (!(tensor instanceof Tensor)) throw new TypeError(`registerBuffer: buffer '${name}' must be a Tensor, got ${typeof tensor}`);
    if (tensor.requiresGrad) throw new Error(`registerBuffer: buffer '${name}' requires grad; a trained tensor is a parameter (a field), not a buffer`);
    if (this.#buffers.has(name)) throw new Error(`registerBuffer: this module already has a buffer named '${name}'`);
    this.#buffers.set(name, tensor);
    return tensor;
  }

  /** Buffers of this module and its children, depth first, with dotted names ("layers.0.running_mean"). */
  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, t] of this.#buffers) out.push([prefix + name, t]);
    for (const [name, child] of this.children()) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
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

  /** Each module's parameters, then its buffers, then its children's state: PyTorch's state_dict order. */
  private namedState(prefix: string): [string, Tensor][] {
    const out = this.ownParameters(prefix);
    for (const [name, t] of this.#buffers) out.push([prefix + name, t]);
    for (const [name, child] of this.children()) out.push(...child.namedState(`${prefix}${name}.`));
    return out;
  }

  /** Parameters and buffers by name (the tensors themselves, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map(this.namedState(""));
  }

  /**
   * Copies values into the parameters and buffers. Every one must be present with the same shape;
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
