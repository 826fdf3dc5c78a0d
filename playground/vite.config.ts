import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

const ISOLATION = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };

// The playground is a static page built from this repository; it imports the library's sources.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "./",
  build: { outDir: fileURLToPath(new URL("../dist-playground", import.meta.url)), emptyOutDir: true, chunkSizeWarningLimit: 2000 },
  worker: { format: "es" },
  // Cross-origin isolation gives the page SharedArrayBuffer, so the wasm kernels can use threads.
  server: { host: "127.0.0.1", headers: ISOLATION },
  preview: { host: "127.0.0.1", headers: ISOLATION },
});
