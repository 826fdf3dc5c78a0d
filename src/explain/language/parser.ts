/**
 * The input language: numbers, variables, e and pi, + - * / ^ (**) @, unary minus below powers,
 * right-associative powers, implicit multiplication (4x, 2pi*r, (x+y)z, x^2 z^3), function calls,
 * `.T`, array literals, and programs of definitions separated by `;` or newlines.
 * Errors are ExplainSyntaxErrors that point at the offending character.
 */
import {
  BUILTIN_FUNCTIONS,
  CONSTANTS,
  FUNCTIONS,
  MULTI_FUNCTIONS,
  WINDOW_FUNCTIONS,
  type BinOp,
  type Expr,
  type FnName,
  type Program,
  type Span,
  type Statement,
} from "./ast.js";

/**
 * What the user can do about an error, as data: each front end words it for its own inputs (the CLI
 * names --at, the playground its Input values box), so the library's message names neither.
 */
export type ErrorHint =
  { readonly kind: "missing-input"; readonly name: string } | { readonly kind: "defined-input"; readonly name: string } | { readonly kind: "array-values" };

/** A syntax error at a character offset; `format()` shows the line with a caret under it. */
export class ExplainSyntaxError extends Error {
  readonly position: number;
  readonly source: string;
  readonly hint?: ErrorHint;
  constructor(message: string, position: number, source: string, hint?: ErrorHint) {
    super(message);
    this.name = "ExplainSyntaxError";
    this.position = Math.max(0, Math.min(position, source.length));
    this.source = source;
    if (hint !== undefined) this.hint = hint;
  }

  /** Line and column (1-based) of the error. */
  get location(): { line: number; column: number } {
    const before = this.source.slice(0, this.position);
    const line = before.split("\n").length;
    return { line, column: this.position - (before.lastIndexOf("\n") + 1) + 1 };
  }

  /** `hintText`: the front end's wording of `hint`, added to the message line in parentheses. */
  format(hintText?: string): string {
    const { line, column } = this.location;
    const text = this.source.split("\n")[line - 1] ?? "";
    const where = this.source.includes("\n") ? `line ${line}, column ${column}` : `column ${column}`;
    const message = hintText ? `${this.message} (${hintText})` : this.message;
    return `syntax error at ${where}: ${message}\n  ${text}\n  ${" ".repeat(column - 1)}^`;
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
  if (!Number.isFinite(value))
    throw new ExplainSyntaxError(`number ${text.length > 20 ? `${text.slice(0, 20)}... (${text.length} characters)` : text} is too large`, at, src);
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

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The known functions a name written as a call may have meant: those closest to it, ties listed
 * (at most three). Short names allow fewer edits, so x(y+1) or ab(c) stay implicit products: every
 * one-letter name is two edits from ln. A name of 3+ letters that begins a function (sig, trans)
 * counts as one edit from it.
 */
export function functionSuggestions(name: string): string[] {
  const lower = name.toLowerCase();
  const limit = lower.length <= 1 ? 0 : lower.length <= 4 ? 1 : 2;
  const scored = [...FUNCTIONS, ...MULTI_FUNCTIONS.keys(), ...WINDOW_FUNCTIONS.keys()]
    .map((f, index) => {
      const prefix = lower.length >= 3 && f.length > lower.length && f.startsWith(lower);
      return { f, index, score: Math.min(editDistance(lower, f), prefix ? 1 : Infinity) };
    })
    .filter((c) => c.f !== name && c.score <= limit);
  const best = Math.min(...scored.map((c) => c.score));
  return scored
    .filter((c) => c.score === best)
    .sort((a, b) => Math.abs(a.f.length - lower.length) - Math.abs(b.f.length - lower.length) || a.index - b.index)
    .slice(0, 3)
    .map((c) => c.f);
}

/** "a", "a or b", "a, b or c". */
function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
}

class Parser {
  private pos = 0;
  private depth = 0;
  /** Names defined so far: `lr = 0.1; lr(x+1)` is a product, whatever lr looks like. */
  private readonly defined = new Set<string>();
  /** Names used as variables so far (a later `fn` cannot make them functions). */
  private readonly usedAsVariable = new Set<string>();
  /** Abstract functions declared with `fn`: their arity once first used, and where that was. */
  readonly functions = new Map<string, { arity: number; at: number } | null>();
  constructor(
    private readonly toks: Token[],
    private readonly src: string,
    /** A value (--at) rather than a program: it cannot declare functions, so errors do not suggest it. */
    private readonly value = false,
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
      const st = this.statement();
      if (st) out.push(st);
      const t = this.peek();
      if (t.kind !== "sep" && t.kind !== "eof") this.fail(`unexpected ${this.describe(t)}`);
    }
    if (out.length === 0) throw new ExplainSyntaxError("empty expression", 0, this.src);
    return out;
  }

