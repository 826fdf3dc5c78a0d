/**
 * The layering of src/ is a rule, not a habit: dependency-cruiser checks it against
 * .dependency-cruiser.cjs (which draws the layers), on the real tree and on a small tree built to break
 * each kind of rule, so that the check is seen to fail when it should.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEPCRUISE = join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** Cruises `dir`/src with the project's rules; the violations found. */
function violations(dir: string): Violation[] {
  let out: string;
  try {
    out = execFileSync(process.execPath, [DEPCRUISE, "src", "--config", join(ROOT, ".dependency-cruiser.cjs"), "--output-type", "json"], {
      cwd: dir,
      encoding: "utf8",
    });
  } catch (e) {
    // Exit status 1+ when there are violations; the report is still on stdout.
    out = (e as { stdout: string }).stdout;
  }
  return (JSON.parse(out) as { summary: { violations: Violation[] } }).summary.violations;
}

describe("layering of src/ (dependency-cruiser)", () => {
  it("the source tree breaks no rule", () => {
    assert.deepEqual(
      violations(ROOT).map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`),
      [],
    );
  });

  it("every folder of src/ has its layer rule", () => {
    const rules = new Set(ruleNames());
    for (const e of readdirSync(join(ROOT, "src"), { withFileTypes: true }).filter((x) => x.isDirectory())) {
      assert.ok(
        [...rules].some((r) => r.startsWith(`${e.name}-imports-only-`)),
        `no layer rule for src/${e.name}`,
      );
    }
  });

  it("catches an upward import, a cycle across folders, a backend import in autodiff, a renderer running an interpreter, and node: outside the CLI", () => {
    const dir = mkdtempSync(join(tmpdir(), "layering-"));
    try {
      const file = (path: string, text: string) => {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), text);
      };
      copyFileSync(join(ROOT, "tsconfig.json"), join(dir, "tsconfig.json"));
      file("src/core/tensor.ts", 'import { y } from "../explain/report/explain.js";\nexport const x = y;\n');
      file("src/core/autodiff.ts", 'import { w } from "./backends/wasm/backend.js";\nexport const a = w;\n');
      file("src/core/backends/wasm/backend.ts", "export const w = 1;\n");
      file("src/explain/report/explain.ts", 'import { x } from "../../core/tensor.js";\nexport const y = 1;\nexport const z = x;\n');
      file("src/explain/interpreters/stage.ts", "export const s = 1;\n");
      file(
        "src/explain/renderers/graph.ts",
        'import { s } from "../interpreters/stage.js";\nimport { readFileSync } from "node:fs";\nexport const g = [s, readFileSync];\n',
      );
      const found = violations(dir)
        .map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`)
        .sort();
      assert.deepEqual(found, [
        "autodiff-never-sees-a-backend: src/core/autodiff.ts -> src/core/backends/wasm/backend.ts",
        "core-imports-only-itself: src/core/tensor.ts -> src/explain/report/explain.ts",
        "explain-renderers-read-the-report: src/explain/renderers/graph.ts -> src/explain/interpreters/stage.ts",
        "no-cycles-across-folders: src/core/tensor.ts -> src/explain/report/explain.ts",
        "node-modules-only-in-node-and-cli: src/explain/renderers/graph.ts -> fs",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The names of the rules in the configuration. */
function ruleNames(): string[] {
  const config = createRequire(import.meta.url)(join(ROOT, ".dependency-cruiser.cjs")) as { forbidden: { name: string }[] };
  return config.forbidden.map((r) => r.name);
}
