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

/** The longest product a caption writes out, and the most names of a path it lists. */
const CAPTION_PRODUCT = 80;
const CAPTION_NAMES = 12;

/** A path's chain of names, its middle left out past CAPTION_NAMES: x → a1 → a2 → a3 → ... → a60 (61 names). */
function shortened(chain: string, arrow: string): string {
  const names = chain.split(arrow);
  if (names.length <= CAPTION_NAMES) return chain;
  return `${[...names.slice(0, 4), "...", ...names.slice(-2)].join(arrow)} (${names.length} names)`;
}

/** Reads "x:2" (an input's name, a colon, a path number from 1). */
export function parsePathSpec(spec: string): { input: string; k: bigint } {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(\d+)\s*$/.exec(spec);
  if (!m) throw new ExplainError(`--path needs an input and a path number, as x:2; got "${spec}"`);
  // A bigint: with 2^60 paths, every number must name its own.
  return { input: m[1], k: BigInt(m[2]) };
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
  // A long path's product is the figure's width: past CAPTION_PRODUCT characters it is counted, not written.
  const product = path.product.length <= CAPTION_PRODUCT ? path.product : `of ${path.factors.length} local derivatives`;
  const grad = own(r.gradients, input);
  const value = path.value === null ? "" : ` = ${fmtNumber(path.value)}`;
  const sum = typeof grad === "number" ? `; the ${total} paths sum to g${input} = ${fmtNumber(grad)}` : "";
  return {
    edges,
    nodes: new Set([...path.names, out]),
    caption: `path ${k} of ${total} from ${input}: ${shortened(pathNames(path, repeatedUses(r), " → "), " → ")}, product ${product}${value}${sum}`,
  };
}

/** A figure (toSvg, toTikz) of the report, with path `spec` (x:2) drawn when one is given. */
export function figureWithPath(r: ExplainReport, spec: string | undefined, draw: (r: ExplainReport, graph: Graph, path?: PathEmphasis) => string): string {
  const graph = buildGraph(r);
  return draw(r, graph, spec === undefined ? undefined : pathEmphasis(r, graph, spec));
}
