/** The lecture's small convolutional network for 28x28 digits, as `mlp` is its multilayer perceptron. */
import type { Rng } from "../core/random.js";
import type { DType } from "../core/dtype.js";
import { checkOptionKeys } from "../core/options.js";
import { Conv2d, Flatten, MaxPool2d } from "./conv-layers.js";
import { Linear, ReLU, Sequential } from "./layers.js";

export interface CnnOptions {
  /** Channels of the input images (default 1: grayscale). */
  inChannels?: number;
  /** Height and width of the (square) input images (default 28); a multiple of 4 (two 2x2 poolings). */
  imageSize?: number;
  /** Number of classes, the width of the last layer (default 10). */
  classes?: number;
  rng?: Rng;
  dtype?: DType;
}

/**
 * conv 3x3 (inChannels -> 16, padding 1), ReLU, 2x2 max pooling, conv 3x3 (16 -> 32, padding 1), ReLU,
 * 2x2 max pooling, flatten, linear (32 (size/4)^2 -> classes): for 28x28 digits, 1568 -> 10.
 */
export function cnn(options: CnnOptions = {}): Sequential {
  checkOptionKeys("cnn", options, ["inChannels", "imageSize", "classes", "rng", "dtype"]);
  const { inChannels = 1, imageSize = 28, classes = 10, rng, dtype } = options;
  for (const [what, v] of [
    ["inChannels", inChannels],
    ["imageSize", imageSize],
    ["classes", classes],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`cnn: ${what} must be a positive integer, got ${String(v)}`);
  }
  if (imageSize % 4 !== 0) throw new Error(`cnn: imageSize must be a multiple of 4 (two 2x2 poolings halve it twice), got ${imageSize}`);
  const common = { ...(rng ? { rng } : {}), ...(dtype ? { dtype } : {}) };
  const side = imageSize / 4;
  return new Sequential(
    new Conv2d(inChannels, 16, 3, { padding: 1, ...common }),
    new ReLU(),
    new MaxPool2d(2),
    new Conv2d(16, 32, 3, { padding: 1, ...common }),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(32 * side * side, classes, common),
  );
}
