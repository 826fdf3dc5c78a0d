/**
 * The samples `backprop predict --input` classifies: a JSON list on the command line, or a .csv, .json,
 * .npy or .png file. Every error names the file and the place in it (line and column, sample number).
 */
import { readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { convertIndexedToRgb, decode, type DecodedPng } from "fast-png";
import { readNpy } from "../data/npy.js";
import { inkFromRgba } from "../data/digit-image.js";
import { UsageError } from "./command.js";
import { reasonOf } from "./files.js";

/** Samples as rows of numbers, and how to name sample i in an error ("sample 3 (line 4 of x.csv)"). */
export interface Samples {
  rows: number[][];
  where: (i: number) => string;
}

/** Input files larger than this are refused before reading (far above any batch worth classifying here). */
const MAX_INPUT_BYTES = 256 * 1024 * 1024;
const FORMATS = "a .csv, .json, .npy or .png file, or a JSON list such as [5.1,3.5,1.4,0.2]";

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Stats `path` first, so that a directory or a missing file is reported as such whatever its name. */
function checkInputFile(path: string): number {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`--input ${path} is a directory`);
    // A FIFO or a device would block or never end.
    if (!st.isFile()) throw new UsageError(`--input ${path} is not a regular file`);
    return st.size;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--input ${path}: ${reasonOf(e)}`);
  }
}

function readInputFile(path: string): Uint8Array {
  const size = checkInputFile(path);
  if (size > MAX_INPUT_BYTES) throw new UsageError(`--input ${path}: ${size} bytes is more than an input file may have (${MAX_INPUT_BYTES})`);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new UsageError(`--input ${path}: ${reasonOf(e)}`);
  }
}

/** One sample (a list of numbers) or several (a list of such lists), from parsed JSON. */
function rowsFromJson(value: unknown, what: string): number[][] {
  if (!Array.isArray(value) || value.length === 0) throw new UsageError(`${what} must be a non-empty list of numbers, or a list of such lists`);
  if (value.every((v) => typeof v === "number")) return [value as number[]];
  return value.map((row, i) => {
    if (!Array.isArray(row) || !row.every((v) => typeof v === "number"))
      throw new UsageError(`${what}: sample ${i + 1} is not a list of numbers (${JSON.stringify(row).slice(0, 40)})`);
    return row as number[];
  });
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what} is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** A number written in decimal, with an optional exponent (Number() alone would take "", "0x10" and "Infinity"). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Numbers separated by commas, one sample per line; a first line that is not all numbers is a header. */
export function rowsFromCsv(text: string, path: string): Samples {
  const rows: number[][] = [];
  const lines: number[] = [];
  let header = false;
  text.split(/\r?\n/).forEach((line, k) => {
    if (line.trim() === "") return;
    const cells = line.split(",").map((c) => c.trim());
    if (rows.length === 0 && !header && !cells.every((c) => DECIMAL.test(c))) {
      header = true;
      return;
    }
    rows.push(
      cells.map((c, j) => {
        if (!DECIMAL.test(c)) throw new UsageError(`--input ${path}: line ${k + 1}, column ${j + 1}: ${JSON.stringify(c)} is not a number`);
        const v = Number(c);
        if (!Number.isFinite(v)) throw new UsageError(`--input ${path}: line ${k + 1}, column ${j + 1}: ${c} is not a finite number`);
        return v;
      }),
    );
    lines.push(k + 1);
  });
  if (rows.length === 0) throw new UsageError(`--input ${path} has no rows of numbers`);
  return { rows, where: (i) => `sample ${i + 1} (line ${lines[i]} of ${path})` };
}

/** An array of (n, ...) samples with as many values each as the model takes, or one sample of any shape with that many. */
function rowsFromNpy(bytes: Uint8Array, path: string, inputShape: readonly number[]): number[][] {
  let array;
  try {
    array = readNpy(bytes);
  } catch (e) {
    throw new UsageError(`--input ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const d = product(inputShape);
  const shape = array.shape;
  const n = shape.length >= 2 && product(shape.slice(1)) === d ? shape[0] : product(shape) === d ? 1 : -1;
  if (n < 0)
    throw new UsageError(`--input ${path}: an array of shape (${shape.join(", ")}) does not fit the model's input (${inputShape.join(", ")}); give (n, ${d})`);
  const values = Array.from(array.data as ArrayLike<number>, Number);
  return Array.from({ length: n }, (_, i) => values.slice(i * d, (i + 1) * d));
}

