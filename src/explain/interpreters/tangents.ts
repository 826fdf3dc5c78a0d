/**
 * Forward mode over the staged program: the whole program as one function of its inputs, returning
 * every stage's value, pushed forward by the core's jvp with one input's tangent 1 and the others' 0.
 * Each stage's tangent is then d stage / d that input: what its wires carry forward in forward mode.
 */
import * as bp from "../core.js";
import { refArgs, stageFunction, type StagedProgram } from "./stage.js";

/** d name / d seed for every input (in `inputs`) and stage, from one forward sweep. */
export function tangentSweep(staged: StagedProgram, values: ReadonlyMap<string, bp.Tensor>, inputs: readonly string[], seed: string): Map<string, bp.Tensor> {
  const program = (...xs: bp.Tensor[]): bp.Tensor[] => {
    const env = new Map<string, bp.Tensor>(inputs.map((n, k) => [n, xs[k]]));
    return staged.stages.map((s) => {
      const y = stageFunction(s)(...refArgs(s).map((r) => env.get(r)!));
      env.set(s.name, y);
      return y;
    });
  };
  const primals = inputs.map((n) => values.get(n)!);
  // Ones for an array seed: its tangents are derivatives along the all-ones direction.
  const seeds = inputs.map((n, k) => (n === seed ? bp.onesLike(primals[k]) : bp.zerosLike(primals[k])));
  const [, tangents] = bp.jvp(program, primals, seeds);
  const out = new Map<string, bp.Tensor>(inputs.map((n, k) => [n, seeds[k]]));
  staged.stages.forEach((s, i) => out.set(s.name, tangents[i]));
  return out;
}
