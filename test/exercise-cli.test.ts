/** `backprop exercise`: output, files, --json, reproducibility and one-line errors. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli } from "./cli-helper.js";
import { EXERCISE_TOPICS } from "../src/index.js";

describe("backprop exercise", () => {
  it("prints a Markdown handout, and the key with --key; the same seed prints the same sheet", async () => {
    const a = await cli("exercise", "--topic", "sigmoid", "--count", "2", "--seed", "5");
    assert.equal(a.code, 0, a.err);
    assert.match(a.out, /^# Exercises: The sigmoid gate, difficulty 1/);
    assert.match(a.out, /## 2\. /);
    assert.doesNotMatch(a.out, /Answers/);
    const b = await cli("exercise", "--topic", "sigmoid", "--count", "2", "--seed", "5");
    assert.equal(a.out, b.out);
    const c = await cli("exercise", "--topic", "sigmoid", "--count", "2", "--seed", "6");
    assert.notEqual(a.out, c.out);
    const key = await cli("exercise", "--topic", "sigmoid", "--count", "2", "--seed", "5", "--key");
    assert.equal(key.code, 0);
    assert.match(key.out, /^# Answer key/);
    assert.match(key.out, /\| stage \| local derivative \| local \| upstream \| contribution \|/);
  });

  it("--json prints the handout as JSON; with --key the key, every stage included", async () => {
    const h = await cli("exercise", "--topic", "chain-rule", "--difficulty", "2", "--json");
    assert.equal(h.code, 0, h.err);
    const handout = JSON.parse(h.out);
    assert.equal(handout.kind, "handout");
    assert.equal(handout.exercises.length, 3);
    assert.equal(handout.command, "backprop exercise --topic chain-rule --difficulty 2 --count 3 --seed 1");
    const k = JSON.parse((await cli("exercise", "--topic", "chain-rule", "--difficulty", "2", "--json", "--key")).out);
    assert.equal(k.kind, "key");
    const first = k.exercises[0];
    assert.ok(first.stages.length >= 3 && first.edges.length >= 3);
    assert.ok(first.stages.every((s: { value: unknown; grad: unknown }) => typeof s.value === "number" && typeof s.grad === "number"));
    assert.equal(typeof first.gradients.t, "number");
  });

  it("--out writes the handout and the key beside it (or at --key-out), in the extension's format", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bp-exercise-"));
    const r = await cli("exercise", "--topic", "all", "--count", String(EXERCISE_TOPICS.length), "--out", join(dir, "sheet.tex"));
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /wrote .*sheet\.tex/);
    assert.match(r.err, /wrote .*sheet-key\.tex/);
    assert.match(readFileSync(join(dir, "sheet.tex"), "utf8"), /^\\documentclass/);
    assert.match(readFileSync(join(dir, "sheet-key.tex"), "utf8"), /Forward pass/);
    const j = await cli("exercise", "--topic", "layer", "--out", join(dir, "a.json"), "--key-out", join(dir, "answers.json"), "--json");
    assert.equal(j.code, 0, j.out);
    assert.deepEqual(JSON.parse(j.out), { wrote: { handout: join(dir, "a.json"), key: join(dir, "answers.json") } });
    assert.equal(JSON.parse(readFileSync(join(dir, "answers.json"), "utf8")).kind, "key");
    const k = await cli("exercise", "--topic", "shapes", "--key-out", join(dir, "k.md"));
    assert.equal(k.code, 0);
    assert.match(k.out, /^# Exercises/);
    assert.ok(existsSync(join(dir, "k.md")));
  });

  it("errors are one line (a JSON object with --json) and say what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["--topic", "sigmod"],
        /^error: unknown topic "sigmod": use all, or one of: staging \(scalar staging and gradients\), fan-out .*descent-step \(one gradient-descent step\)$/,
      ],
      [[], /^error: --topic is required: all, or one of: staging/],
      [["--topic", "staging", "--difficulty", "4"], /^error: --difficulty must be an integer from 1 to 3, got "4"$/],
      [["--topic", "staging", "--difficulty", "1.5"], /^error: --difficulty must be an integer from 1 to 3, got "1.5"$/],
      [["--topic", "staging", "--count", "0"], /^error: --count must be an integer from 1 to 100, got "0"$/],
      [["--topic", "staging", "--seed", "x"], /^error: --seed must be an integer from 0 to 4294967295, got "x"$/],
      [["--topic", "staging", "--format", "pdf"], /^error: unknown format "pdf" \(use one of markdown, latex, json\)$/],
      [
        ["--topic", "staging", "--out", "sheet.pdf"],
        /^error: --out sheet\.pdf: cannot tell the format from the extension \.pdf; use \.md, \.tex or \.json, or give --format$/,
      ],
      [["--topic", "staging", "--format", "latex", "--out", "sheet.md"], /^error: --out sheet\.md contradicts --format latex$/],
      [["--topic", "staging", "--out", "a.tex", "--key-out", "b.md"], /^error: --key-out b\.md contradicts --out a\.tex$/],
      [["--topic", "staging", "--out", "a.md", "--key-out", "a.md"], /^error: --out and --key-out name the same file \(a\.md\)$/],
    ];
    for (const [args, message] of cases) {
      const r = await cli("exercise", ...args);
      assert.equal(r.code, 1, args.join(" "));
      assert.equal(r.out, "");
      assert.match(r.err, message);
      assert.equal(r.err.split("\n").length, 1);
      const j = await cli("exercise", ...args, "--json");
      assert.equal(j.code, 1);
      if (args.includes("--format") || args.includes("--out")) continue; // --json itself contradicts these
      assert.match(JSON.parse(j.out).error, new RegExp(message.source.replace(/^\^error: /, "^")));
    }
  });
});
