/** PNG from SVG with resvg (WebAssembly) and a DejaVu Sans font shipped in an npm package. Node only. */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { initWasm, Resvg } from "@resvg/resvg-wasm";

const require = createRequire(import.meta.url);
let ready: Promise<void> | null = null;
let fonts: Uint8Array[] = [];

function init(): Promise<void> {
  ready ??= (async () => {
    await initWasm(readFileSync(require.resolve("@resvg/resvg-wasm/index_bg.wasm")));
    const dir = require.resolve("dejavu-fonts-ttf/package.json").replace(/package\.json$/, "ttf/");
    fonts = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf"].map((f) => readFileSync(dir + f));
  })();
  return ready;
}

/** Renders at `scale` times the SVG's size (2 for crisp figures). */
export async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  await init();
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    font: { fontBuffers: fonts, defaultFontFamily: "DejaVu Sans", loadSystemFonts: false },
  });
  return r.render().asPng();
}
