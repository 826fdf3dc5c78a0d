/**
 * One path of the sum over paths drawn in the figure (`--path x:2`): the wires and gates on it
 * emphasized, the rest dimmed, and the path's product in a caption. The path is found from the report
 * (report/paths.ts), numbered as the tables list it, and works past the listing limit too.
 */
import { own } from "../language/ast.js";
import { ExplainError } from "../report/explain.js";
import { fmtNumber, type ExplainReport } from "../report/report.js";
import { countPaths, nthPath } from "../report/paths.js";
import { buildGraph, outputId, type Graph } from "./graph.js";
import { pathNames, repeatedUses } from "./paths-format.js";

/** What a figure emphasizes: wires (indices in graph.edges) and nodes on the path, and the caption. */
export interface PathEmphasis {
  edges: ReadonlySet<number>;
  nodes: ReadonlySet<string>;
  caption: string;
}

/** Reads "x:2" (an input's name, a colon, a path number from 1). */
export function parsePathSpec(spec: string): { input: string; k: number } {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(\d+)\s*$/.exec(spec);
  if (!m) throw new ExplainError(`--path needs an input and a path number, as x:2; got "${spec}"`);
  return { input: m[1], k: Number(m[2]) };
}

/** The emphasis of path `spec` (x:2) in `graph`; a clear error for an unknown input or a number out of range. */
export function pathEmphasis(r: ExplainReport, graph: Graph, spec: string): PathEmphasis {
  const { input, k } = parsePathSpec(spec);
  if (!r.scalar) throw new ExplainError(`--path ${spec}: paths are drawn for scalar programs only`);
  if (!r.inputs.includes(input)) throw new ExplainError(`--path ${spec}: no input named "${input}" (the inputs are ${r.inputs.join(", ")})`);
  const counts = countPaths(r);
  const total = counts.count.get(input) ?? 0n;
  if (total === 0n) throw new ExplainError(`--path ${spec}: ${input} has no path to the output ${r.output}`);
  const path = nthPath(r, input, k, counts);
  if (!path) throw new ExplainError(`--path ${spec}: ${input} has ${total} path${total === 1n ? "" : "s"} (give a number from 1 to ${total})`);
  // A wire is told from its twin (x * x) by operand: the j-th use of a name by a stage is its j-th wire there.
  const stages = new Map(r.stages.map((s) => [s.name, s]));
  const wanted = new Set<string>();
  path.names.slice(1).forEach((to, i) => {
    const from = path.names[i];
    const uses = stages
      .get(to)!
      .inputs.slice(0, path.argIndices[i])
      .filter((n) => n === from).length;
    wanted.add(`${from}>${to}#${uses}`);
  });
  const out = outputId(r);
  const seen = new Map<string, number>();
  const edges = new Set<number>();
  graph.edges.forEach((e, i) => {
    const pair = `${e.from}>${e.to}`;
    const j = seen.get(pair) ?? 0;
    seen.set(pair, j + 1);
    if (wanted.has(`${pair}#${j}`) || (e.to === out && e.from === r.output)) edges.add(i);
  });
  const grad = own(r.gradients, input);
  const value = path.value === null ? "" : ` = ${fmtNumber(path.value)}`;
  const sum = typeof grad === "number" ? `; the ${total} paths sum to g${input} = ${fmtNumber(grad)}` : "";
  return {
    edges,
    nodes: new Set([...path.names, out]),
    caption: `path ${k} of ${total} from ${input}: ${pathNames(path, repeatedUses(r), " → ")}, product ${path.product}${value}${sum}`,
  };
}

/** A figure (toSvg, toTikz) of the report, with path `spec` (x:2) drawn when one is given. */
export function figureWithPath(r: ExplainReport, spec: string | undefined, draw: (r: ExplainReport, graph: Graph, path?: PathEmphasis) => string): string {
  const graph = buildGraph(r);
  return draw(r, graph, spec === undefined ? undefined : pathEmphasis(r, graph, spec));
}
