/**
 * What kind of mistake a wrong cell is. Each kind is recognised by recomputing the number that mistake
 * would give from the true (or the student's own earlier) values and comparing it with the student's:
 * a sign error is the negation, a missing fan-out path is the sum of the other contributions, swapped
 * upstream and local put one in the other's cell, the product rule on a quotient gives the other
 * operand. Where the student left the cells in between blank (only the final gradients given), the
 * same mistakes are tried at every edge before the cell and carried to it through the true local
 * derivatives (d u / d x, summed over paths): the first edge, in computation order, that explains it wins.
 */
import { fmtValue, type EdgeReport, type ExplainReport, type StageReport, type Value } from "../report/report.js";
import { type Cell } from "./cells.js";
import { operandIndex, ruleFor } from "./rules.js";
import { closeValue, mapValues, type Tolerance } from "./tolerance.js";
import { StudentWorld } from "./world.js";

/**
 * The kinds of mistake: a wrong forward value; a wrong local derivative (with the rule needed); a sign
 * error; the product rule used on a quotient; upstream and local swapped; a fan-out sum missing paths;
 * a contribution that is not upstream × local; any other wrong gradient; a value of the wrong shape.
 */
export type MistakeKind =
  "wrong-value" | "wrong-local" | "sign" | "product-for-quotient" | "swapped" | "missing-fan-out" | "wrong-contribution" | "wrong-gradient" | "shape";

export interface Mistake {
  kind: MistakeKind;
  /** The stage where the mistake was made: the consuming stage of an edge, the stage or input of a gradient. */
  stage: string;
  /** For a mistake on an edge: the argument it comes from. */
  from?: string;
  /** The cell the mistake shows in (its key) and how the answer names it. */
  cell: string;
  label: string;
  /** Where the student wrote it ("line 12", "--answer gx"). */
  where: string;
  given: Value;
  /** The right value of that cell (from the student's own earlier numbers, when those were wrong). */
  expected: Value;
  /** Wrong local derivatives and the product-for-quotient mistake: the rule that was needed. */
  rule?: string;
  /** A missing fan-out: how many paths the name has, the consumers the student's sum has and lacks. */
  paths?: { total: number; included: string[]; missing: string[] };
  /** Set when the mistake was inferred on an edge whose cells the student left blank, from a later cell (a final gradient). */
  inferred?: boolean;
  /** An inferred mistake: other mistakes, on other edges, that give the same number (later in computation order). */
  alternatives?: { kind: MistakeKind; stage: string; from?: string }[];
  message: string;
}

/** A mistake as it would change the numbers: its kind and description, and the value it predicts. */
interface Candidate {
  kind: MistakeKind;
  value: Value;
  stage: string;
  from?: string;
  rule?: string;
  paths?: Mistake["paths"];
  /** Found on an earlier edge whose cells were left blank. */
  inferred?: boolean;
  text: string;
}

/** What the diagnosis reads: the report, the student's world, the tolerance and which cells were given. */
export interface DiagnosisContext {
  r: ExplainReport;
  world: StudentWorld;
  tol: Tolerance;
  /** The student's numbers by cell key (all of them, later cells included). */
  given: ReadonlyMap<string, Value>;
}

const f = fmtValue;
/** A local derivative's formula and its value, the value left out where the formula is that number. */
const withValue = (formula: string, v: Value): string => (formula === f(v) ? formula : `${formula} = ${f(v)}`);
const neg = (v: Value): Value => mapValues((x) => -x, v);
const mul = (a: Value, b: Value): Value => mapValues((x, y) => x * y, a, b);

function stageOf(r: ExplainReport, name: string): StageReport {
  return r.stages.find((s) => s.name === name)!;
}

/** The stage of that name, or undefined for an input. */
function stageOrInput(r: ExplainReport, name: string): StageReport | undefined {
  return r.stages.find((s) => s.name === name);
}

/** The value of a stage operand in the student's world: a name's value, or a constant. */
function operandValue(ctx: DiagnosisContext, s: StageReport, pos: number): Value | null {
  const o = s.operands[pos];
  if (o === undefined) return null;
  if (o.kind === "name") return ctx.world.values.get(o.name) ?? null;
  const n = Number(o.text);
  return Number.isFinite(n) ? n : null;
}

