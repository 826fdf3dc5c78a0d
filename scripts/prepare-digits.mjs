// Packs the `mnist` package's 10,000 digits into playground/public/digits.bin for the browser:
// N label bytes, then N * 784 pixel bytes (0-255). Generated, not committed (see .gitignore).
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const out = join(dirname(fileURLToPath(import.meta.url)), "..", "playground", "public", "digits.bin");
if (!existsSync(out)) {
  const labels = [];
  const pixels = [];
  for (let d = 0; d <= 9; d++) {
    const raw = require(`mnist/src/digits/${d}.json`).data;
    const n = Math.floor(raw.length / 784);
    for (let i = 0; i < n; i++) {
      labels.push(d);
      for (let k = 0; k < 784; k++) pixels.push(Math.round(raw[i * 784 + k] * 255));
    }
  }
  const bytes = new Uint8Array(labels.length + pixels.length);
  bytes.set(labels, 0);
  bytes.set(pixels, labels.length);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, bytes);
  console.log(`wrote ${out} (${labels.length} digits)`);
}
