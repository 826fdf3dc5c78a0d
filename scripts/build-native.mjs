// Builds the optional native kernels (native/*.cc) with node-gyp. Where that cannot work (no
// compiler, no Node headers, another platform), it says so and exits 0: the JS backend serves.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.env.BACKPROP_SKIP_NATIVE === "1") process.exit(0);
let gyp;
try {
  gyp = createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
} catch {
  console.warn("backprop: node-gyp is not installed; skipping the native backend");
  process.exit(0);
}
// Use the headers that came with this Node (nothing can be downloaded here).
const prefix = join(dirname(process.execPath), "..");
const args = [gyp, "rebuild", "--directory", join(root, "native")];
if (existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
if (r.status !== 0) {
  console.warn(
    `backprop: the native backend did not build; the JavaScript backend will be used.\n${(r.stderr || r.stdout || "").split("\n").slice(-8).join("\n")}`,
  );
} else {
  console.log("backprop: built the native backend (native/build/Release/backprop_native.node)");
}