/** The other operand of a two-operand stage. */
function otherOperand(ctx: DiagnosisContext, s: StageReport, e: EdgeReport): Value | null {
  const pos = operandIndex(s, e);
  return s.operands.length === 2 ? operandValue(ctx, s, 1 - pos) : null;
}

/** Rules students mix up, per one-argument op: the value the mixed-up rule gives at x, and what to say. */
const CONFUSED: Readonly<Record<string, { value: (x: number) => number; text: string }>> = {
  sin: { value: (x) => -Math.sin(x), text: "that is -sin, the derivative of cos; sin's is cos" },
  cos: { value: (x) => Math.cos(x), text: "that is cos, the derivative of sin; cos's is -sin" },
  ln: { value: (x) => x, text: "the derivative of ln x is 1/x, not x" },
  exp: { value: (x) => x * Math.exp(x - 1), text: "e^x is not a power of x: its derivative is e^x itself" },
  tanh: { value: (x) => 1 - Math.tanh(x), text: "d/dx tanh x = 1 - tanh^2 x (the square is missing)" },
};

/** Slips in a local derivative, each as the value it gives (from the student's values of the stage's arguments). */
function localSlips(ctx: DiagnosisContext, e: EdgeReport, local: Value): Candidate[] {
  const s = stageOf(ctx.r, e.to);
  const rule = ruleFor(s, e);
  const at = { stage: e.to, from: e.from, rule };
  const out: Candidate[] = [];
  const pos = operandIndex(s, e);
  if (s.op === "div") {
    const other = otherOperand(ctx, s, e);
    if (other !== null)
      out.push({
        kind: "product-for-quotient",
        value: other,
        ...at,
        text: `${e.to} = ${s.expression} is a quotient, but d${e.to}/d${e.from} was taken as if it were a product (${f(other)}): the quotient rule gives ${e.local}`,
      });
  }
  if (s.op === "pow" && pos === 0 && s.operands[1]?.kind === "constant") {
    const n = operandValue(ctx, s, 1);
    const base = ctx.world.values.get(e.from);
    if (typeof n === "number" && base !== undefined) {
      out.push({
        kind: "wrong-local",
        value: mapValues((b) => n * b ** n, base),
        ...at,
        text: `the power rule lowers the exponent: d${e.to}/d${e.from} = ${e.local}, not n·x^n`,
      });
      out.push({
        kind: "wrong-local",
        value: mapValues((b) => b ** (n - 1), base),
        ...at,
        text: `the power rule keeps the factor n = ${n}: d${e.to}/d${e.from} = ${e.local}`,
      });
    }
  }
  const x = ctx.world.values.get(e.from);
  const confusion = x === undefined ? undefined : CONFUSED[s.op];
  if (confusion && x !== undefined)
    out.push({ kind: "wrong-local", value: mapValues(confusion.value, x), ...at, text: `${confusion.text}: d${e.to}/d${e.from} = ${e.local}` });
  const own = ctx.world.values.get(e.to);
  if (s.inputs.length === 1 && !["exp", "id", "add", "mul", "neg", "sub"].includes(s.op) && own !== undefined)
    out.push({
      kind: "wrong-local",
      value: own,
      ...at,
      text: `that is the value of ${e.to} = ${s.expression}, not its derivative: d${e.to}/d${e.from} = ${e.local}`,
    });
  out.push({ kind: "sign", value: neg(local), ...at, text: `sign error in d${e.to}/d${e.from}: it is ${withValue(e.local, local)}` });
  return out;
}

/** A missing fan-out: the name's consumers, the contributions of each, and every proper subset's sum (largest first). */
function fanOutCandidates(ctx: DiagnosisContext, name: string, label: string): Candidate[] {
  const into = ctx.r.edges.map((e, i) => ({ e, i })).filter(({ e }) => e.from === name);
  const contribs = into.map(({ i }) => ctx.world.contributions.get(i) ?? null);
  if (into.length < 2 || into.length > 10 || contribs.some((c) => c === null)) return [];
  const out: Candidate[] = [];
  const n = into.length;
  const subsets: number[][] = [];
  for (let mask = 1; mask < (1 << n) - 1; mask++) subsets.push([...Array(n).keys()].filter((k) => mask & (1 << k)));
  subsets.sort((a, b) => b.length - a.length);
  for (const sub of subsets) {
    const value = StudentWorld.sum(sub.map((k) => contribs[k]!))!;
    const included = sub.map((k) => into[k].e.to);
    const missing = into.filter((_, k) => !sub.includes(k)).map(({ e }) => e.to);
    const through = (names: string[]) => names.map((m) => `through ${m}`).join(" and ");
    out.push({
      kind: "missing-fan-out",
      value,
      stage: name,
      paths: { total: n, included, missing },
      text: `${label} has only ${sub.length} of its ${n} paths (${through(included)}): ${name} fans out, so ${label} also needs the contribution${missing.length > 1 ? "s" : ""} ${through(missing)}`,
    });
  }
  return out;
}

