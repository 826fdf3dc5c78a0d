// The messages between the Train tab and its worker, typed on both sides.

export type TrainRequest =
  { type: "start"; url: string; hidden: number; lr: number; batch: number; epochs: number } | { type: "stop" } | { type: "predict"; pixels: Float32Array };

export type TrainMessage =
  | { type: "status"; text: string }
  | { type: "engine"; backend: string; threads: number; isolated: boolean }
  | { type: "step"; step: number; epoch: number; loss: number }
  | { type: "epoch"; epoch: number; testAccuracy: number | null }
  | { type: "norms"; norms: { name: string; norm: number | null }[] }
  | { type: "done"; stopped: boolean }
  | { type: "prediction"; digit: number | null; confidence?: number }
  | { type: "error"; message: string };
