/**
 * Answers in JSON: the explainer's own report layout (what `explain --json` prints, and the blank
 * `explain --blank --format json`), { stages: [{ name, value, grad }], edges: [{ from, to, localValue,
 * upstream, contribution }], gradients: { x: ... } }, or a flat object of names as --answer takes them
 * ({ "gx": 5.47, "dc/da": 1 }). null is a blank cell.
 */
import { type ExplainReport, type Value } from "../report/report.js";
import { answerCells, edgeCellKey, findEdge, type Cell } from "./cells.js";
import { AnswerError, cellByName, type RawEntry } from "./answers.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The 1-based line of a character offset. */
function lineAt(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

/** JSON.parse, its error given with a line number (Node words the offset as "at position N"). */
function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(message);
    const line = pos ? lineAt(text, Number(pos[1])) : Number(/line (\d+)/.exec(message)?.[1] ?? Number.NaN);
    const at = Number.isFinite(line) ? `line ${line}: ` : "";
    throw new AnswerError(`${at}not valid JSON (${message.replace(/^JSON\.parse: /, "").split("\n")[0]})`, Number.isFinite(line) ? line : undefined);
  }
}

const isObject = (x: Json | undefined): x is { [k: string]: Json } => typeof x === "object" && x !== null && !Array.isArray(x);

/** A JSON cell: a number, nested numbers, null (blank), or a string (an expression, or "Infinity"/"NaN" as the report writes them). */
function cellText(x: Json | undefined, where: string): string | Value | null {
  if (x === undefined || x === null) return null;
  if (typeof x === "string") return x;
  if (typeof x === "number") return x;
  if (Array.isArray(x) && isNumbers(x)) return x as Value;
  throw new AnswerError(`${where}: expected a number, an array of numbers or null, got ${JSON.stringify(x).slice(0, 40)}`);
}

function isNumbers(x: Json): boolean {
  return typeof x === "number" || (Array.isArray(x) && x.every(isNumbers));
}

function nameField(o: { [k: string]: Json }, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== "string") throw new AnswerError(`${where}.${key}: expected a name`);
  return v;
}

function cellOf(cells: readonly Cell[], key: string): Cell {
  return cells.find((c) => c.key === key)!;
}

/** The raw entries of a JSON answer. */
export function readJsonAnswer(text: string, r: ExplainReport): RawEntry[] {
  const root = parseJson(text);
  if (!isObject(root)) throw new AnswerError('the JSON answer must be an object: the layout of explain --blank --format json, or names such as {"gx": 5.47}');
  const cells = answerCells(r);
  const out: RawEntry[] = [];
  const layout = ["stages", "edges", "gradients"].some((k) => Object.hasOwn(root, k));
  if (!layout) {
    for (const [name, v] of Object.entries(root)) out.push({ cell: cellByName(r, name, name), text: cellText(v, name), where: name });
    return out;
  }
  const stages = root.stages ?? [];
  if (!Array.isArray(stages)) throw new AnswerError("stages: expected an array");
  stages.forEach((s, i) => {
    const where = `stages[${i}]`;
    if (!isObject(s)) throw new AnswerError(`${where}: expected an object`);
    const name = nameField(s, "name", where);
    const isStage = r.stages.some((st) => st.name === name);
    if (!isStage && !r.inputs.includes(name))
      throw new AnswerError(`${where}: unknown stage "${name}" (the stages are ${r.stages.map((st) => st.name).join(", ")})`);
    if (isStage) out.push({ cell: cellOf(cells, `value:${name}`), text: cellText(s.value, `${where}.value`), where: `${where}.value` });
    out.push({ cell: cellOf(cells, `grad:${name}`), text: cellText(s.grad, `${where}.grad`), where: `${where}.grad` });
  });
  const edges = root.edges ?? [];
  if (!Array.isArray(edges)) throw new AnswerError("edges: expected an array");
  const seen = new Map<string, number>();
  edges.forEach((e, i) => {
    const where = `edges[${i}]`;
    if (!isObject(e)) throw new AnswerError(`${where}: expected an object`);
    const to = nameField(e, "to", where);
    const from = nameField(e, "from", where);
    const k = `${to}\u0000${from}`;
    const occurrence = (seen.get(k) ?? 0) + 1;
    seen.set(k, occurrence);
    if (findEdge(r, to, from, occurrence) === undefined)
      throw new AnswerError(`${where}: there is no edge from ${from} into ${to}${occurrence > 1 ? ` (a ${occurrence}th time)` : ""}`);
    // The report's `local` is the derivative's formula; a number there is taken as its value.
    const local = e.localValue ?? (typeof e.local === "number" ? e.local : null);
    const fields: ["local" | "upstream" | "contribution", Json | undefined][] = [
      ["local", local],
      ["upstream", e.upstream],
      ["contribution", e.contribution],
    ];
    for (const [kind, v] of fields) {
      const field = kind === "local" ? "localValue" : kind;
      out.push({ cell: cellOf(cells, edgeCellKey(kind, to, from, occurrence)), text: cellText(v, `${where}.${field}`), where: `${where}.${field}` });
    }
  });
  const grads = root.gradients ?? {};
  if (!isObject(grads)) throw new AnswerError("gradients: expected an object of input names");
  for (const [name, v] of Object.entries(grads)) {
    const where = `gradients.${name}`;
    if (!r.inputs.includes(name)) throw new AnswerError(`${where}: unknown input "${name}" (the inputs are ${r.inputs.join(", ")})`);
    out.push({ cell: cellOf(cells, `grad:${name}`), text: cellText(v, where), where });
  }
  return out;
}