/** Pixels as RGBA with the channel maximum, from any PNG colour type and bit depth. */
function rgbaOf(png: DecodedPng): { rgba: ArrayLike<number>; max: number } {
  const n = png.width * png.height;
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    const c = png.palette[0].length;
    const rgba = new Uint8Array(4 * n);
    for (let i = 0; i < n; i++) rgba.set(c === 4 ? rgb.subarray(4 * i, 4 * i + 4) : [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i);
    return { rgba, max: 255 };
  }
  const max = 2 ** png.depth - 1;
  const c = png.channels;
  let data: ArrayLike<number> = png.data;
  if (png.depth < 8) {
    // Gray at 1, 2 or 4 bits stays packed, each row starting on a byte.
    const rowBytes = Math.ceil((png.width * png.depth) / 8);
    const unpacked = new Uint8Array(n);
    for (let y = 0; y < png.height; y++)
      for (let x = 0; x < png.width; x++) {
        const bit = x * png.depth;
        unpacked[y * png.width + x] = (png.data[y * rowBytes + (bit >> 3)] >> (8 - png.depth - (bit & 7))) & max;
      }
    data = unpacked;
  }
  const rgba = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    const gray = c <= 2;
    rgba[4 * i] = data[c * i];
    rgba[4 * i + 1] = gray ? data[c * i] : data[c * i + 1];
    rgba[4 * i + 2] = gray ? data[c * i] : data[c * i + 2];
    rgba[4 * i + 3] = c === 2 ? data[c * i + 1] : c === 4 ? data[c * i + 3] : max;
  }
  return { rgba, max };
}

/** A picture of one digit, prepared like MNIST's (src/data/digit-image.ts): 784 values. */
function rowsFromPng(bytes: Uint8Array, path: string, inputShape: readonly number[]): number[][] {
  if (product(inputShape) !== 784)
    throw new UsageError(`--input ${path}: an image is read as 28x28 pixels for a digits model (784 inputs); this model takes ${product(inputShape)}`);
  let png: DecodedPng;
  try {
    png = decode(bytes);
  } catch (e) {
    throw new UsageError(`--input ${path}: not a readable PNG (${e instanceof Error ? e.message : String(e)})`);
  }
  const { rgba, max } = rgbaOf(png);
  try {
    return [Array.from(inkFromRgba(rgba, png.width, png.height, max))];
  } catch (e) {
    throw new UsageError(`--input ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The samples `--input` names, checked against the model's input: count and finiteness, each error placed. */
export function readSamples(input: string, inputShape: readonly number[]): Samples {
  let samples: Samples;
  // "{...}" or a bare number is JSON too (not a file name), and gets the list's error rather than "no such file".
  if (/^\s*([[{]|[-+]?\d[\d.eE+-]*\s*$)/.test(input)) {
    const rows = rowsFromJson(parseJson(input, "--input"), "--input");
    samples = { rows, where: (i) => `sample ${i + 1}` };
  } else {
    const ext = extname(input).toLowerCase();
    checkInputFile(input);
    if (![".csv", ".json", ".npy", ".png"].includes(ext)) throw new UsageError(`--input ${input}: give ${FORMATS}`);
    const bytes = readInputFile(input);
    const at = (i: number) => `sample ${i + 1} of ${input}`;
    if (ext === ".csv") samples = rowsFromCsv(new TextDecoder().decode(bytes), input);
    else if (ext === ".json") samples = { rows: rowsFromJson(parseJson(new TextDecoder().decode(bytes), `--input ${input}`), `--input ${input}`), where: at };
    else if (ext === ".npy") samples = { rows: rowsFromNpy(bytes, input, inputShape), where: at };
    else samples = { rows: rowsFromPng(bytes, input, inputShape), where: at };
  }
  const d = product(inputShape);
  samples.rows.forEach((row, i) => {
    if (row.length !== d) throw new UsageError(`${samples.where(i)} has ${row.length} values, the model takes ${d}`);
    const bad = row.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new UsageError(`${samples.where(i)}, value ${bad + 1} is ${row[bad]}: features must be finite numbers`);
  });
  return samples;
}
