// The Classify tab's colours and maps: a value in [-1, 1] over the plane painted orange to blue, as the
// boundary under the points and each neuron's small square are drawn.
import { DOMAIN, type FeatureName } from "./classify-data.js";

/** Orange (class 0, or −1 for a neuron) and blue (class 1, +1), TensorFlow Playground's colours. */
export const ORANGE = [245, 147, 34] as const;
export const BLUE = [8, 119, 189] as const;

/** A value in [-1, 1] as a colour: orange at −1, near white at 0, blue at +1. */
function colour(v: number, out: Uint8ClampedArray, at: number): void {
  const t = Math.max(-1, Math.min(1, v));
  const c = t < 0 ? ORANGE : BLUE;
  const a = Math.abs(t) * 0.85;
  for (let k = 0; k < 3; k++) out[at + k] = Math.round(255 * (1 - a) + c[k] * a);
  out[at + 3] = 255;
}

/** A value in [-1, 1] as a CSS colour, the map's own ramp at full strength (a regression point's value). */
export function colourCss(v: number): string {
  const t = Math.max(-1, Math.min(1, v));
  const c = t < 0 ? ORANGE : BLUE;
  const a = 0.25 + 0.75 * Math.abs(t);
  return `rgb(${c.map((k) => Math.round(255 * (1 - a) + k * a)).join(",")})`;
}

/** Paints a res × res map of values in [-1, 1] onto a canvas, scaled up smoothly. */
export function paintMap(canvas: HTMLCanvasElement, values: ArrayLike<number>, res: number, scale = (v: number) => v): void {
  const small = document.createElement("canvas");
  small.width = small.height = res;
  const sctx = small.getContext("2d")!;
  const img = sctx.createImageData(res, res);
  for (let i = 0; i < res * res; i++) colour(scale(values[i]), img.data, 4 * i);
  sctx.putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d")!;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}

/** Input features' maps never change; they are drawn from the grid itself. */
export function inputMap(name: FeatureName, res: number): Float32Array {
  const out = new Float32Array(res * res);
  for (let r = 0; r < res; r++)
    for (let c = 0; c < res; c++) {
      const x = -DOMAIN + ((c + 0.5) * 2 * DOMAIN) / res;
      const y = DOMAIN - ((r + 0.5) * 2 * DOMAIN) / res;
      const v = {
        x1: x / DOMAIN,
        x2: y / DOMAIN,
        "x1²": (x * x) / 18 - 1,
        "x2²": (y * y) / 18 - 1,
        x1x2: (x * y) / 18,
        "sin(x1)": Math.sin(x),
        "sin(x2)": Math.sin(y),
      }[name];
      out[r * res + c] = v;
    }
  return out;
}
