/**
 * cnn(): the small convolutional network for 28x28 digits that `backprop train --model cnn` trains.
 * It takes the digits dataset's flat rows (N, 784), so datasets, checkpoints, `predict` and PNG input
 * work for it exactly as for an MLP, and unflattens them to images (N, 1, 28, 28) as its first layer.
 */
import type { Rng } from "../core/random.js";
import type { DType } from "../core/dtype.js";
import { checkOptionKeys } from "../core/options.js";
import { Conv2d, Flatten, MaxPool2d, Unflatten } from "./conv-layers.js";
import { Linear, ReLU, Sequential } from "./layers.js";
import type { Module } from "./module.js";

/** A CNN as a checkpoint records it: enough to rebuild it layer for layer. */
export interface CnnArchitecture {
  kind: "cnn";
  /** One image, channels first: [1, 28, 28] for the digits. */
  image: [number, number, number];
  /** Output channels of each 3x3 convolution (padding 1), each followed by ReLU and 2x2 max pooling. */
  channels: number[];
  /** Widths of the fully connected ReLU layers between the flattened features and the output layer. */
  hidden: number[];
  /** Number of classes (the last Linear's width). */
  outputs: number;
}

export interface CnnOptions {
  /** Default [1, 28, 28]. */
  image?: readonly [number, number, number];
  /** Default [16, 32]. */
  channels?: readonly number[];
  /** Default [] (the flattened features go straight to the output layer). */
  hidden?: readonly number[];
  /** Default 10. */
  outputs?: number;
  rng?: Rng;
  dtype?: DType;
}

/** Each conv block keeps the size (3x3, padding 1) and pooling halves it, rounding down as PyTorch does. */
export const CNN_KERNEL = 3;
export const CNN_POOL = 2;

const isPositiveInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;

/** The architecture cnn(options) builds, checked: throws naming the bad field. */
export function cnnArchitecture(options: Omit<CnnOptions, "rng" | "dtype"> = {}, where = "cnn"): CnnArchitecture {
  const image = options.image ?? [1, 28, 28];
  const channels = options.channels ?? [16, 32];
  const hidden = options.hidden ?? [];
  const outputs = options.outputs ?? 10;
  if (!Array.isArray(image) || image.length !== 3 || !image.every(isPositiveInt))
    throw new Error(`${where}: image must be [channels, height, width] of positive integers, got ${JSON.stringify(image)}`);
  if (!Array.isArray(channels) || channels.length === 0 || !channels.every(isPositiveInt))
    throw new Error(`${where}: channels must be a non-empty list of positive integers, got ${JSON.stringify(channels)}`);
  if (!Array.isArray(hidden) || !hidden.every(isPositiveInt))
    throw new Error(`${where}: hidden must be a list of positive integers, got ${JSON.stringify(hidden)}`);
  if (!isPositiveInt(outputs)) throw new Error(`${where}: outputs must be a positive integer, got ${JSON.stringify(outputs)}`);
  const side = Math.min(image[1], image[2]);
  if (side >> channels.length < 1)
    throw new Error(`${where}: ${channels.length} pooling steps leave nothing of a ${image[1]}x${image[2]} image; use fewer convolution blocks`);
  return { kind: "cnn", image: [image[0], image[1], image[2]], channels: [...channels], hidden: [...hidden], outputs };
}

/** The widths after flattening: channels of the last block times the pooled height and width. */
export function cnnFeatures(a: CnnArchitecture): number {
  let [h, w] = [a.image[1], a.image[2]];
  for (let i = 0; i < a.channels.length; i++) [h, w] = [Math.floor(h / CNN_POOL), Math.floor(w / CNN_POOL)];
  return a.channels[a.channels.length - 1] * h * w;
}

/** Parameters of the network, counted from the architecture alone (checked against a checkpoint before building). */
export function cnnParameterCount(a: CnnArchitecture): number {
  let n = 0;
  let c = a.image[0];
  for (const o of a.channels) {
    n += o * c * CNN_KERNEL * CNN_KERNEL + o;
    c = o;
  }
  const widths = [cnnFeatures(a), ...a.hidden, a.outputs];
  for (let i = 0; i + 1 < widths.length; i++) n += widths[i] * widths[i + 1] + widths[i + 1];
  return n;
}

/** The network of a checked architecture: Unflatten, (Conv2d, ReLU, MaxPool2d) per block, Flatten, (Linear, ReLU)*, Linear. */
export function buildCnn(a: CnnArchitecture, options: { rng?: Rng; dtype?: DType } = {}): Sequential {
  const layers: Module[] = [new Unflatten(1, a.image)];
  let c = a.image[0];
  for (const o of a.channels) {
    // He initialization suits the ReLUs that follow (PyTorch's default would train more slowly here).
    layers.push(new Conv2d(c, o, CNN_KERNEL, { padding: (CNN_KERNEL - 1) / 2, init: "kaiming", rng: options.rng, dtype: options.dtype }));
    layers.push(new ReLU(), new MaxPool2d(CNN_POOL));
    c = o;
  }
  layers.push(new Flatten());
  const widths = [cnnFeatures(a), ...a.hidden, a.outputs];
  for (let i = 0; i + 1 < widths.length; i++) {
    layers.push(new Linear(widths[i], widths[i + 1], { rng: options.rng, dtype: options.dtype }));
    if (i + 2 < widths.length) layers.push(new ReLU());
  }
  return new Sequential(...layers);
}

/**
 * The default digits CNN: (N, 784) -> (N, 1, 28, 28) -> conv 1->16 3x3 pad 1, ReLU, max pool 2 ->
 * conv 16->32 3x3 pad 1, ReLU, max pool 2 -> flatten (N, 1568) -> Linear 1568->10 (logits).
 */
export function cnn(options: CnnOptions = {}): Sequential {
  checkOptionKeys("cnn", options, ["image", "channels", "hidden", "outputs", "rng", "dtype"]);
  return buildCnn(cnnArchitecture(options), { rng: options.rng, dtype: options.dtype });
}
