// Packs the `mnist` package's 10,000 digits for the browser into playground/public/digits.bin.gzip:
// N label bytes, then N * 784 pixel bytes (0-255), gzipped (7.85 MB -> about 1.6 MB over the wire; the
// training worker inflates it with the browser's DecompressionStream). The name does not end in .gz so
// that servers (Vite's among them) send it as plain bytes with its real Content-Length, which the
// loading bar counts against. Generated, not committed (see .gitignore).
import { mkdirSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const require = createRequire(import.meta.url);
const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "playground", "public");
const out = join(dir, "digits.bin.gzip");
// The uncompressed file of earlier versions: it would still be copied into every build.
rmSync(join(dir, "digits.bin"), { force: true });
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
  const packed = gzipSync(bytes, { level: 9 });
  mkdirSync(dir, { recursive: true });
  writeFileSync(out, packed);
  console.log(`wrote ${out} (${labels.length} digits, ${bytes.length} bytes gzipped to ${packed.length})`);
}
