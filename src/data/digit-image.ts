/**
 * A picture of one handwritten digit, of any size and either polarity, made into a 28 x 28 input the
 * way MNIST's digits were prepared: ink cropped to its bounding box, scaled to fit 20 x 20 keeping the
 * aspect ratio (area averaging), and placed in a 28 x 28 field with its centre of mass in the middle.
 * Pure functions on typed arrays, so the CLI (PNG files) and the playground (canvas pixels) share them.
 */

export class DigitImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DigitImageError";
  }
}

/** The output field and the box the digit is scaled into, as in MNIST. */
export const FIELD = 28;
export const BOX = 20;
/** The pixel (column and row index) the centre of mass is moved to. */
export const CENTRE = 14;
/** Ink fainter than this (on a 0..1 scale, after the background is removed) does not count towards the bounding box. */
const INK_THRESHOLD = 0.02;
/** Less contrast than this between background and the strongest ink means there is no digit to find. */
const MIN_CONTRAST = 0.1;

/**
 * Brightness in [0, 1] (1 = white) of RGBA pixels with channels in [0, maxValue]. An image with
 * transparent pixels is strokes on a transparent background: its ink is the opacity, whatever the
 * strokes' colour, and it comes out as white ink on black.
 */
export function grayFromRgba(rgba: ArrayLike<number>, width: number, height: number, maxValue = 255): Float32Array {
  checkSize(width, height);
  const n = width * height;
  if (rgba.length !== 4 * n) throw new DigitImageError(`a ${width}x${height} RGBA image has ${4 * n} channel values, got ${rgba.length}`);
  const gray = new Float32Array(n);
  let transparent = false;
  for (let i = 0; i < n && !transparent; i++) transparent = rgba[4 * i + 3] < maxValue / 2;
  for (let i = 0; i < n; i++) {
    const [r, g, b, a] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]];
    // Rec. 601 luma, the usual weights for a grayscale conversion.
    gray[i] = transparent ? a / maxValue : (0.299 * r + 0.587 * g + 0.114 * b) / maxValue;
  }
  return gray;
}

function checkSize(width: number, height: number): void {
  if (!(Number.isSafeInteger(width) && width > 0 && Number.isSafeInteger(height) && height > 0))
    throw new DigitImageError(`image size must be positive integers, got ${width}x${height}`);
}

/** The median of the pixels on the image's edge: the background, whatever the digit does inside. */
function borderLevel(gray: ArrayLike<number>, width: number, height: number): number {
  const edge: number[] = [];
  for (let x = 0; x < width; x++) edge.push(gray[x], gray[(height - 1) * width + x]);
  for (let y = 1; y < height - 1; y++) edge.push(gray[y * width], gray[y * width + width - 1]);
  edge.sort((a, b) => a - b);
  return edge[Math.floor(edge.length / 2)];
}

/** For each output index, the source indices it covers and the share of each (area averaging along one axis). */
function coverage(sourceStart: number, sourceLength: number, outLength: number): { index: number; weight: number }[][] {
  const step = sourceLength / outLength;
  return Array.from({ length: outLength }, (_, u) => {
    const lo = u * step;
    const hi = (u + 1) * step;
    const cells: { index: number; weight: number }[] = [];
    for (let s = Math.floor(lo); s < Math.min(sourceLength, Math.ceil(hi)); s++) {
      const overlap = Math.min(hi, s + 1) - Math.max(lo, s);
      if (overlap > 0) cells.push({ index: sourceStart + s, weight: overlap / step });
    }
    return cells;
  });
}

/**
 * The digit in `gray` (brightness in [0, 1], row-major `width` x `height`) as 28 x 28 values in [0, 1],
 * white ink on black like MNIST. A light background (the median of the edge pixels above 0.5) is
 * taken as dark ink on paper and inverted; the background level is subtracted and the strongest ink
 * scaled to 1. The centre of mass (in pixel indices) lands on pixel (14, 14) within half a pixel, unless that would push ink out
 * of the field (a digit whose mass sits far to one side); then the box is moved just enough to stay in.
 */
export function centerDigit(gray: ArrayLike<number>, width: number, height: number): Float32Array {
  checkSize(width, height);
  if (gray.length !== width * height) throw new DigitImageError(`a ${width}x${height} image has ${width * height} pixels, got ${gray.length}`);
  for (let i = 0; i < gray.length; i++) {
    if (!Number.isFinite(gray[i])) throw new DigitImageError(`pixel ${i % width},${Math.floor(i / width)} is ${gray[i]}`);
  }
  const background = borderLevel(gray, width, height);
  const invert = background > 0.5;
  const ink = Float32Array.from(gray, (v) => (invert ? 1 - v : v));
  const base = invert ? 1 - background : background;
  let peak = -Infinity;
  for (const v of ink) peak = Math.max(peak, v);
  if (peak - base < MIN_CONTRAST) throw new DigitImageError("the image has no digit: it is all one shade");
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = Math.min(1, Math.max(0, (ink[y * width + x] - base) / (peak - base)));
      ink[y * width + x] = v;
      if (v > INK_THRESHOLD) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = BOX / Math.max(bw, bh);
  const ow = Math.max(1, Math.min(BOX, Math.round(bw * scale)));
  const oh = Math.max(1, Math.min(BOX, Math.round(bh * scale)));
  const cols = coverage(x0, bw, ow);
  const rows = coverage(y0, bh, oh);
  const small = new Float64Array(ow * oh);
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let v = 0; v < oh; v++) {
    for (let u = 0; u < ow; u++) {
      let sum = 0;
      for (const r of rows[v]) for (const c of cols[u]) sum += r.weight * c.weight * ink[r.index * width + c.index];
      small[v * ow + u] = sum;
      mass += sum;
      // Positions are pixel indices, as in MNIST, whose digits have their centre of mass on pixel (14, 14).
      mx += sum * u;
      my += sum * v;
    }
  }
  const place = (centre: number, size: number) => Math.min(FIELD - size, Math.max(0, Math.round(CENTRE - centre)));
  const ox = place(mx / mass, ow);
  const oy = place(my / mass, oh);
  const out = new Float32Array(FIELD * FIELD);
  for (let v = 0; v < oh; v++) for (let u = 0; u < ow; u++) out[(oy + v) * FIELD + ox + u] = small[v * ow + u];
  return out;
}

/** grayFromRgba, then centerDigit: RGBA pixels of a digit to the 784 inputs of a digits model. */
export function inkFromRgba(rgba: ArrayLike<number>, width: number, height: number, maxValue = 255): Float32Array {
  return centerDigit(grayFromRgba(rgba, width, height, maxValue), width, height);
}
