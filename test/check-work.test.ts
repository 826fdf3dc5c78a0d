/**
 * Check my work (src/explain/teaching/): seeded mistakes of each kind diagnosed on several programs,
 * every answer format read (and every blank filled in read back), rounding to 3 significant digits,
 * carried-forward errors, and the errors a malformed answer gets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { explainAll } from "../src/explain/report/explain.js";
import { parseAssignments } from "../src/explain/language/values.js";
import { formatLatex, formatMarkdown, formatTable } from "../src/explain/renderers/format.js";
import { reportJson } from "../src/explain/renderers/json.js";
import { checkWork, type CheckWorkResult } from "../src/explain/teaching/check-work.js";
import {
  AnswerError,
  parseAnswer,
  parseInlineAnswer,
  answerFromCells,
  answerFormatOf,
  ANSWER_FILE_FORMATS,
  type AnswerFileFormat,
} from "../src/explain/teaching/answers.js";
import { answerCells, trueValue, type Cell } from "../src/explain/teaching/cells.js";
import { blankTable } from "../src/explain/teaching/blank.js";
import type { Explanation, Value } from "../src/explain/report/report.js";

const COURSE = "(ln(x) + sin(y))^2 + 4x"; // a = ln(x), b = sin(y), c = a + b, d = c^2, f = 4x, g = d + f
const COURSE_AT = "x=e,y=pi/2";
const FANOUT = "x*y + x"; // a = x*y, b = a + x
const QUOTIENT = "x/y + y"; // a = x/y, b = a + y
const THREE_PATHS = "x*y + x + sin(x)"; // a = x*y, b = a + x, c = sin(x), d = b + c

const cache = new Map<string, Explanation>();
function ex(program: string, at: string): Explanation {
  const key = `${program} @ ${at}`;
  if (!cache.has(key)) cache.set(key, explainAll(program, parseAssignments([at])));
  return cache.get(key)!;
}

const round3 = (v: Value): Value => (typeof v === "number" ? Number(v.toPrecision(3)) : (v as Value[]).map(round3));

function cellByLabel(e: Explanation, label: string): Cell {
  const c = answerCells(e.report).find((x) => x.label === label || x.key === label);
  assert.ok(c, `no cell ${label}`);
  return c;
}

/**
 * A student's table in `format`: the cells named in `wrong` hold those numbers, the cells in `fill`
 * ("all", or a list of labels) the true values rounded to 3 significant digits, the rest blank.
 */
function studentTable(e: Explanation, format: AnswerFileFormat, wrong: Record<string, number>, fill: "all" | readonly string[] = "all"): string {
  const r = e.report;
  const byKey = new Map(Object.entries(wrong).map(([label, v]) => [cellByLabel(e, label).key, v]));
  const wanted = fill === "all" ? null : new Set(fill.map((l) => cellByLabel(e, l).key));
  return blankTable(r, format, (c) => {
    if (byKey.has(c.key)) return byKey.get(c.key)!;
    if (wanted && !wanted.has(c.key)) return null;
    const t = trueValue(r, c);
    return t === null ? null : round3(t);
  });
}

function check(e: Explanation, answer: string, format?: AnswerFileFormat): CheckWorkResult {
  return checkWork(e, format === undefined ? parseInlineAnswer(answer, e.report) : parseAnswer(answer, e.report, format));
}

interface SeededCase {
  name: string;
  program: string;
  at: string;
  /** An inline answer, or a table: the wrong cells (the other cells right or blank, see `fill`). */
  inline?: string;
  wrong?: Record<string, number>;
  fill?: readonly string[];
  expect: {
    kind: string;
    cell: string;
    stage: string;
    from?: string;
    rule?: RegExp;
    missing?: string[];
    inferred?: boolean;
    carried?: number;
    mistakes?: number;
  };
}

