/**
 * The input language: numbers, variables, e and pi, + - * / ^ (**) @, unary minus below powers,
 * right-associative powers, implicit multiplication (4x, 2pi*r, (x+y)z, x^2 z^3), function calls,
 * `.T`, array literals, and programs of definitions separated by `;` or newlines.
 * Errors are ExplainSyntaxErrors that point at the offending character.
 */
import { CONSTANTS, FUNCTIONS, type BinOp, type Expr, type FnName, type Program, type Span, type Statement } from "./ast.js";

/** A syntax error at a character offset; `format()` shows the line with a caret under it. */
export class ExplainSyntaxError extends Error {
  readonly position: number;
  readonly source: string;
  constructor(message: string, position: number, source: string) {
    super(message);
    this.name = "ExplainSyntaxError";
    this.position = Math.max(0, Math.min(position, source.length));
    this.source = source;
  }

  /** Line and column (1-based) of the error. */
  get location(): { line: number; column: number } {
    const before = this.source.slice(0, this.position);
    const line = before.split("\n").length;
    return { line, column: this.position - (before.lastIndexOf("\n") + 1) + 1 };
  }

  format(): string {
    const { line, column } = this.location;
    const text = this.source.split("\n")[line - 1] ?? "";
    const where = this.source.includes("\n") ? `line ${line}, column ${column}` : `column ${column}`;
    return `syntax error at ${where}: ${this.message}\n  ${text}\n  ${" ".repeat(column - 1)}^`;
  }
}

type TokKind = "num" | "ident" | "op" | "lparen" | "rparen" | "lbrack" | "rbrack" | "comma" | "sep" | "assign" | "dotT" | "eof";

interface Token {
  kind: TokKind;
  text: string;
  start: number;
  end: number;
  value?: number;
}

const GREEK = new Map<string, string>([
  ["π", "pi"],
  ["σ", "sigmoid"],
]);

// Sticky patterns match at one offset of the whole source, so long literals and names are read whole
// (slicing a window cut them in two, and the halves were multiplied).
const NUMBER = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

function matchAt(re: RegExp, src: string, at: number): string | null {
  re.lastIndex = at;
  return re.exec(src)?.[0] ?? null;
}

/**
 * The value of a numeric literal. A '.' or a digit right after one (1.5.5, 1..5, 1e5.5) is an error:
 * read as two literals it would silently be their product.
 */
function numberValue(text: string, at: number, src: string): number {
  const end = at + text.length;
  if (src[end] === "." && src[end + 1] !== "T") throw new ExplainSyntaxError(`malformed number: a second '.' after ${text}`, end, src);
  const value = Number(text);
  if (!Number.isFinite(value)) throw new ExplainSyntaxError(`number ${text.length > 20 ? `${text.slice(0, 20)}... (${text.length} characters)` : text} is too large`, at, src);
  return value;
}

