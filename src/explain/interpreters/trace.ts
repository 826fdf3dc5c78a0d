/**
 * The one recording every part of an explanation reads. Each stage runs forward once, recorded over
 * fresh leaves that hold its arguments' values; the backward pass then runs once, stages in reverse,
 * each stage's VJP applied to its upstream gradient as a recorded leaf. The contributions it records
 * are at the same time the numbers (upstream × local, what the edge carries) and graphs: read with the
 * upstream leaf as 1 they are the local derivatives; read with every leaf replaced by its stage's own
 * expression they chain into the full symbolic derivative. Tables, figures, the symbolic reader, the
 * matrix rules and the code printers all read this one trace; none re-runs a VJP.
 */
import * as bp from "../core.js";
import { num, v, type Expr } from "../language/ast.js";
import { tracingPieces } from "../language/functions.js";
import { foldGraph } from "./walk.js";
import { ExplainError, equationText, refArgs, stageFunction, type Stage, type StagedProgram } from "./stage.js";

/** One stage as recorded: its forward run and its VJP. */
export interface StageRecord {
  readonly stage: Stage;
  /** Referenced arguments (inputs or earlier stages), one per edge, in order. */
  readonly refs: readonly string[];
  /** Fresh leaves holding the referenced arguments' values: the forward run's inputs. */
  readonly leaves: readonly bp.Tensor[];
  /**
   * Per argument position, a leaf holding an array constant's value (null for references and scalars): recorded
   * like the arguments, so that what the VJP computes from a constant (an exponent's y - 1) is a node
   * a reader can name, not a new number.
   */
  readonly constants: readonly (bp.Tensor | null)[];
  /** The recorded output (VJP rules that reuse the output, d exp = out · ct, point at it). */
  readonly out: bp.Tensor;
  /**
   * The upstream gradient as a leaf: d out / d this stage where the backward pass reaches the stage,
   * else ones (so that the recording still holds the local derivatives).
   */
  readonly ct: bp.Tensor;
  readonly reached: boolean;
  /** One recorded contribution per referenced argument: the VJP of `ct`, summed to the argument's shape. */
  readonly vjp: readonly bp.Tensor[];
}

/** One edge of the backward pass: what flows from stage `to` back to its argument `from`. */
export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly argIndex: number;
  /** This edge's share of d out / d from (upstream × local); null where no gradient reaches the stage. */
  readonly contribution: bp.Tensor | null;
}

export interface Trace {
  readonly values: ReadonlyMap<string, bp.Tensor>;
  /** d out / d name for inputs and stages; null where no gradient reaches ("not computed"). */
  readonly grads: ReadonlyMap<string, bp.Tensor | null>;
  /** In backward order: stages in reverse, each stage's arguments in order. */
  readonly edges: readonly Edge[];
  /** Per stage, in program order. */
  readonly records: readonly StageRecord[];
}

/** A tensor with the same values and no history: what the report and later stages see. */
const plain = (t: bp.Tensor): bp.Tensor => new bp.Tensor(t.data, t.shape, null, false);
const leaf = (t: bp.Tensor): bp.Tensor => new bp.Tensor(t.data, t.shape, null, true);

/**
 * Forward pass, then the backward pass in reverse stage order, each recorded once. Piecewise ops note
 * their conditions (tracingPieces) so the recording reads back as 1[z > 0] rather than a number.
 */
export function traceProgram(staged: StagedProgram, given: ReadonlyMap<string, bp.Tensor>, print: (e: Expr) => string): Trace {
  return tracingPieces(() => {
    const values = givenValues(staged, given);
    const forward = forwardPass(staged, values, print);
    const outT = values.get(staged.output)!;
    if (outT.size !== 1) {
      throw new ExplainError(
        `the output ${staged.output} has shape ${bp.formatShape(outT.shape)}; gradients need a scalar output (wrap it in sum(...) or mean(...))`,
      );
    }
    const { grads, edges, records, pending } = backwardPass(forward, staged.output, outT);
    for (const name of values.keys()) {
      if (grads.has(name)) continue;
      // An input the output does not use has gradient 0 (the seeds' z in g(x, y, z)).
      grads.set(name, pending.get(name) ?? bp.zerosLike(values.get(name)!));
    }
    return { values, grads, edges, records };
  });
}

/** The inputs' values: every input given, and no value given for a name the program defines. */
function givenValues(staged: StagedProgram, given: ReadonlyMap<string, bp.Tensor>): Map<string, bp.Tensor> {
  const values = new Map<string, bp.Tensor>();
  for (const name of staged.inputs) {
    const t = given.get(name);
    if (!t) throw new ExplainError(`missing value for input '${name}'`, { kind: "missing-input", name });
    values.set(name, t);
  }
  const definedNames = new Set(staged.stages.filter((s) => s.userDefined).map((s) => s.name));
  for (const [name, t] of given) {
    if (definedNames.has(name)) {
      throw new ExplainError(`'${name}' is defined in the program, so it cannot also be given a value`, { kind: "defined-input", name });
    }
    if (!values.has(name)) values.set(name, t);
  }
  return values;
}