// Each seeded mistake, the kind it must be diagnosed as, where, and what follows from it.
const SEEDED: SeededCase[] = [
  // The course's exercise at x = e, y = pi/2: gx = 4 + 2/e = 5.472, gy = 0.
  {
    name: "course: gx with one of its two paths",
    program: COURSE,
    at: COURSE_AT,
    inline: "gx=4,gy=0",
    expect: { kind: "missing-fan-out", cell: "grad:x", stage: "x", missing: ["a"] },
  },
  {
    name: "course: gx with the other path only",
    program: COURSE,
    at: COURSE_AT,
    inline: "gx=1.47",
    expect: { kind: "missing-fan-out", cell: "grad:x", stage: "x", missing: ["f"] },
  },
  { name: "course: gx negated", program: COURSE, at: COURSE_AT, inline: "gx=-5.47,gy=0", expect: { kind: "sign", cell: "grad:x", stage: "x" } },
  {
    name: "course: d ln x taken as ln x, in the table (later cells carried)",
    program: COURSE,
    at: COURSE_AT,
    wrong: { "da/dx": 1, "contribution a<-x": 4, gx: 8 },
    expect: { kind: "wrong-local", cell: "local:a:x", stage: "a", from: "x", rule: /ln x = 1\/x/, carried: 2, mistakes: 1 },
  },
  {
    name: "course: d ln x taken as x",
    program: COURSE,
    at: COURSE_AT,
    wrong: { "da/dx": Math.E },
    fill: ["da/dx"],
    expect: { kind: "wrong-local", cell: "local:a:x", stage: "a", rule: /1\/x/ },
  },
  {
    name: "course: d sin taken as -sin",
    program: COURSE,
    at: COURSE_AT,
    wrong: { "db/dy": -1 },
    fill: ["a", "b", "db/dy"],
    expect: { kind: "wrong-local", cell: "local:b:y", stage: "b", rule: /sin x = cos x/ },
  },
  {
    name: "course: upstream and local swapped on d = c^2",
    program: COURSE,
    at: COURSE_AT,
    wrong: { "dd/dc": 1, "upstream d<-c": 4 },
    expect: { kind: "swapped", cell: "local:d:c", stage: "d", from: "c", carried: 1, mistakes: 1 },
  },
  {
    name: "course: a wrong forward value carried through c, d, g",
    program: COURSE,
    at: COURSE_AT,
    wrong: { a: 1.1, c: 2.1, d: 4.41, g: 15.28 },
    fill: ["a", "b", "c", "d", "f", "g"],
    expect: { kind: "wrong-value", cell: "value:a", stage: "a", carried: 3, mistakes: 1 },
  },
  {
    name: "course: the power rule without lowering the exponent",
    program: COURSE,
    at: COURSE_AT,
    wrong: { "dd/dc": 8 },
    fill: ["c", "dd/dc"],
    expect: { kind: "wrong-local", cell: "local:d:c", stage: "d", rule: /power rule/ },
  },
  // Only the final gradient: the mistake is found on the edge whose cells were left blank.
  {
    name: "course: only gx, d ln x taken as ln x",
    program: COURSE,
    at: COURSE_AT,
    inline: "gx=8",
    expect: { kind: "wrong-local", cell: "grad:x", stage: "a", from: "x", inferred: true },
  },
  {
    name: "course: only gx, the power rule's factor 2 dropped",
    program: COURSE,
    at: COURSE_AT,
    inline: "gx=4.736",
    expect: { kind: "wrong-local", cell: "grad:x", stage: "d", from: "c", inferred: true },
  },
  {
    name: "course: only gy, d sin taken as -sin",
    program: COURSE,
    at: COURSE_AT,
    inline: "gy=-4",
    expect: { kind: "wrong-local", cell: "grad:y", stage: "b", from: "y", inferred: true },
  },
  // Fan-out: x*y + x at x = 2, y = 3: gx = y + 1 = 4, gy = x = 2.
  {
    name: "fan-out: gx = y, the path through b missing",
    program: FANOUT,
    at: "x=2,y=3",
    inline: "gx=3,gy=2",
    expect: { kind: "missing-fan-out", cell: "grad:x", stage: "x", missing: ["b"] },
  },
  {
    name: "fan-out: the stage table's gx sums one contribution",
    program: FANOUT,
    at: "x=2,y=3",
    wrong: { gx: 1 },
    expect: { kind: "missing-fan-out", cell: "grad:x", stage: "x", missing: ["a"], mistakes: 1 },
  },
  {
    name: "fan-out: sign error in a local derivative",
    program: FANOUT,
    at: "x=2,y=3",
    wrong: { "da/dy": -2 },
    fill: ["da/dy"],
    expect: { kind: "sign", cell: "local:a:y", stage: "a", from: "y" },
  },
  {
    name: "course: the contribution is the local derivative alone",
    program: COURSE,
    at: COURSE_AT,
    wrong: { "contribution c<-a": 1 },
    fill: ["upstream c<-a", "dc/da", "contribution c<-a"],
    expect: { kind: "wrong-contribution", cell: "contribution:c:a", stage: "c", from: "a" },
  },
  {
    name: "fan-out: the output's gradient is not 1",
    program: FANOUT,
    at: "x=2,y=3",
    inline: "gb=0",
    expect: { kind: "wrong-gradient", cell: "grad:b", stage: "b" },
  },
  {
    name: "three paths: gx with one of its three",
    program: THREE_PATHS,
    at: "x=2,y=3",
    inline: "gx=3",
    expect: { kind: "missing-fan-out", cell: "grad:x", stage: "x" },
  },
  // Quotients: x/y + y at x = 2, y = 4: da/dx = 1/y = 0.25, da/dy = -x/y^2 = -0.125, gy = 0.875.
  {
    name: "quotient: the product rule for the denominator",
    program: QUOTIENT,
    at: "x=2,y=4",
    inline: "da/dy=2",
    expect: { kind: "product-for-quotient", cell: "local:a:y", stage: "a", from: "y", rule: /quotient rule/ },
  },
  {
    name: "quotient: the product rule for the numerator",
    program: QUOTIENT,
    at: "x=2,y=4",
    inline: "da/dx=4",
    expect: { kind: "product-for-quotient", cell: "local:a:x", stage: "a", from: "x" },
  },
  {
    name: "quotient: only gy, the product rule",
    program: QUOTIENT,
    at: "x=2,y=4",
    inline: "gx=0.25,gy=3",
    expect: { kind: "product-for-quotient", cell: "grad:y", stage: "a", from: "y", inferred: true },
  },
  {
    name: "quotient: a contribution with the product rule",
    program: QUOTIENT,
    at: "x=2,y=4",
    wrong: { "contribution a<-y": 2 },
    fill: ["upstream a<-y", "contribution a<-y"],
    expect: { kind: "product-for-quotient", cell: "contribution:a:y", stage: "a", from: "y" },
  },
];