  /** `fn g, h`: a statement that starts with fn and a name followed by ',' or the statement's end. */
  private atDeclaration(): boolean {
    const [a, b, c] = [this.peek(), this.toks[this.pos + 1], this.toks[this.pos + 2]];
    return a.kind === "ident" && a.text === "fn" && b?.kind === "ident" && (c?.kind === "comma" || c?.kind === "sep" || c?.kind === "eof");
  }

  /** Declares abstract functions: names used without a definition, differentiated symbolically. */
  private declaration(): void {
    this.next();
    for (;;) {
      const t = this.expect("ident", "a function name");
      const name = t.text;
      if (BUILTIN_FUNCTIONS.has(name)) this.fail(`cannot declare '${name}' with fn: it is a built-in function`, t);
      if (CONSTANTS.has(name)) this.fail(`cannot declare '${name}' with fn: it is a constant`, t);
      if (this.functions.has(name)) this.fail(`'${name}' is declared twice`, t);
      if (this.defined.has(name) || this.usedAsVariable.has(name)) this.fail(`cannot declare '${name}' with fn: it is already a variable`, t);
      this.functions.set(name, null);
      if (this.peek().kind !== "comma") return;
      this.next();
    }
  }

  private statement(): Statement | null {
    if (this.atDeclaration()) {
      this.declaration();
      return null;
    }
    const start = this.peek().start;
    if (this.peek().kind === "ident" && this.toks[this.pos + 1].kind === "assign") {
      const nameTok = this.next();
      this.next();
      const name = nameTok.text;
      if (BUILTIN_FUNCTIONS.has(name) || CONSTANTS.has(name)) {
        throw new ExplainSyntaxError(`cannot define '${name}': it is a ${CONSTANTS.has(name) ? "constant" : "function"}`, nameTok.start, this.src);
      }
      if (this.functions.has(name))
        throw new ExplainSyntaxError(`cannot define '${name}': it is an abstract function (declared with fn)`, nameTok.start, this.src);
      const expr = this.expr();
      this.defined.add(name);
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

  /**
   * A name right before '(' that is close to a function (sigmod(x), tahn(x)) is a misspelled call, not
   * the product sigmod * (x) that would then ask for a value of 'sigmod'. Other names stay products.
   */
  private checkNotMisspelledCall(t: Token): void {
    const near = functionSuggestions(t.text);
    if (near.length === 0) return;
    // A two-letter name may well be a variable (lr, ab): say how to write the product.
    const product = t.text.length <= 2 ? ` for a product write ${t.text}*(...)` : "";
    this.fail(
      `unknown function '${t.text}' (did you mean ${orList(near)}?${product})${this.value ? "" : `; to use an abstract function, declare it first: fn ${t.text}`}`,
      t,
    );
  }

  /**
   * The parenthesised, comma-separated arguments of a call of `name` (the current token is '('),
   * checked against its arity (null: any number, at least one). Errors point at the function's name.
   */
  private callArgs(name: Token, arity: number | null): { args: Expr[]; end: number } {
    const open = this.next();
    this.enter();
    const args: Expr[] = [];
    if (this.peek().kind === "rparen") this.fail(`function '${name.text}' needs ${arity === null || arity === 1 ? "an argument" : `${arity} arguments`}`);
    for (;;) {
      args.push(this.expr());
      if (this.peek().kind !== "comma") break;
      this.next();
    }
    if (this.peek().kind !== "rparen") this.fail(`expected ')' to close '(' at column ${open.start + 1}, found ${this.describe(this.peek())}`);
    const close = this.next();
    this.depth--;
    if (arity !== null && args.length !== arity) this.fail(`${name.text} takes ${arity} argument${arity === 1 ? "" : "s"}, found ${args.length}`, name);
    return { args, end: close.end };
  }

  /**
   * A call of a window function (conv2d, maxpool, avgpool): tensor arguments, then hyperparameters by
   * name (`stride=2`), a pool's kernel size also as its second argument. Each hyperparameter is an integer
   * literal; they are stored, defaults filled in, as trailing numbers in the table's order.
   */
  private windowCall(t: Token): Expr {
    const name = t.text;
    const spec = WINDOW_FUNCTIONS.get(name)!;
    const usage = name === "conv2d" ? "conv2d(x, w, b, stride=1, padding=0)" : `${name}(x, 2, stride=2, padding=0)`;
    if (this.peek().kind !== "lparen") this.fail(`function '${name}' needs its arguments in parentheses, as in ${usage}`);
    const open = this.next();
    this.enter();
    const positional: Expr[] = [];
    const named = new Map<string, Expr>();
    if (this.peek().kind === "rparen") this.fail(`function '${name}' needs arguments, as in ${usage}`);
    for (;;) {
      const a = this.peek();
      if (a.kind === "ident" && this.toks[this.pos + 1].kind === "assign") {
        this.next();
        this.next();
        if (!spec.params.some((p) => p.name === a.text))
          this.fail(`${name} has no parameter '${a.text}' (its parameters: ${spec.params.map((p) => p.name).join(", ")})`, a);
        if (named.has(a.text)) this.fail(`${name}: ${a.text} is given twice`, a);
        named.set(a.text, this.expr());
      } else {
        if (named.size > 0) this.fail(`${name}: a positional argument cannot follow a named one`, a);
        positional.push(this.expr());
      }
      if (this.peek().kind !== "comma") break;
      this.next();
    }
    if (this.peek().kind !== "rparen") this.fail(`expected ')' to close '(' at column ${open.start + 1}, found ${this.describe(this.peek())}`);
    const close = this.next();
    this.depth--;
    // A pool's kernel size may come second, positionally.
    const [fewest, most] = spec.tensors;
    if (spec.params[0].name === "kernel" && positional.length === most + 1) {
      if (named.has("kernel")) this.fail(`${name}: kernel is given twice`, t);
      named.set("kernel", positional.pop()!);
    }
    if (positional.length < fewest || positional.length > most) {
      const count = fewest === most ? `${fewest}` : `${fewest} or ${most}`;
      this.fail(
        `${name} takes ${count} array argument${most === 1 ? "" : "s"} and named integers, found ${positional.length} positional arguments (write it as ${usage})`,
        t,
      );
    }
    const values = new Map<string, number>();
    const params = spec.params.map((p): Expr => {
      const given = named.get(p.name);
      if (given === undefined) {
        const d = p.default === "kernel" ? values.get("kernel")! : p.default;
        if (d === null) this.fail(`${name} needs its ${p.name} size, as in ${usage}`, t);
        values.set(p.name, d);
        return { kind: "num", value: d };
      }
      const min = p.name === "padding" ? 0 : 1;
      if (given.kind !== "num" || !Number.isInteger(given.value) || given.value < min)
        throw new ExplainSyntaxError(
          `${name}: ${p.name} must be an integer ${min === 0 ? ">= 0" : ">= 1"} written as a number`,
          given.span?.start ?? t.start,
          this.src,
        );
      values.set(p.name, given.value);
      return { kind: "num", value: given.value, ...(given.span ? { span: given.span } : {}) };
    });
    return { kind: "apply", fn: name, args: [...positional, ...params], span: { start: t.start, end: close.end } };
  }

  /** A call of a declared abstract function; its first use fixes its arity. */
  private abstractCall(t: Token): Expr {
    const name = t.text;
    if (this.peek().kind !== "lparen") this.fail(`'${name}' is an abstract function (declared with fn): call it, as in ${name}(x)`, t);
    const known = this.functions.get(name) ?? null;
    const { args, end } = this.callArgs(t, null);
    if (known === null) this.functions.set(name, { arity: args.length, at: t.start });
    else if (known.arity !== args.length) {
      const column = this.src.slice(0, known.at).length - (this.src.lastIndexOf("\n", known.at - 1) + 1) + 1;
      this.fail(`${name} takes ${known.arity} argument${known.arity === 1 ? "" : "s"} (as first used at column ${column}), found ${args.length}`, t);
    }
    return { kind: "apply", fn: name, args, span: { start: t.start, end } };
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
          const { args, end } = this.callArgs(t, 1);
          return { kind: "call", fn: name as FnName, arg: args[0], span: { start: t.start, end } };
        }
        if (WINDOW_FUNCTIONS.has(name)) return this.windowCall(t);
        const multi = MULTI_FUNCTIONS.get(name);
        if (multi !== undefined) {
          if (this.peek().kind !== "lparen")
            this.fail(
              `function '${name}' needs ${multi === 1 ? "an argument" : `${multi} arguments`} in parentheses, as in ${name}(${["a", "b", "c"].slice(0, multi).join(", ")})`,
            );
          const { args, end } = this.callArgs(t, multi);
          return { kind: "apply", fn: name, args, span: { start: t.start, end } };
        }
        if (this.functions.has(name)) return this.abstractCall(t);
        if (name === "e" || name === "pi") return { kind: "const", name, span: { start: t.start, end: t.end } };
        if (this.peek().kind === "lparen" && this.peek().start === t.end && !this.defined.has(name)) this.checkNotMisspelledCall(t);
        this.usedAsVariable.add(name);
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
export function parseProgram(source: string, value = false): Program {
  const toks = lex(source);
  const parser = new Parser(toks, source, value);
  const statements = parser.program();
  if (parser.functions.size === 0) return { source, statements };
  return { source, statements, functions: new Map([...parser.functions].map(([name, use]) => [name, use?.arity ?? 0])) };
}

/** Parses a single expression (a value given with --at, say). */
export function parseExpression(source: string): Expr {
  const prog = parseProgram(source, true);
  if (prog.statements.length !== 1 || prog.statements[0].name !== null) {
    const s = prog.statements.length > 1 ? prog.statements[1].span.start : 0;
    throw new ExplainSyntaxError("expected a single expression", s, source);
  }
  return prog.statements[0].expr;
}
