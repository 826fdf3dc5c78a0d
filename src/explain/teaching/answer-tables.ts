/**
 * Answers in the explainer's table layouts (text table, Markdown, CSV, LaTeX tabular): each format is
 * cut into tables (a header row and rows with their line numbers) and loose lines; one reader then
 * takes the stage table (stage, value, gradient), the backward table (stage, local derivative, local,
 * upstream, contribution), an input table (input, gradient) and gradient lines (gx = 5.47).
 */
import { printExpr } from "../language/print.js";
import { type ExplainReport } from "../report/report.js";
import { answerCells, edgeCellKey, findEdge, gradientOf, type Cell } from "./cells.js";
import { AnswerError, cellByName, type AnswerFileFormat, type RawEntry } from "./answers.js";

interface Row {
  cells: string[];
  line: number;
}

interface Table {
  header: string[];
  headerLine: number;
  rows: Row[];
}

interface Layout {
  tables: Table[];
  /** Lines outside tables, where gradient lines (gx = 5.47) may be. */
  loose: Row[];
}

/** Markdown: runs of lines starting with |, cells split on unescaped |, the |---| row skipped. */
function markdownLayout(lines: readonly string[]): Layout {
  const out: Layout = { tables: [], loose: [] };
  let cur: Table | null = null;
  lines.forEach((raw, i) => {
    const t = raw.trim();
    if (!t.startsWith("|")) {
      cur = null;
      out.loose.push({ cells: [raw], line: i + 1 });
      return;
    }
    const body = t.replace(/^\|/, "").replace(/(?<!\\)\|$/, "");
    const cells = body.split(/(?<!\\)\|/).map((c) => c.replace(/\\\|/g, "|").trim());
    if (cells.every((c) => /^:?-{2,}:?$/.test(c))) return;
    if (cur === null) {
      cur = { header: cells, headerLine: i + 1, rows: [] };
      out.tables.push(cur);
    } else cur.rows.push({ cells, line: i + 1 });
  });
  return out;
}

/** One CSV line's fields (RFC 4180 quotes; a quote inside a quoted field is doubled). */
export function csvFields(line: string, lineNo: number): string[] {
  const fields: string[] = [];
  let cur = "";
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur.trim() === "") {
      quoted = true;
      wasQuoted = true;
      cur = "";
    } else if (ch === ",") {
      fields.push(wasQuoted ? cur : cur.trim());
      cur = "";
      wasQuoted = false;
    } else cur += ch;
  }
  if (quoted) throw new AnswerError(`line ${lineNo}: a quoted CSV field is not closed`, lineNo);
  fields.push(wasQuoted ? cur : cur.trim());
  return fields;
}

/** CSV: blocks separated by blank lines, each a header row and rows. */
function csvLayout(lines: readonly string[]): Layout {
  const out: Layout = { tables: [], loose: [] };
  let cur: Table | null = null;
  lines.forEach((raw, i) => {
    if (raw.trim() === "" || raw.trim().startsWith("#")) {
      cur = null;
      return;
    }
    const cells = csvFields(raw, i + 1);
    if (cur === null) {
      cur = { header: cells, headerLine: i + 1, rows: [] };
      out.tables.push(cur);
    } else cur.rows.push({ cells, line: i + 1 });
  });
  return out;
}

/** The terminal table: a header row starting with "stage" or "input", columns set apart by 2+ spaces, up to a blank or one-cell line. */
function textLayout(lines: readonly string[]): Layout {
  const out: Layout = { tables: [], loose: [] };
  let cur: Table | null = null;
  lines.forEach((raw, i) => {
    let cells = raw.trim().split(/\s{2,}|\t+/);
    if (cur !== null && cells.length > 1) {
      // An array stage's rule is printed with its shapes a few spaces apart, in the local derivative column.
      const rule = cur.header.findIndex((h) => columnName(h) === "local derivative");
      const extra = cells.length - cur.header.length;
      if (extra > 0 && rule >= 0) cells = [...cells.slice(0, rule), cells.slice(rule, rule + extra + 1).join("   "), ...cells.slice(rule + extra + 1)];
      cur.rows.push({ cells, line: i + 1 });
      return;
    }
    cur = null;
    if (cells.length > 1 && /^(stage|input)$/i.test(cells[0])) {
      cur = { header: cells, headerLine: i + 1, rows: [] };
      out.tables.push(cur);
    } else out.loose.push({ cells: [raw], line: i + 1 });
  });
  return out;
}