for (const c of SEEDED) {
  test(`check: seeded mistake, ${c.name}`, () => {
    const e = ex(c.program, c.at);
    const res = c.inline !== undefined ? check(e, c.inline) : check(e, studentTable(e, "markdown", c.wrong ?? {}, c.fill), "markdown");
    assert.equal(res.correct, false);
    const m = res.first;
    assert.ok(m, res.summary);
    assert.equal(m.kind, c.expect.kind, m.message);
    assert.equal(m.cell, c.expect.cell, m.message);
    assert.equal(m.stage, c.expect.stage, m.message);
    if (c.expect.from !== undefined) assert.equal(m.from, c.expect.from, m.message);
    if (c.expect.rule) assert.match(m.rule ?? "", c.expect.rule, m.message);
    if (c.expect.missing) assert.deepEqual(m.paths?.missing, c.expect.missing, m.message);
    assert.equal(m.inferred === true, c.expect.inferred === true, m.message);
    if (c.expect.carried !== undefined) assert.equal(res.counts.carried, c.expect.carried, res.summary);
    if (c.expect.mistakes !== undefined) assert.equal(res.mistakes.length, c.expect.mistakes, res.mistakes.map((x) => x.message).join("\n"));
  });
}

test("check: the fan-out diagnosis counts the paths and names the missing one", () => {
  const res = check(ex(FANOUT, "x=2,y=3"), "gx=3");
  assert.deepEqual(res.first?.paths, { total: 2, included: ["a"], missing: ["b"] });
  assert.match(res.first!.message, /gx has only 1 of its 2 paths/);
  const three = check(ex(THREE_PATHS, "x=2,y=3"), "gx=3");
  assert.equal(three.first?.paths?.total, 3);
  assert.equal(three.first?.paths?.included.length, 1);
});