/** Candidates for a gradient cell (grad, or an edge's upstream): a missing fan-out path, a sign error. */
function gradCandidates(ctx: DiagnosisContext, name: string, label: string, expected: Value): Candidate[] {
  return [...fanOutCandidates(ctx, name, label), { kind: "sign", value: neg(expected), stage: name, text: `sign error in ${label}` }];
}

/** Past this many stages mistakes are not inferred across blank cells (the pairs grow with the square). */
const TANGENT_STAGE_LIMIT = 400;
const TANGENTS = new WeakMap<ExplainReport, Map<string, Map<string, number>> | null>();

/**
 * d u / d n for every pair of names, from the true local derivatives (scalar programs): how a change in
 * the gradient of u reaches the gradient of n. Null for array programs.
 */
export function tangents(r: ExplainReport): Map<string, Map<string, number>> | null {
  if (TANGENTS.has(r)) return TANGENTS.get(r)!;
  let out: Map<string, Map<string, number>> | null = null;
  if (r.scalar && r.stages.length <= TANGENT_STAGE_LIMIT && r.edges.every((e) => e.localValue !== null)) {
    const into = new Map<string, EdgeReport[]>();
    for (const e of r.edges) into.set(e.to, [...(into.get(e.to) ?? []), e]);
    out = new Map();
    for (const n of [...r.inputs, ...r.stages.map((s) => s.name)]) {
      const t = new Map<string, number>([[n, 1]]);
      for (const s of r.stages) {
        let sum = t.get(s.name) ?? 0;
        for (const e of into.get(s.name) ?? []) sum += (e.localValue ?? 0) * (t.get(e.from) ?? 0);
        if (sum !== 0) t.set(s.name, sum);
      }
      out.set(n, t);
    }
  }
  TANGENTS.set(r, out);
  return out;
}

/**
 * Mistakes on earlier edges whose cells the student left blank, as they would show in the gradient of
 * `name`: each changes the gradient of the edge's argument u by Δ, which reaches `name` as Δ · du/dname.
 */