/** LaTeX: each tabular's rows (cells split on unescaped &, rows on \\, \hline skipped); the first row is the header. */
function latexLayout(lines: readonly string[]): Layout {
  const out: Layout = { tables: [], loose: [] };
  let cur: Table | null = null;
  lines.forEach((raw, i) => {
    const t = raw.replace(/(?<!\\)%.*$/, "").trim();
    if (/\\begin\{tabular\}/.test(t)) {
      cur = { header: [], headerLine: i + 1, rows: [] };
      out.tables.push(cur);
      return;
    }
    if (/\\end\{tabular\}/.test(t)) {
      cur = null;
      return;
    }
    if (cur === null) {
      out.loose.push({ cells: [raw], line: i + 1 });
      return;
    }
    const row = t
      .replace(/\\hline/g, "")
      .replace(/\\\\\s*$/, "")
      .trim();
    if (row === "") return;
    const cells = row.split(/(?<!\\)&/).map((c) => c.trim());
    if (cur.header.length === 0) {
      cur.header = cells;
      cur.headerLine = i + 1;
    } else cur.rows.push({ cells, line: i + 1 });
  });
  return out;
}

/** A header cell as a column name: lower case, without markup. */
function columnName(h: string): string {
  return h
    .replace(/\\textbf\{(.*)\}/, "$1")
    .replace(/[`*$]/g, "")
    .trim()
    .toLowerCase();
}

/** Reads program names back from how tables print them: plain, in backticks, in LaTeX ($x_{1}$). */
class Names {
  private readonly byText = new Map<string, string>();
  constructor(private readonly r: ExplainReport) {
    for (const n of [...r.inputs, ...r.stages.map((s) => s.name)]) {
      this.byText.set(n, n);
      this.byText.set(printExpr({ kind: "var", name: n }, "latex").replace(/\s+/g, ""), n);
    }
  }
  /** The name a stage cell holds: a name, or an equation's left side (a = ln(x)). */
  of(cell: string): string | undefined {
    const t = cell.replace(/[`$]/g, "").trim();
    const lhs = t.includes("=") ? t.slice(0, t.indexOf("=")).trim() : t;
    return this.byText.get(lhs.replace(/\s+/g, ""));
  }
  /** The argument a local derivative cell names, given the consuming stage: dc/da, ∂c/∂a, \frac{\partial c}{\partial a}. */
  fromLocal(cell: string, to: string): string | undefined {
    const t = cell.replace(/[`$]/g, "").trim();
    const frac = /^\\frac\{\\partial\s*(.+?)\}\{\\partial\s*(.+?)\}/.exec(t);
    if (frac) return this.of(frac[1]) === to ? this.of(frac[2]) : undefined;
    const m = /^[d∂](\S+?)\s*\/\s*[d∂]([^\s=]+)/.exec(t);
    if (m && this.of(m[1]) === to) return this.of(m[2]);
    // An array stage's rule (∂L/∂W = (∂L/∂a) xᵀ) names the argument the same way.
    return undefined;
  }
  /** The argument a contribution cell names: x <- 4. */
  fromContribution(cell: string): string | undefined {
    const m = /^\s*`?\s*([^\s<`]+)\s*(<-|←)/.exec(cell);
    return m ? this.of(m[1]) : undefined;
  }
  get report(): ExplainReport {
    return this.r;
  }
}

function cellOf(cells: readonly Cell[], key: string): Cell | undefined {
  return cells.find((c) => c.key === key);
}

/** Reads a table by its header: the stage table, the backward (edge) table, or an input/gradient table. */
function readTable(t: Table, names: Names, cells: readonly Cell[], out: RawEntry[]): void {
  const cols = t.header.map(columnName);
  const at = (name: string) => cols.indexOf(name);
  const r = names.report;
  const isEdgeTable = ["local", "upstream", "contribution"].some((c) => cols.includes(c));
  const nameCol = at("stage") >= 0 ? at("stage") : at("input") >= 0 ? at("input") : at("name");
  // The explainer's sum-over-paths table (# | path | product | value) holds no cells of the answer.
  if (cols.includes("path") && cols.includes("product")) return;
  if (nameCol < 0) {
    if (isEdgeTable || cols.includes("value") || cols.includes("gradient"))
      throw new AnswerError(`line ${t.headerLine}: the table has no "stage" column to say which row is which`, t.headerLine);
    return;
  }
  const seen = new Map<string, number>();
  for (const row of t.rows) {
    if (row.cells.every((c) => c.trim() === "")) continue;
    const cell = (k: number) => (k >= 0 && k < row.cells.length ? row.cells[k] : "");
    if (row.cells.length > cols.length) throw new AnswerError(`line ${row.line}: ${row.cells.length} cells, but the header has ${cols.length}`, row.line);
    const where = `line ${row.line}`;
    const stageText = cell(nameCol);
    // The stage table's equation column names the stage too (the name column may be an equation).
    const name = names.of(stageText) ?? names.of(cell(at("equation")));
    if (name === undefined) {
      const listed = [...r.inputs, ...r.stages.map((s) => s.name)].join(", ");
      throw new AnswerError(`${where}: unknown stage "${stageText.trim()}" (the program's names are ${listed})`, row.line);
    }
    if (isEdgeTable) {
      const from = names.fromLocal(cell(at("local derivative")), name) ?? names.fromContribution(cell(at("contribution")));
      if (from === undefined)
        throw new AnswerError(
          `${where}: cannot tell which argument of ${name} this row is for (write its local derivative as d${name}/dx, or its contribution as x <- value)`,
          row.line,
        );
      const k = `${name}\u0000${from}`;
      const occurrence = (seen.get(k) ?? 0) + 1;
      seen.set(k, occurrence);
      if (findEdge(r, name, from, occurrence) === undefined)
        throw new AnswerError(`${where}: ${name} does not take ${from}${occurrence > 1 ? ` ${occurrence} times` : ""} as an argument`, row.line);
      for (const kind of ["local", "upstream", "contribution"] as const) {
        const c = at(kind);
        if (c >= 0) out.push({ cell: cellOf(cells, edgeCellKey(kind, name, from, occurrence))!, text: cell(c), where, line: row.line });
      }
      continue;
    }
    const isInput = r.inputs.includes(name);
    if (at("value") >= 0 && !isInput) out.push({ cell: cellOf(cells, `value:${name}`)!, text: cell(at("value")), where, line: row.line });
    if (at("gradient") >= 0) out.push({ cell: cellOf(cells, `grad:${name}`)!, text: cell(at("gradient")), where, line: row.line });
  }
}

/** A gradient line outside the tables: gx = 5.47, or the explainer's gx = 4 + 1.472 = 5.472 (fan-out: f, a). */
function readGradientLine(row: Row, names: Names, out: RawEntry[]): void {
  const t = row.cells[0]
    .replace(/\\_/g, "_")
    .replace(/^\s*(?:[-*]|\\item)\s*/, "")
    .replace(/[`$]/g, "")
    .trim();
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(t);
  if (!m) return;
  const of = gradientOf(names.report, m[1]);
  if (of === undefined) {
    // Only names that look like gradients are the student's: other lines are prose or the explainer's own.
    if (/^(g|d_)[A-Za-z_]/.test(m[1]) && names.of(m[1]) === undefined && !/[<>]/.test(m[2]))
      throw new AnswerError(
        `line ${row.line}: unknown gradient '${m[1]}' (the gradients are ${names.report.inputs.map((n) => gradLabel(names.report, n)).join(", ")})`,
        row.line,
      );
    return;
  }
  const parts = m[2].split("=");
  const value = parts[parts.length - 1].replace(/\s*\(.*\)\s*$/, "");
  const where = `line ${row.line}`;
  out.push({ cell: cellByName(names.report, m[1], where, row.line), text: value, where, line: row.line });
}

function gradLabel(r: ExplainReport, n: string): string {
  return answerCells(r).find((c) => c.kind === "grad" && c.name === n)!.label;
}

/** The raw entries of an answer file in one of the table formats. */
export function readTables(text: string, format: Exclude<AnswerFileFormat, "json">, r: ExplainReport): RawEntry[] {
  const lines = text.split(/\r?\n/);
  const layout =
    format === "markdown" ? markdownLayout(lines) : format === "csv" ? csvLayout(lines) : format === "latex" ? latexLayout(lines) : textLayout(lines);
  const names = new Names(r);
  const cells = answerCells(r);
  const out: RawEntry[] = [];
  for (const t of layout.tables) readTable(t, names, cells, out);
  for (const row of layout.loose) readGradientLine(row, names, out);
  if (layout.tables.length === 0 && out.length === 0)
    throw new AnswerError(
      `no ${format === "table" ? "" : `${format} `}table found: expected the layout of \`backprop explain --blank\` (a "stage" table) or lines such as gx = 5.47`,
    );
  return out;
}
