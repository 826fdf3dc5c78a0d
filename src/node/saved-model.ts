/**
 * The Node entry's loadModel: the browser-safe one (src/nn/saved-model.ts), plus the feature scaling of
 * iris checkpoints saved before checkpoints stored it, recomputed from the stored seed and split.
 */
import { CheckpointError, Rng, loadModel as loadSavedModel, modelFromCheckpoint, standardizer, trainTestSplit } from "../index.js";
import type { LoadedModel, ModelMeta, Preprocess } from "../index.js";
import { loadIris } from "./datasets.js";

/** The standardization an old iris checkpoint was trained with: the training split of its seed and test fraction. */
export function legacyIrisScaling(meta: ModelMeta, source = "checkpoint"): Preprocess {
  const { seed, testFraction } = meta;
  if (!(typeof seed === "number" && Number.isSafeInteger(seed) && seed >= 0) || !(typeof testFraction === "number" && testFraction > 0 && testFraction < 1))
    throw new CheckpointError(`${source}: this iris model predates stored feature scaling, and its seed and testFraction are needed to recompute it`);
  const { train } = trainTestSplit(loadIris(), testFraction, new Rng(seed));
  const { mean, std } = standardizer(train);
  return { kind: "standardize", mean, std };
}

/** A saved model ready to predict from raw features; old iris checkpoints get their scaling back. */
export function loadModel(bytes: Uint8Array, options: { source?: string } = {}): LoadedModel {
  const { meta, legacyScaling } = modelFromCheckpoint(bytes, options.source);
  return loadSavedModel(bytes, legacyScaling ? { ...options, preprocess: legacyIrisScaling(meta, options.source) } : options);
}
