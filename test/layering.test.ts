/**
 * The layering of src/ is a rule, not a habit: the core imports nothing above it, the explainer and the
 * optimizers sit on the core alone, nn on the core, data and optim, the package entries on the library
 * folders, and only the CLI and the Node entry use Node's own modules. Read from the import statements.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..", "src");

/** What each folder of src/ (or top-level file) may import besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  data: ["core"],
  optim: ["core"],
  plot: ["core"],
  explain: ["core"],
  nn: ["core", "data", "optim"],
  "index.ts": ["core", "data", "optim", "plot", "explain", "nn"],
  node: ["core", "data", "index.ts"],
  cli: ["core", "data", "optim", "plot", "explain", "nn", "node", "index.ts"],
};
/** Where Node's own modules (node:fs, node:path...) may be imported: the layers that only run in Node. */
const NODE_ONLY = new Set(["cli", "node"]);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

function layerOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts[0];
}

/** Module specifiers of a file's static and dynamic imports and re-exports. */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;"']*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|(?:^|\n)\s*import\s*["']([^"']+)["']/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

describe("layering of src/", () => {
  const all = files(SRC);

  it("finds every folder in the rule table, and the core's many files", () => {
    assert.deepEqual([...new Set(all.map(layerOf))].sort(), Object.keys(ALLOWED).sort());
    assert.ok(all.filter((f) => layerOf(f) === "core").length > 20);
  });

  it("no folder imports one above it", () => {
    const bad: string[] = [];
    for (const file of all) {
      const from = layerOf(file);
      for (const spec of imports(file)) {
        if (!spec.startsWith(".")) continue;
        const to = layerOf(normalize(join(dirname(file), spec)).replace(/\.js$/, ".ts"));
        if (to !== from && !ALLOWED[from].includes(to)) bad.push(`${relative(SRC, file)} imports ${spec} (${from} -> ${to})`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it("only the CLI and the Node entry import Node's modules (the rest runs in browsers too)", () => {
    const bad = all.filter((f) => !NODE_ONLY.has(layerOf(f))).flatMap((f) => imports(f).filter((s) => s.startsWith("node:")).map((s) => `${relative(SRC, f)} imports ${s}`));
    assert.deepEqual(bad, []);
  });

  it("the rule itself has no cycle between folders", () => {
    const seen = new Set<string>();
    const visit = (layer: string, path: readonly string[]): void => {
      assert.ok(!path.includes(layer), `cycle: ${[...path, layer].join(" -> ")}`);
      if (seen.has(layer)) return;
      for (const next of ALLOWED[layer]) visit(next, [...path, layer]);
      seen.add(layer);
    };
    for (const layer of Object.keys(ALLOWED)) visit(layer, []);
  });

  it("the check sees a violation: core importing the explainer is caught", () => {
    const spec = "../explain/explain.js";
    const to = layerOf(normalize(join(SRC, "core", spec)).replace(/\.js$/, ".ts"));
    assert.equal(to, "explain");
    assert.ok(!ALLOWED.core.includes(to));
    // The scanner reads real imports (so the checks above are not vacuous).
    assert.ok(imports(join(SRC, "cli", "files.ts")).some((s) => s.startsWith("node:")));
    assert.ok(imports(join(SRC, "explain", "explain.ts")).includes("./core.js"));
    assert.ok(imports(join(SRC, "explain", "core.ts")).includes("../core/autodiff.js"));
  });
});