/** One stage's forward run: what its record keeps, and its VJP to run on the way back. */
interface ForwardStage {
  stage: Stage;
  refs: string[];
  leaves: bp.Tensor[];
  constants: (bp.Tensor | null)[];
  out: bp.Tensor;
  back: (ct: bp.Tensor) => bp.Tensor[];
}

/** Runs each stage once, recorded over fresh leaves; adds each stage's value to `values`. */
function forwardPass(staged: StagedProgram, values: Map<string, bp.Tensor>, print: (e: Expr) => string): ForwardStage[] {
  const forward: ForwardStage[] = [];
  for (const s of staged.stages) {
    const refs = refArgs(s);
    const leaves = refs.map((r) => leaf(values.get(r)!));
    // Array constants only: a scalar's y - 1 stays a number, which reads better (x^-0.5, not x^(0.5 - 1)).
    const constants = s.args.map((a) => (a.kind === "const" && a.value.size !== 1 ? leaf(a.value) : null));
    const held = constants.filter((c): c is bp.Tensor => c !== null);
    try {
      // The stage as a function of its references, then its array constants (both recorded).
      const f = stageFunction(
        s,
        constants.map((c) => c !== null),
      );
      const [out, vjpAll] = bp.vjp(f, ...leaves, ...held);
      const back = (ct: bp.Tensor) => vjpAll(ct).slice(0, refs.length);
      forward.push({ stage: s, refs, leaves, constants, out, back });
      values.set(s.name, plain(out));
    } catch (e) {
      throw new ExplainError(`in stage ${equationText(s, print)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return forward;
}

/** The backward pass from `output` (value `outT`), stages in reverse; `pending` holds the sums reaching the inputs. */
function backwardPass(forward: readonly ForwardStage[], output: string, outT: bp.Tensor) {
  const grads = new Map<string, bp.Tensor | null>();
  const edges: Edge[] = [];
  const pending = new Map<string, bp.Tensor>([[output, bp.onesLike(outT)]]);
  const records: StageRecord[] = new Array(forward.length);
  for (let i = forward.length - 1; i >= 0; i--) {
    const f = forward[i];
    const g = pending.get(f.stage.name) ?? null;
    grads.set(f.stage.name, g);
    const ct = leaf(g ?? bp.onesLike(f.out));
    const vjp = f.back(ct);
    records[i] = { stage: f.stage, refs: f.refs, leaves: f.leaves, constants: f.constants, out: f.out, ct, reached: g !== null, vjp };
    f.refs.forEach((r, k) => {
      const c = g ? plain(vjp[k]) : null;
      edges.push({ from: r, to: f.stage.name, argIndex: k, contribution: c });
      if (c) {
        const prev = pending.get(r);
        pending.set(r, prev ? bp.noGrad(() => bp.add(prev, c)) : c);
      }
    });
  }
  return { grads, edges, records, pending };
}

/**
 * Names for reading a stage's recorded VJP back as its local derivatives: each argument leaf as its
 * name, the output as the stage's expression, and the upstream leaf as 1.
 */
export function localNames(r: StageRecord): Map<bp.Tensor, Expr> {
  const names = new Map<bp.Tensor, Expr>(r.leaves.map((l, k) => [l, v(r.refs[k])]));
  names.set(r.ct, num(1));
  names.set(r.out, r.stage.expr);
  return names;
}

/**
 * Evaluates a recorded graph again with some tensors replaced (`subst`): the eval interpreter over the
 * trace. Reading a contribution with the upstream leaf replaced by ones gives the local derivative's
 * value exactly as the engine computes it, without running the VJP rules again.
 */
export function replay(t: bp.Tensor, subst: ReadonlyMap<bp.Tensor, bp.Tensor>): bp.Tensor {
  return bp.noGrad(() =>
    foldGraph<bp.Tensor>(t, {
      stop: (u) => subst.get(u) ?? (u.node === null ? u : undefined),
      combine: (u, inputs) => (inputs.every((x, k) => x === u.node!.inputs[k]) ? u : bp.bind(u.node!.prim, inputs, u.node!.params)),
    }),
  );
}

/** The value of each local derivative of a stage (d stage / d argument), as the engine computes it. */
export function localValues(r: StageRecord): bp.Tensor[] {
  if (!r.reached) return r.vjp.map(plain);
  const ones = bp.onesLike(r.ct);
  return r.vjp.map((g) => plain(replay(g, new Map([[r.ct, ones]]))));
}
