/**
 * Anomaly mode (PyTorch's `detect_anomaly`): every forward and backward result is checked for NaN and
 * infinities, and the first one throws an `AnomalyError` naming the primitive, its input shapes, which
 * input was non-finite (or that the op itself overflowed) and the user's call site that recorded it.
 * Off, it costs one boolean test per op.
 */

/** Thrown at the first non-finite value in anomaly mode. */
export class AnomalyError extends Error {
  override name = "AnomalyError";
}

let enabled = false;

/** Whether anomaly mode is on (inside `detectAnomaly`, after `setDetectAnomaly(true)`, or with BACKPROP_DETECT_ANOMALY=1). */
export function isAnomalyDetectionEnabled(): boolean {
  return enabled;
}

/** Switches anomaly mode on or off for everything that follows. */
export function setDetectAnomaly(on: boolean): void {
  enabled = on;
}

/** Runs `fn` (forward and backward) with anomaly mode on, restoring the previous mode afterwards. */
export function detectAnomaly<T>(fn: () => T): T {
  const prev = enabled;
  enabled = true;
  try {
    return fn();
  } finally {
    enabled = prev;
  }
}
