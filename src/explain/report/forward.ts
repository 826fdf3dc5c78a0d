/**
 * The forward-mode part of the report: a tangent sweep per seeded input (interpreters/tangents.ts,
 * the core's jvp over the staged program) and what each mode costs for n inputs and m outputs.
 */
import type * as bp from "../core.js";
import { namedRecord, own } from "../language/ast.js";
import { ExplainError, type StagedProgram } from "../interpreters/stage.js";
import { tangentSweep } from "../interpreters/tangents.js";
import { toValue, valueShape, type ExplainReport, type ForwardReport, type ModeCost, type StageReport, type Value } from "./report.js";

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function elementCount(v: Value): number {
  return sizeOf(valueShape(v));
}

/**
 * One tangent sweep's operations, counted as the backward pass's are (check.ts): per stage, one per
 * output number for each argument's local derivative × tangent (a matrix product's K multiply-adds
 * per number), and the additions that sum the arguments' parts.
 */
function tangentOps(r: Pick<ExplainReport, "stages" | "inputValues">): number {
  const byName = new Map(r.stages.map((s) => [s.name, s]));
  const inner = (s: StageReport): number => {
    if (s.op !== "matmul" || s.operands[0].kind !== "name") return 1;
    const left = byName.get(s.operands[0].name)?.shape ?? valueShape(own(r.inputValues, s.operands[0].name) ?? 0);
    return left.length === 0 ? 1 : left[left.length - 1];
  };
  return r.stages.reduce((n, s) => {
    const size = sizeOf(s.shape);
    const args = s.inputs.length;
    return n + args * size * inner(s) + Math.max(0, args - 1) * size;
  }, 0);
}

export function modeCost(r: Pick<ExplainReport, "stages" | "inputValues" | "inputs" | "value" | "ops">): ModeCost {
  const inputs = r.inputs.reduce((n, name) => n + elementCount(own(r.inputValues, name) ?? 0), 0);
  const outputs = elementCount(r.value);
  const { forward: forwardOps, backward: backwardOps } = r.ops;
  const perSweep = tangentOps(r);
  return {
    inputs,
    outputs,
    forwardOps,
    tangentOps: perSweep,
    backwardOps,
    forwardMode: forwardOps + inputs * perSweep,
    reverseMode: forwardOps + outputs * backwardOps,
  };
}

/** Forward mode for `seeds` (every input when none is named); a seed that is not an input is an error naming the inputs. */
export function forwardReport(r: ExplainReport, staged: StagedProgram, values: ReadonlyMap<string, bp.Tensor>, seeds: readonly string[] = []): ForwardReport {
  const chosen = seeds.length > 0 ? [...new Set(seeds)] : [...r.inputs];
  for (const s of chosen) {
    if (!r.inputs.includes(s))
      throw new ExplainError(`cannot seed forward mode with '${s}': it is not an input (the inputs are ${r.inputs.join(", ") || "none"})`);
  }
  const sweeps = chosen.map((seed) => {
    const t = tangentSweep(staged, values, r.inputs, seed);
    return { seed, tangents: namedRecord([...t].map(([n, v]) => [n, toValue(v)] as const)), output: toValue(t.get(staged.output)!) };
  });
  return { seeds: chosen, sweeps, cost: modeCost(r) };
}
