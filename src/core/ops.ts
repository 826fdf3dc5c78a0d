/** Every public op, gathered from the files that define them. */
export {
  tensor,
  full,
  zeros,
  ones,
  zerosLike,
  onesLike,
  arange,
  linspace,
  eye,
  rand,
  randn,
  scalar,
  type CreateOptions,
  type TensorOptions,
  type RandomOptions,
} from "./ops/create.js";
export * from "./ops/elementwise.js";
export * from "./ops/reduce.js";
export * from "./ops/structure.js";
export * from "./ops/linalg.js";
export * from "./ops/activations.js";
export * from "./ops/conv.js";
export * from "./ops/pool.js";