function inferredCandidates(ctx: DiagnosisContext, name: string, expected: Value): Candidate[] {
  const t = tangents(ctx.r);
  if (t === null || typeof expected !== "number") return [];
  const dn = t.get(name)!;
  const out: Candidate[] = [];
  ctx.r.edges.forEach((e, i) => {
    const reach = dn.get(e.from) ?? 0;
    const edgeGiven = [...ctx.given.keys()].some(
      (g) => /^(local|upstream|contribution):/.test(g) && g.replace(/^\w+:/, "").replace(/#\d+$/, "") === `${e.to}:${e.from}`,
    );
    if (reach === 0 || edgeGiven || (e.from !== name && ctx.given.has(`grad:${e.from}`))) return;
    const up = ctx.world.grads.get(e.to);
    const local = e.localValue;
    const contribution = ctx.world.contributions.get(i);
    if (typeof up !== "number" || local === null || typeof contribution !== "number") return;
    const shifted = (delta: number) => expected + delta * reach;
    const consumers = ctx.r.edges.filter((x) => x.from === e.from).length;
    const edgeLabel = `the edge ${e.to} <- ${e.from}`;
    if (consumers >= 2)
      out.push({
        kind: "missing-fan-out",
        value: shifted(-contribution),
        stage: e.from,
        paths: { total: consumers, included: ctx.r.edges.filter((x) => x.from === e.from && x !== e).map((x) => x.to), missing: [e.to] },
        text: `the path through ${e.to} is missing: ${e.from} fans out to ${consumers} stages, and the gradient of ${e.from} sums a contribution from each`,
      });
    for (const slip of localSlips(ctx, e, local)) {
      if (typeof slip.value !== "number" || slip.kind === "sign") continue;
      out.push({ ...slip, value: shifted(up * (slip.value - local)) });
    }
    out.push({
      kind: "sign",
      value: shifted(-2 * contribution),
      stage: e.to,
      from: e.from,
      rule: ruleFor(stageOf(ctx.r, e.to), e),
      text: `sign error on ${edgeLabel} (d${e.to}/d${e.from} = ${withValue(e.local, local)})`,
    });
  });
  return out.map((c) => ({ ...c, inferred: true }));
}

/** The first candidate that gives the student's number (and not the right one). */
function firstMatch(cands: readonly Candidate[], given: Value, expected: Value, tol: Tolerance): Candidate | undefined {
  return cands.find((c) => closeValue(given, c.value, tol) && !closeValue(c.value, expected, tol));
}

/** The fallback wording of a wrong cell, when no particular mistake explains it. */
function plainWrong(ctx: DiagnosisContext, cell: Cell, expected: Value): Candidate {
  const r = ctx.r;
  if (cell.kind === "value") {
    const s = stageOf(r, cell.name);
    return { kind: "wrong-value", value: expected, stage: cell.name, text: `${s.equation} is ${f(expected)} in the forward pass` };
  }
  if (cell.kind === "grad" || cell.kind === "upstream") {
    // An edge's upstream is the gradient of its consuming stage (cell.name), as the stage's own gradient cell.
    const name = cell.name;
    if (name === r.output) return { kind: "wrong-gradient", value: expected, stage: name, text: `the backward pass starts with d${r.output}/d${r.output} = 1` };
    const into = r.edges.filter((e) => e.from === name);
    const terms = into.map((e) => `${e.to}`).join(", ");
    if (into.length === 0) return { kind: "wrong-gradient", value: expected, stage: name, text: `the output does not use ${name}: its gradient is 0` };
    return {
      kind: "wrong-gradient",
      value: expected,
      stage: name,
      text: `by the chain rule the gradient of ${name} sums upstream × local over ${into.length > 1 ? `its ${into.length} consumers (${terms})` : `its consumer ${terms}`}: ${f(expected)}`,
    };
  }
  const e = r.edges[cell.edge!];
  const s = stageOf(r, e.to);
  if (cell.kind === "local")
    return {
      kind: "wrong-local",
      value: expected,
      stage: e.to,
      from: e.from,
      rule: ruleFor(s, e),
      text: `d${e.to}/d${e.from} of ${s.equation} is ${e.local} = ${f(expected)}; the rule needed: ${ruleFor(s, e)}`,
    };
  return {
    kind: "wrong-contribution",
    value: expected,
    stage: e.to,
    from: e.from,
    text: `the contribution of ${e.to} to the gradient of ${e.from} is upstream × local = ${f(expected)}`,
  };
}

/** Candidates for a wrong contribution: a sign error, the product rule on a quotient, one factor alone, a sum instead of a product. */
function contributionCandidates(ctx: DiagnosisContext, cell: Cell, expected: Value): Candidate[] {
  const e = ctx.r.edges[cell.edge!];
  const up = ctx.world.upstreams.get(cell.edge!);
  const local = ctx.world.locals.get(cell.edge!);
  const at = { stage: e.to, from: e.from };
  const out: Candidate[] = [];
  if (up !== undefined && local !== undefined && typeof local === "number") {
    for (const slip of localSlips(ctx, e, local)) if (slip.kind !== "sign") out.push({ ...slip, value: mul(up, slip.value) });
    out.push({
      kind: "wrong-contribution",
      value: local,
      ...at,
      text: `the contribution is upstream × local: ${f(local)} is the local derivative alone (the upstream is ${f(up)})`,
    });
    out.push({
      kind: "wrong-contribution",
      value: up,
      ...at,
      text: `the contribution is upstream × local: ${f(up)} is the upstream alone (the local derivative is ${f(local)})`,
    });
    out.push({
      kind: "wrong-contribution",
      value: mapValues((a, b) => a + b, up, local),
      ...at,
      text: `the contribution is upstream × local, not upstream + local`,
    });
  }
  out.push({ kind: "sign", value: neg(expected), ...at, text: `sign error in the contribution of ${e.to} to the gradient of ${e.from}` });
  return out;
}

/** The mistake a wrong cell shows: the first candidate that gives the student's number, else the plain wording. */
export function diagnose(ctx: DiagnosisContext, cell: Cell, given: Value, expected: Value, truth: Value, where: string): Mistake {
  const shape = (v: Value) => JSON.stringify(mapValues(() => 0, v));
  let cands: Candidate[] = [];
  if (shape(given) !== shape(expected)) {
    const c = plainWrong(ctx, cell, expected);
    return mistake(cell, where, given, expected, { ...c, kind: "shape", text: `${cell.label} has the shape of ${f(expected)}` }, truth);
  }
  if (cell.kind === "value") cands = [{ kind: "sign", value: neg(expected), stage: cell.name, text: `sign error in ${cell.label}` }];
  else if (cell.kind === "local") {
    const e = ctx.r.edges[cell.edge!];
    const up = ctx.world.grads.get(e.to);
    // Swapped: the student's local is the upstream, and their upstream (when given) the local.
    const upGiven = ctx.given.get(cell.key.replace(/^local:/, "upstream:"));
    const upCell = upGiven !== undefined;
    if (up !== undefined && (!upCell || (upGiven !== undefined && closeValue(upGiven, expected, ctx.tol))))
      cands.push({
        kind: "swapped",
        value: up,
        stage: e.to,
        from: e.from,
        text: `upstream and local are swapped on the edge ${e.to} <- ${e.from}: the local d${e.to}/d${e.from} is ${f(expected)}, the upstream ${f(up)}`,
      });
    cands.push(...localSlips(ctx, e, expected));
  } else if (cell.kind === "upstream") {
    const e = ctx.r.edges[cell.edge!];
    const local = ctx.world.locals.get(cell.edge!);
    if (local !== undefined)
      cands.push({
        kind: "swapped",
        value: local,
        stage: e.to,
        from: e.from,
        text: `upstream and local are swapped on the edge ${e.to} <- ${e.from}: the upstream is ${f(expected)}, the local d${e.to}/d${e.from} ${f(local)}`,
      });
    const g = ctx.r.output === e.to ? [] : gradCandidates(ctx, e.to, `the gradient of ${e.to}`, expected);
    cands.push(...g, ...(ctx.r.output === e.to ? [] : inferredCandidates(ctx, e.to, expected)));
  } else if (cell.kind === "grad") {
    if (cell.name !== ctx.r.output) cands.push(...gradCandidates(ctx, cell.name, cell.label, expected), ...inferredCandidates(ctx, cell.name, expected));
  } else cands = contributionCandidates(ctx, cell, expected);
  const hit = firstMatch(cands, given, expected, ctx.tol) ?? plainWrong(ctx, cell, expected);
  const m = mistake(cell, where, given, expected, hit, truth);
  // A mistake found on an earlier edge (the cells in between left blank) is that edge's, seen here.
  if (hit.inferred) {
    m.inferred = true;
    const s = stageOrInput(ctx.r, hit.stage);
    m.message = `${head(cell, given, expected, truth)}: it is what a mistake at ${s ? s.equation : hit.stage} gives: ${hit.text}`;
    const others = cands.filter((c) => c !== hit && c.inferred && closeValue(given, c.value, ctx.tol) && !closeValue(c.value, expected, ctx.tol));
    if (others.length)
      m.alternatives = others.map((c) => (c.from === undefined ? { kind: c.kind, stage: c.stage } : { kind: c.kind, stage: c.stage, from: c.from }));
  }
  return m;
}

/** "gx = 6.47 is wrong (right: 5.472; from your own earlier numbers: 8)". */
function head(cell: Cell, given: Value, expected: Value, truth: Value): string {
  const same = JSON.stringify(expected) === JSON.stringify(truth);
  return `${cell.label} = ${f(given)} is wrong (right: ${f(truth)}${same ? "" : `; from your own earlier numbers: ${f(expected)}`})`;
}

function mistake(cell: Cell, where: string, given: Value, expected: Value, c: Candidate, truth: Value): Mistake {
  const m: Mistake = {
    kind: c.kind,
    stage: c.stage,
    cell: cell.key,
    label: cell.label,
    where,
    given,
    expected,
    message: `${head(cell, given, expected, truth)}: ${c.text}`,
  };
  if (c.from !== undefined) m.from = c.from;
  if (c.rule !== undefined) m.rule = c.rule;
  if (c.paths !== undefined) m.paths = c.paths;
  return m;
}
