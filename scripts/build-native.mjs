// Builds the optional native kernels (native/*.cc) with node-gyp. Where that cannot work (no
// compiler, no Node headers, another platform), it says so and exits 0: the wasm backend serves.
// `--install` is the package's install script: in an installed package it builds with the node-gyp
// that npm ships (devDependencies are not there); in a checkout of the sources it does nothing,
// because `prepare` (npm run build) builds right after.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const installing = process.argv.includes("--install");

/** node-gyp's script: our devDependency in a checkout, else the one npm runs lifecycle scripts with. */
function findNodeGyp() {
  try {
    return createRequire(import.meta.url).resolve("node-gyp/bin/node-gyp.js");
  } catch {
    const fromNpm = process.env.npm_config_node_gyp;
    return fromNpm && existsSync(fromNpm) ? fromNpm : null;
  }
}

function build() {
  if (process.env.BACKPROP_SKIP_NATIVE === "1") return;
  if (installing && existsSync(join(root, "src", "index.ts"))) return;
  const gyp = findNodeGyp();
  if (!gyp) {
    console.warn("backprop: node-gyp was not found; skipping the native backend (the wasm backend will be used)");
    return;
  }
  // Use the headers that came with this Node where they are there (nothing needs downloading then).
  const prefix = join(dirname(process.execPath), "..");
  const args = [gyp, "rebuild", "--directory", join(root, "native")];
  if (existsSync(join(prefix, "include", "node", "node_api.h"))) args.push(`--nodedir=${prefix}`);
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) {
    console.warn(
      `backprop: the native backend did not build; the wasm backend will be used.\n${(r.stderr || r.stdout || String(r.error ?? "")).split("\n").slice(-8).join("\n")}`,
    );
  } else {
    console.log("backprop: built the native backend (native/build/Release/backprop_native.node)");
  }
}

try {
  build();
} catch (e) {
  // Never fail an install over an optional backend.
  console.warn(`backprop: skipping the native backend (${e instanceof Error ? e.message : String(e)})`);
}
process.exit(0);