function lex(src: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  const push = (kind: TokKind, text: string, start: number, value?: number) => toks.push({ kind, text, start, end: start + text.length, value });
  while (i < src.length) {
    const c = src[i];
    if (c === "\n" || c === ";") {
      push("sep", c, i);
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    const text = matchAt(NUMBER, src, i);
    if (text !== null) {
      push("num", text, i, numberValue(text, i, src));
      i += text.length;
      continue;
    }
    const name = matchAt(NAME, src, i);
    if (name !== null) {
      push("ident", name, i);
      i += name.length;
      continue;
    }
    const greek = GREEK.get(c);
    if (greek !== undefined) {
      toks.push({ kind: "ident", text: greek, start: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === "." && src[i + 1] === "T" && !/[A-Za-z0-9_]/.test(src[i + 2] ?? "")) {
      push("dotT", ".T", i);
      i += 2;
      continue;
    }
    if (c === "*" && src[i + 1] === "*") {
      toks.push({ kind: "op", text: "^", start: i, end: i + 2 });
      i += 2;
      continue;
    }
    if ("+-*/^@".includes(c)) push("op", c, i);
    else if (c === "(") push("lparen", c, i);
    else if (c === ")") push("rparen", c, i);
    else if (c === "[") push("lbrack", c, i);
    else if (c === "]") push("rbrack", c, i);
    else if (c === ",") push("comma", c, i);
    else if (c === "=") push("assign", c, i);
    else if (c === "·" || c === "×") toks.push({ kind: "op", text: "*", start: i, end: i + 1 });
    else if (c === "−") toks.push({ kind: "op", text: "-", start: i, end: i + 1 });
    else throw new ExplainSyntaxError(`unexpected character '${c}'`, i, src);
    i++;
  }
  push("eof", "", src.length);
  return toks;
}

const MAX_DEPTH = 200;

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(
    private readonly toks: Token[],
    private readonly src: string,
  ) {}

  private peek(): Token {
    return this.toks[this.pos];
  }

  private next(): Token {
    return this.toks[this.pos++];
  }

  private fail(message: string, tok: Token = this.peek()): never {
    throw new ExplainSyntaxError(message, tok.start, this.src);
  }

  private describe(t: Token): string {
    return t.kind === "eof" ? "end of input" : t.kind === "sep" ? (t.text === ";" ? "';'" : "end of line") : `'${t.text}'`;
  }

  private expect(kind: TokKind, what: string): Token {
    const t = this.peek();
    if (t.kind !== kind) this.fail(`expected ${what}, found ${this.describe(t)}`);
    return this.next();
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail(`expression nested more than ${MAX_DEPTH} levels deep`);
  }

  program(): Statement[] {
    const out: Statement[] = [];
    for (;;) {
      while (this.peek().kind === "sep") this.next();
      if (this.peek().kind === "eof") break;
      out.push(this.statement());
      const t = this.peek();
      if (t.kind !== "sep" && t.kind !== "eof") this.fail(`unexpected ${this.describe(t)}`);
    }
    if (out.length === 0) throw new ExplainSyntaxError("empty expression", 0, this.src);
    return out;
  }

  private statement(): Statement {
    const start = this.peek().start;
    if (this.peek().kind === "ident" && this.toks[this.pos + 1].kind === "assign") {
      const nameTok = this.next();
      this.next();
      const name = nameTok.text;
      if ((FUNCTIONS as readonly string[]).includes(name) || CONSTANTS.has(name)) {
        throw new ExplainSyntaxError(`cannot define '${name}': it is a ${CONSTANTS.has(name) ? "constant" : "function"}`, nameTok.start, this.src);
      }
      const expr = this.expr();
      return { name, expr, span: { start, end: this.toks[this.pos - 1].end } };
    }
    const expr = this.expr();
    if (this.peek().kind === "assign") this.fail("only a single name can be defined with '='");
    return { name: null, expr, span: { start, end: this.toks[this.pos - 1].end } };
  }

  expr(): Expr {
    this.enter();
    let left = this.term();
    for (;;) {
      const t = this.peek();
      if (t.kind === "op" && (t.text === "+" || t.text === "-")) {
        this.next();
        const right = this.term();
        left = { kind: "bin", op: t.text as BinOp, left, right, span: span(left, right) };
      } else break;
    }
    this.depth--;
    return left;
  }

  private startsOperand(t: Token): boolean {
    return t.kind === "num" || t.kind === "ident" || t.kind === "lparen" || t.kind === "lbrack";
  }

  private term(): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.kind === "op" && (t.text === "*" || t.text === "/" || t.text === "@")) {
        this.next();
        const right = this.unary();
        left = { kind: "bin", op: t.text as BinOp, left, right, span: span(left, right) };
      } else if (this.startsOperand(t)) {
        // Implicit multiplication: 4x, (x+y)z, x^2 z^3. A number is never the right factor: "1 2" or
        // "x 2" is a typo (a missing operator or comma), not a product people write.
        if (t.kind === "num") this.fail(`unexpected number ${t.text}: a number cannot follow here without an operator (write '*' for a product)`);
        const right = this.unary();
        left = { kind: "bin", op: "*", left, right, span: span(left, right) };
      } else break;
    }
    return left;
  }

  private unary(): Expr {
    const t = this.peek();
    if (t.kind === "op" && (t.text === "-" || t.text === "+")) {
      this.next();
      this.enter();
      const arg = this.unary();
      this.depth--;
      return t.text === "-" ? { kind: "neg", arg, span: { start: t.start, end: arg.span?.end ?? t.end } } : arg;
    }
    return this.power();
  }

  private power(): Expr {
    const base = this.postfix();
    const t = this.peek();
    if (t.kind === "op" && t.text === "^") {
      this.next();
      this.enter();
      const exponent = this.unary(); // right-associative, and 2^-1 is allowed
      this.depth--;
      return { kind: "bin", op: "^", left: base, right: exponent, span: span(base, exponent) };
    }
    return base;
  }

  private postfix(): Expr {
    let e = this.primary();
    while (this.peek().kind === "dotT") {
      const t = this.next();
      e = { kind: "call", fn: "transpose", arg: e, span: { start: e.span?.start ?? t.start, end: t.end } };
    }
    return e;
  }

  private primary(): Expr {
    const t = this.peek();
    switch (t.kind) {
      case "num":
        this.next();
        return { kind: "num", value: t.value ?? Number(t.text), span: { start: t.start, end: t.end } };
      case "ident": {
        this.next();
        const name = t.text;
        if ((FUNCTIONS as readonly string[]).includes(name)) {
          if (this.peek().kind !== "lparen") this.fail(`function '${name}' needs an argument in parentheses, as in ${name}(x)`);
          const open = this.next();
          if (this.peek().kind === "rparen") this.fail(`function '${name}' needs an argument`);
          const arg = this.expr();
          if (this.peek().kind === "comma") this.fail(`function '${name}' takes one argument`);
          if (this.peek().kind !== "rparen") this.fail(`expected ')' to close '(' at column ${open.start + 1}, found ${this.describe(this.peek())}`);
          const close = this.next();
          return { kind: "call", fn: name as FnName, arg, span: { start: t.start, end: close.end } };
        }
        if (name === "e" || name === "pi") return { kind: "const", name, span: { start: t.start, end: t.end } };
        return { kind: "var", name, span: { start: t.start, end: t.end } };
      }
      case "lparen": {
        this.next();
        const e = this.expr();
        if (this.peek().kind !== "rparen") this.fail(`expected ')' to close '(' at column ${t.start + 1}, found ${this.describe(this.peek())}`);
        const close = this.next();
        return { ...e, span: { start: t.start, end: close.end } };
      }
      case "lbrack": {
        this.next();
        this.enter();
        const items: Expr[] = [];
        if (this.peek().kind !== "rbrack") {
          for (;;) {
            items.push(this.expr());
            if (this.peek().kind === "comma") {
              this.next();
              continue;
            }
            break;
          }
        }
        const close = this.expect("rbrack", "',' or ']'");
        this.depth--;
        return { kind: "array", items, span: { start: t.start, end: close.end } };
      }
      default:
        this.fail(`expected a number, a name or '(', found ${this.describe(t)}`);
    }
  }
}

function span(a: Expr, b: Expr): Span | undefined {
  return a.span && b.span ? { start: a.span.start, end: b.span.end } : undefined;
}

/** Parses a program (one or more statements). Throws only ExplainSyntaxError. */
export function parseProgram(source: string): Program {
  const toks = lex(source);
  return { source, statements: new Parser(toks, source).program() };
}

/** Parses a single expression (a value given with --at, say). */
export function parseExpression(source: string): Expr {
  const prog = parseProgram(source);
  if (prog.statements.length !== 1 || prog.statements[0].name !== null) {
    const s = prog.statements.length > 1 ? prog.statements[1].span.start : 0;
    throw new ExplainSyntaxError("expected a single expression", s, source);
  }
  return prog.statements[0].expr;
}