test("check: carried-forward errors are not new mistakes, and are traced to the mistake they follow", () => {
  const e = ex(COURSE, COURSE_AT);
  // a wrong (1.1); c = a + b and d = c^2 computed right from it; g = d + f (4.41 + 10.87).
  const res = check(e, "a=1.1,b=1,c=2.1,d=4.41,g=15.28");
  assert.equal(res.mistakes.length, 1);
  assert.deepEqual(
    res.cells.filter((c) => c.verdict === "carried").map((c) => [c.cell.label, c.carriedFrom]),
    [
      ["c", "value:a"],
      ["d", "value:a"],
      ["g", "value:a"],
    ],
  );
  // A second, independent mistake after the first is reported as new.
  const two = check(e, "a=1.1,c=2.1,d=5");
  assert.equal(two.mistakes.length, 2);
  assert.equal(two.mistakes[1].cell, "value:d");
  assert.match(two.mistakes[1].message, /from your own earlier numbers: 4\.41/);
});

test("check: rounding to 3 significant digits is right, a coarser one is not unless --rtol allows it", () => {
  const e = ex(COURSE, COURSE_AT); // gx = 5.4715..., gy = 2.4e-16
  for (const gx of ["5.47", "5.472", "5.4715", "4/e + 4"]) assert.equal(check(e, `gx=${gx},gy=0`).correct, true, gx);
  assert.equal(check(e, "gx=5.5").correct, false);
  assert.equal(checkWork(e, parseInlineAnswer("gx=5.5", e.report), { rtol: 0.01 }).correct, true);
  assert.equal(checkWork(e, parseInlineAnswer("gx=5.47", e.report), { rtol: 0 }).correct, true, "3 significant digits whatever the rtol");
  // 1/e = 0.36788: 0.368 is right, 0.37 is not.
  assert.equal(check(e, "da/dx=0.368").correct, true);
  assert.equal(check(e, "da/dx=0.37").correct, false);
  // cos(pi/2) is 6e-17 in float64: 0 is right.
  assert.equal(check(e, "db/dy=0").correct, true);
});

test("check: verdicts for a partial answer, every cell listed in computation order", () => {
  const e = ex(FANOUT, "x=2,y=3");
  const res = check(e, "a=6,gx=4");
  assert.deepEqual(res.counts, { right: 2, wrong: 0, carried: 0, blank: res.cells.length - 2 });
  assert.deepEqual(
    res.cells.map((c) => c.cell.key),
    answerCells(e.report).map((c) => c.key),
  );
  assert.deepEqual(
    res.cells.slice(0, 3).map((c) => c.cell.key),
    ["value:a", "value:b", "grad:b"],
  );
  assert.equal(res.cells.at(-1)?.cell.key, "grad:y");
});

test("check: arrays are compared elementwise", () => {
  const e = ex("sum((W @ x)^2)", "W=[[0.1,0.5],[-0.3,0.8]],x=[0.2,0.4]");
  const g = e.report.gradients;
  const gw = (g.W as number[][]).map((row) => row.map((v) => Number(v.toPrecision(3))));
  assert.equal(check(e, `gW=${JSON.stringify(gw)}`).correct, true);
  const neg = gw.map((row) => row.map((v) => -v));
  assert.equal(check(e, `gW=${JSON.stringify(neg)}`).first?.kind, "sign");
  assert.equal(check(e, "gW=[1,2]").first?.kind, "shape");
});

// Every answer format: a blank filled in with the true values (rounded to 3 digits) reads back as a right answer.
for (const format of ANSWER_FILE_FORMATS) {
  test(`answers: a filled-in ${format} blank round-trips`, () => {
    for (const [program, at] of [
      [COURSE, COURSE_AT],
      [FANOUT, "x=2,y=3"],
      ["x*x + x/y", "x=2,y=4"],
      ["relu(x - 1) * sigmoid(w*x)", "x=2,w=0.5"],
    ]) {
      const e = ex(program, at);
      const text = studentTable(e, format, {});
      assert.equal(answerFormatOf(text), format, "the format is recognised from the content");
      const answer = parseAnswer(text, e.report, format);
      const withValues = answerCells(e.report).filter((c) => trueValue(e.report, c) !== null);
      assert.equal(answer.entries.length, withValues.length, `${program}: every cell is read`);
      const res = checkWork(e, answer);
      assert.equal(res.correct, true, `${program}: ${res.summary}`);
    }
  });
}

