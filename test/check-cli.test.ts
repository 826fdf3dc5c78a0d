/** `backprop check` and `backprop explain --blank` through the CLI: output, --json, exit codes, errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli } from "./cli-helper.js";
import { explainAll } from "../src/explain/report/explain.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { blankTable } from "../src/explain/teaching/blank.js";
import { trueValue } from "../src/explain/teaching/cells.js";
import { ANSWER_FILE_FORMATS } from "../src/explain/teaching/answers.js";

const P = "(ln(x) + sin(y))^2 + 4x";
const AT = ["--at", "x=e,y=pi/2"];
const dir = join(process.cwd(), "test-artifacts", "check-cli");
mkdirSync(dir, { recursive: true });

const EXT = { table: "txt", markdown: "md", csv: "csv", latex: "tex", json: "json" } as const;

test("check: a right answer exits 0, a wrong one 2 with the first mistake named", async () => {
  const ok = await cli("check", P, ...AT, "--answer", "gx=5.47,gy=0");
  assert.equal(ok.code, 0);
  assert.match(ok.out, /^All right\./);
  assert.match(ok.out, /all 2 answers are right$/);
  const wrong = await cli("check", P, ...AT, "--answer", "gx=4", "--answer", "gy=0");
  assert.equal(wrong.code, 2);
  assert.match(wrong.out, /^First mistake: gx = 4 is wrong \(right: 5\.472\): gx has only 1 of its 2 paths \(through f\): x fans out/);
  assert.match(wrong.out, /gx\s+4\s+WRONG\s+right: 5\.472\s+missing-fan-out/);
  assert.equal(wrong.err, "");
});

test("check --json: the verdicts, the first mistake and the counts", async () => {
  const r = await cli("check", P, ...AT, "--answer", "a=1.1,c=2.1,da/dx=1", "--json");
  assert.equal(r.code, 2);
  const j = JSON.parse(r.out);
  assert.equal(j.correct, false);
  assert.equal(j.first.kind, "wrong-value");
  assert.equal(j.first.cell, "value:a");
  assert.equal(j.mistakes.length, 2);
  assert.equal(j.mistakes[1].kind, "wrong-local");
  assert.equal(j.mistakes[1].rule, "d/dx ln x = 1/x");
  assert.deepEqual(
    j.cells.map((c: { label: string; verdict: string }) => [c.label, c.verdict]),
    [
      ["a", "wrong"],
      ["c", "carried"],
      ["da/dx", "wrong"],
    ],
  );
  assert.equal(j.cells[1].carriedFrom, "value:a");
  assert.deepEqual(j.tolerance, { rtol: 0.001, atol: 1e-9 });
  const right = JSON.parse((await cli("check", P, ...AT, "--answer", "gx=5.5", "--rtol", "0.01", "--json")).out);
  assert.equal(right.correct, true);
  assert.equal(right.tolerance.rtol, 0.01);
});

test("check: errors are one line, or one JSON object with --json", async () => {
  const cases: [string[], RegExp][] = [
    [["--answer", "gz=1"], /^error: --answer gz: unknown name 'gz' in the answer \(use gradients gx, gy; stage values a, b, c, d, f, g/],
    [[], /^error: no answer given: use --answer gx=\.\.\.,gy=\.\.\. or --answer-file FILE/],
    [["--answer", "gx=1", "--answer-file", "x.md"], /^error: give the answer with --answer or --answer-file, not both$/],
    [["--answer", "gx=1", "--rtol", "abc"], /^error: --rtol needs a number >= 0, got "abc"$/],
    [["--answer-file", join(dir, "missing.md")], /^error: --answer-file .*missing\.md: no such file or folder$/],
    [["--answer-file", dir], /^error: --answer-file .* is a directory$/],
    [["--answer-file", "x.md", "--answer-format", "pdf"], /^error: unknown answer format "pdf" \(use one of table, markdown, csv, latex, json\)$/],
    [["--answer", "gx=1", "--at", "x=2"], /^error: --at gives 'x' twice/],
  ];
  for (const [args, message] of cases) {
    const r = await cli("check", P, ...AT, ...args);
    assert.equal(r.code, 1, args.join(" "));
    assert.match(r.err, message);
    assert.equal(r.err.split("\n").length, 1, r.err);
    assert.equal(r.out, "");
    const j = await cli("check", P, ...AT, ...args, "--json");
    assert.equal(j.code, 1);
    assert.equal(j.err, "");
    const obj = JSON.parse(j.out);
    assert.match(`error: ${obj.error}`, message);
  }
  const syntax = await cli("check", "ln(x", "--at", "x=1", "--answer", "gx=1", "--json");
  assert.equal(syntax.code, 1);
  assert.equal(typeof JSON.parse(syntax.out).position, "number");
  const unknownAt = await cli("check", P, "--at", "x=e", "--answer", "gx=1");
  assert.match(unknownAt.err, /^error: .*y/);
});

test("check --answer-file: a malformed table says the file and the line", async () => {
  const e = explainAll(P, parseAssignments(["x=e,y=pi/2"]));
  const lines = blankTable(e.report, "markdown").split("\n");
  const k = lines.findIndex((l) => l.startsWith("| c |"));
  lines[k] = "| c | `c = a + b` | 2 | four |";
  const file = join(dir, "malformed.md");
  writeFileSync(file, lines.join("\n"));
  const r = await cli("check", P, ...AT, "--answer-file", file);
  assert.equal(r.code, 1);
  assert.equal(r.err, `error: ${file}: line ${k + 1}: cannot read "four" as a number (a value cannot refer to the name 'four')`);
  const j = JSON.parse((await cli("check", P, ...AT, "--answer-file", file, "--json")).out);
  assert.equal(j.line, k + 1);
  // The blank itself has nothing to check.
  writeFileSync(join(dir, "blank.md"), blankTable(e.report, "markdown"));
  assert.match((await cli("check", P, ...AT, "--answer-file", join(dir, "blank.md"))).err, /the answer has no values/);
});

test("explain --blank: every format, written with --out, filled in and checked", async () => {
  const e = explainAll(P, parseAssignments(["x=e,y=pi/2"]));
  for (const format of ANSWER_FILE_FORMATS) {
    const printed = await cli("explain", P, ...AT, "--blank", "--format", format);
    assert.equal(printed.code, 0, printed.err);
    assert.equal(printed.out, blankTable(e.report, format).replace(/\n$/, ""));
    const out = join(dir, `blank.${EXT[format]}`);
    const written = await cli("explain", P, ...AT, "--blank", "--out", out);
    assert.equal(written.code, 0, written.err);
    assert.equal(readFileSync(out, "utf8").replace(/\n$/, ""), printed.out, `${format}: --out picks the format from the extension`);
    // Filled in with 3 significant digits and one mistake (d ln x taken as ln x = 1).
    const filled = blankTable(e.report, format, (c) => {
      if (c.key === "local:a:x") return 1;
      const t = trueValue(e.report, c);
      return typeof t === "number" && ["value", "local"].includes(c.kind) ? Number(t.toPrecision(3)) : null;
    });
    const file = join(dir, `filled.${EXT[format]}`);
    writeFileSync(file, filled);
    const r = await cli("check", P, ...AT, "--answer-file", file, "--json");
    assert.equal(r.code, 2, r.out);
    const j = JSON.parse(r.out);
    assert.equal(j.first.kind, "wrong-local", format);
    assert.equal(j.first.cell, "local:a:x", format);
    assert.equal(j.counts.wrong, 1, format);
    assert.match(j.first.where, /^(line \d+|edges\[7\]\.localValue)$/, format);
  }
});

test("explain --blank: errors", async () => {
  const svg = await cli("explain", P, ...AT, "--blank", "--format", "svg");
  assert.equal(svg.code, 1);
  assert.equal(svg.err, "error: --blank prints table, markdown, csv, latex, json, not svg");
  const checkToo = await cli("explain", P, ...AT, "--blank", "--check");
  assert.equal(checkToo.err, "error: --blank prints a table to fill in; it does not take --check");
  const ext = await cli("explain", P, ...AT, "--blank", "--out", join(dir, "blank.svg"));
  assert.match(ext.err, /^error: --out .*blank\.svg: a blank is written as \.txt, \.md, \.csv, \.tex, \.json/);
  const abstract = await cli("explain", "fn g; g(x)", "--at", "x=1", "--blank");
  assert.equal(abstract.code, 1);
  const json = await cli("explain", P, ...AT, "--blank", "--json", "--format", "csv");
  assert.equal(json.code, 0, "--json is --format json; the last word is --json");
  assert.ok(JSON.parse(json.out).stages);
});

test("check: a program beginning with '-'", async () => {
  const r = await cli("check", "-x^2 + y", "--at", "x=1,y=2", "--answer", "gx=-2,gy=1");
  assert.equal(r.code, 0, r.err);
  const wrong = await cli("check", "-x^2 + y", "--at", "x=1,y=2", "--answer", "gx=2");
  assert.equal(wrong.code, 2);
  assert.match(wrong.out, /sign/);
});
