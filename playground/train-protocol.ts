// The messages between the Train tab and its worker, typed on both sides.
import type { LayerRow, ModelKind } from "./train-models.js";

/** How the worker yields between steps: a MessageChannel message (the default), or setTimeout(0), which
 * Chromium clamps to about 4 ms once timers nest; kept selectable (`?yield=timeout`) to measure the difference. */
export type Yield = "message" | "timeout";

export type TrainRequest =
  | { type: "start"; url: string; model: ModelKind; hidden: number; lr: number; batch: number; epochs: number; yield: Yield }
  | { type: "stop" }
  /** The layer table of a fresh network of this kind (answered with "architecture"). */
  | { type: "describe"; model: ModelKind; hidden: number }
  /** Classify a drawn digit (784 pixels, centred like MNIST) with the last network of this kind trained. */
  | { type: "predict"; model: ModelKind; pixels: Float32Array };

export type TrainMessage =
  | { type: "status"; text: string }
  /** Bytes of the (compressed) digits received so far; total is null when the server does not say. */
  | { type: "loading"; loaded: number; total: number | null }
  | { type: "engine"; backend: string; threads: number; isolated: boolean }
  /** The losses of steps first, first + 1, ... since the last report: the worker sends them about once a
   * frame rather than once a step, so the page handles a few dozen messages a second however fast it
   * trains. elapsedMs counts from the first step's start (loading excluded). */
  | { type: "steps"; first: number; losses: number[]; epoch: number; stepsPerEpoch: number; elapsedMs: number }
  /** The end of an epoch: done of total test digits evaluated so far (the CNN's evaluation takes seconds). */
  | { type: "evaluating"; epoch: number; done: number; total: number }
  | { type: "epoch"; epoch: number; testAccuracy: number | null }
  | { type: "architecture"; model: ModelKind; hidden: number; rows: LayerRow[]; total: number }
  | { type: "norms"; norms: { name: string; norm: number | null }[] }
  /** Training stopped because the loss became non-finite or exploded, or (`stuck`) spiked and then stayed at chance (see train-divergence.ts). */
  | { type: "diverged"; step: number; loss: number; firstLoss: number; lr: number; elapsedMs: number; stuck?: { peak: number; peakStep: number } }
  | { type: "done"; stopped: boolean; elapsedMs: number }
  /** The softmax of the drawn digit's logits (10 numbers), or null before a network of that kind was trained. */
  | { type: "prediction"; model: ModelKind; probs: number[] | null }
  | { type: "error"; message: string };