test("answers: the blank itself has every cell empty and says so when checked", () => {
  const e = ex(COURSE, COURSE_AT);
  for (const format of ANSWER_FILE_FORMATS) {
    assert.throws(() => parseAnswer(blankTable(e.report, format), e.report, format), /the answer has no values/, format);
  }
  assert.match(blankTable(e.report, "table"), /a = ln\(x\)\s+____\s+____/);
  assert.match(blankTable(e.report, "markdown"), /\| `g = d \+ f` \| `dg\/dd` \| \| \| d <- \|/);
});

test("answers: the explainer's own outputs read back as right answers", () => {
  for (const [program, at] of [
    [COURSE, COURSE_AT],
    ["x*x + x/y", "x=2,y=4"],
    ["sum((W @ x)^2)", "W=[[0.1,0.5],[-0.3,0.8]],x=[0.2,0.4]"],
  ]) {
    const e = ex(program, at);
    const r = e.report;
    for (const [format, text] of [
      ["table", formatTable(r)],
      ["markdown", formatMarkdown(r)],
      ["latex", formatLatex(r)],
      ["json", reportJson(r)],
    ] as const) {
      const answer = parseAnswer(text, r, format);
      assert.ok(answer.entries.length >= r.inputs.length, `${program} ${format}: ${answer.entries.length} cells`);
      assert.equal(checkWork(e, answer).correct, true, `${program} ${format}`);
    }
  }
});

test("answers: inline names are gradients, stage values, local derivatives and cell keys", () => {
  const e = ex(FANOUT, "x=2,y=3");
  const a = parseInlineAnswer(["gx=4", "a=6,da/dy=2", "contribution:b:x=1", "upstream b<-a=1"], e.report);
  assert.deepEqual(
    a.entries.map((x) => [x.cell.key, x.value, x.where]),
    [
      ["value:a", 6, "--answer a"],
      ["upstream:b:a", 1, "--answer upstream b<-a"],
      ["contribution:b:x", 1, "--answer contribution:b:x"],
      ["local:a:y", 2, "--answer da/dy"],
      ["grad:x", 4, "--answer gx"],
    ],
  );
  // A stage named like a gradient: the gradient of x is then d_x, as in the report.
  const clash = ex("gx = 2x; gx + y", "x=1,y=1");
  assert.deepEqual(
    parseInlineAnswer("d_x=2,gx=2", clash.report).entries.map((x) => x.cell.key),
    ["value:gx", "grad:x"],
  );
});

test("answers: x*x has two edges from x into one stage, told apart in every format", () => {
  const e = ex("x*x", "x=3");
  const keys = answerCells(e.report)
    .filter((c) => c.kind === "local")
    .map((c) => c.key);
  assert.deepEqual(keys, ["local:a:x", "local:a:x#2"]);
  for (const format of ANSWER_FILE_FORMATS) assert.equal(check(e, studentTable(e, format, {}), format).correct, true, format);
  assert.equal(check(e, studentTable(e, "csv", { "da/dx (#2)": 6, "contribution a<-x (#2)": 6, gx: 9 }), "csv").first?.cell, "local:a:x#2");
});

test("answers: errors say what and where", () => {
  const e = ex(COURSE, COURSE_AT);
  const r = e.report;
  const fails = (f: () => unknown, message: RegExp, line?: number) => {
    assert.throws(f, (err: unknown) => {
      assert.ok(err instanceof AnswerError, String(err));
      assert.match(err.message, message);
      assert.equal(err.line, line);
      return true;
    });
  };
  fails(() => parseInlineAnswer("gz=1", r), /--answer gz: unknown name 'gz' in the answer \(use gradients gx, gy; stage values a, b, c, d, f, g/);
  fails(() => parseInlineAnswer("x=1", r), /x is an input: its value is given with --at/);
  fails(() => parseInlineAnswer("gx", r), /expected NAME=VALUE, got "gx"/);
  fails(() => parseInlineAnswer("gx=", r), /--answer gx: missing value/);
  fails(() => parseInlineAnswer("gx=five", r), /--answer gx: cannot read "five" as a number/);
  fails(() => parseInlineAnswer("gx=1,gx=2", r), /gx is already given \(--answer gx\) with another value/);
  const md = studentTable(e, "markdown", {}).split("\n");
  const row = md.findIndex((l) => l.startsWith("| c |"));
  fails(() => parseAnswer(md.map((l, i) => (i === row ? "| q | `q = a + b` | 2 | 4 |" : l)).join("\n"), r, "markdown"), /line \d+: unknown stage "q"/, row + 1);
  fails(
    () => parseAnswer(md.map((l, i) => (i === row ? "| c | `c = a + b` | two | 4 |" : l)).join("\n"), r, "markdown"),
    /line \d+: cannot read "two" as a number/,
    row + 1,
  );
  fails(
    () => parseAnswer(md.map((l, i) => (i === row ? "| c | `c = a + b` | 2 | 4 | 5 |" : l)).join("\n"), r, "markdown"),
    /5 cells, but the header has 4/,
    row + 1,
  );
  const edgeRow = md.findIndex((l) => l.includes("`dc/da`"));
  fails(
    () => parseAnswer(md.map((l, i) => (i === edgeRow ? "| `c = a + b` | `dc/dz` | 1 | 4 | 4 |" : l)).join("\n"), r, "markdown"),
    /cannot tell which argument of c this row is for/,
    edgeRow + 1,
  );
  fails(
    () => parseAnswer(md.map((l, i) => (i === edgeRow ? "| `c = a + b` | `dc/dx` | 1 | 4 | 4 |" : l)).join("\n"), r, "markdown"),
    /c does not take x as an argument/,
    edgeRow + 1,
  );
  fails(() => parseAnswer('stage,value\n"a,1\n', r, "csv"), /line 2: a quoted CSV field is not closed/, 2);
  const trailingComma = '{\n  "gradients": {\n    "x": 5.47,\n  }\n}';
  fails(() => parseAnswer(trailingComma, r, "json"), /^line 4: not valid JSON/, parseLineOf(trailingComma));
  fails(() => parseAnswer('{"gradients": {"z": 1}}', r, "json"), /gradients\.z: unknown input "z" \(the inputs are x, y\)/);
  fails(() => parseAnswer('{"stages": [{"name": "a", "value": "one"}]}', r, "json"), /stages\[0\]\.value: cannot read "one" as a number/);
  fails(() => parseAnswer('{"stages": [{"name": "a", "value": {"v": 1}}]}', r, "json"), /stages\[0\]\.value: expected a number/);
  fails(() => parseAnswer("some notes\nwithout a table\n", r, "table"), /no table found/);
  fails(() => parseAnswer("Gradients\n  gz = 1\n", r, "table"), /line 2: unknown gradient 'gz' \(the gradients are gx, gy\)/, 2);
});

/** The line JSON.parse reports for a trailing comma (Node words the position differently across versions). */
function parseLineOf(text: string): number | undefined {
  try {
    JSON.parse(text);
  } catch (e) {
    const pos = /position (\d+)/.exec(String(e));
    if (pos) return text.slice(0, Number(pos[1])).split("\n").length;
    const line = /line (\d+)/.exec(String(e));
    if (line) return Number(line[1]);
  }
  return undefined;
}

test("answers: from a front end's numbers by cell key or label, blanks skipped", () => {
  const e = ex(QUOTIENT, "x=2,y=4");
  const a = answerFromCells({ "value:a": 0.5, "da/dy": "-2/4^2", gx: "", "grad:y": null }, e.report);
  assert.deepEqual(
    a.entries.map((x) => [x.cell.key, x.value]),
    [
      ["value:a", 0.5],
      ["local:a:y", -0.125],
    ],
  );
  assert.equal(checkWork(e, a).correct, true);
  assert.throws(() => answerFromCells({ q: 1 }, e.report), /q: unknown name 'q'/);
});
