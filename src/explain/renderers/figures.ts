/**
 * Figures of the computational graph, all from one layout: standalone SVG, TikZ (standalone class),
 * Graphviz DOT and Mermaid. Forward values above each wire in green, gradients below in blue; in
 * forward mode (SVG) the tangents above the values in violet.
 */
import type { ExplainReport } from "../report/report.js";
import { buildGraph, gateFontSize, outputId, TANGENT_LEGEND_X, TEXT, textWidth, type Graph, type GraphEdge, type GraphNode } from "./graph.js";
import type { PathEmphasis } from "./path-figure.js";

export const FORWARD_COLOR = "#1a7f37";
export const BACKWARD_COLOR = "#1f5fbf";
export const TANGENT_COLOR = "#7c3aed";
const STAGE_COLOR = "#c2410c";
const MUTED = "#6b7280";
/** The wires of a path drawn with --path, and how faint the rest is. */
export const PATH_COLOR = "#d97706";
const DIMMED = 0.22;
/** Room for the caption of a drawn path, above the legend. */
const CAPTION_H = 22;

function xml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function round(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function wirePath(e: GraphEdge): string {
  const p = e.points;
  const parts = [`M${round(p[0].x)},${round(p[0].y)}`];
  for (let i = 1; i < p.length; i++) {
    const a = p[i - 1];
    const b = p[i];
    // Engine-routed wires are orthogonal: straight segments between their bend points.
    if (a.y === b.y || e.route === "orthogonal") parts.push(`L${round(b.x)},${round(b.y)}`);
    else {
      const mx = (a.x + b.x) / 2;
      parts.push(`C${round(mx)},${round(a.y)} ${round(mx)},${round(b.y)} ${round(b.x)},${round(b.y)}`);
    }
  }
  return parts.join(" ");
}

/**
 * A wire label whose figure text is abbreviated (4 digits, an array's shape) wrapped in a group whose
 * <title> holds the full text: viewers show it as a tooltip. The <title> sits beside the <text>, not in
 * it, so the text's own content stays the short label (the playground and tests read it).
 */
function titled(full: string, short: string, text: string): string {
  return full === short ? text : `<g><title>${xml(full)}</title>${text}</g>`;
}

/** With a path drawn, what is not on it is wrapped in a faint group. */
function dimmed(path: PathEmphasis | undefined, on: boolean, parts: string[]): string[] {
  return path && !on ? [`<g opacity="${DIMMED}">`, ...parts, "</g>"] : parts;
}

function svgHeader(r: ExplainReport, W: number, H: number, path?: PathEmphasis): string[] {
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
  );
  out.push(`<title>${xml(`Computational graph of ${r.source.trim()}`)}</title>`);
  out.push(
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#374151"/></marker></defs>`,
  );
  // The path's wires are thicker: their arrowhead is sized for that (marker units scale with the stroke).
  if (path)
    out.push(
      `<defs><marker id="arrow-path" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="3.2" markerHeight="3.2" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${PATH_COLOR}"/></marker></defs>`,
    );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  return out;
}

/** One wire: its path, the forward value above, the gradient below, the tangent and the local derivative. */
function svgWire(e: GraphEdge, onPath: boolean): string[] {
  const wire: string[] = [];
  const stroke = onPath
    ? `stroke="${PATH_COLOR}" stroke-width="3.5" marker-end="url(#arrow-path)"`
    : `stroke="#374151" stroke-width="1.5" marker-end="url(#arrow)"`;
  wire.push(`<path d="${wirePath(e)}" fill="none" ${stroke}/>`);
  const p = e.label;
  // class and data attributes let a viewer reveal values stage by stage (the playground's stepping).
  wire.push(
    titled(
      e.valueFull,
      e.value,
      `<text class="fwd" data-from="${xml(e.from)}" x="${round(p.x)}" y="${round(p.y - TEXT.valueAbove)}" text-anchor="middle" font-size="13" fill="${FORWARD_COLOR}">${xml(e.value)}</text>`,
    ),
  );
  wire.push(
    e.computed
      ? titled(
          e.gradFull,
          e.grad,
          `<text class="bwd" data-to="${xml(e.to)}" x="${round(p.x)}" y="${round(p.y + TEXT.gradBelow)}" text-anchor="middle" font-size="13" fill="${BACKWARD_COLOR}">${xml(e.grad)}</text>`,
        )
      : `<text class="bwd" data-to="${xml(e.to)}" x="${round(p.x)}" y="${round(p.y + TEXT.gradBelow)}" text-anchor="middle" font-size="11" font-style="italic" fill="${MUTED}">not computed</text>`,
  );
  if (e.tangent !== undefined) {
    wire.push(
      titled(
        e.tangentFull ?? e.tangent,
        e.tangent,
        `<text class="tan" data-from="${xml(e.from)}" x="${round(p.x)}" y="${round(p.y - TEXT.tangentAbove)}" text-anchor="middle" font-size="13" fill="${TANGENT_COLOR}">${xml(e.tangent)}</text>`,
      ),
    );
  }
  if (e.local) {
    const lx = e.localAt.x;
    const ly = e.localAt.y - TEXT.localAbove;
    wire.push(`<text x="${round(lx)}" y="${round(ly)}" text-anchor="end" font-size="9" fill="${MUTED}">${xml(`∂ ${e.local}`)}</text>`);
  }
  return wire;
}

/** One node: its gradient sum below, then the output's name, an input's box or a gate's circle and stage name. */
function svgNode(n: GraphNode, onPath: boolean): string[] {
  const out: string[] = [];
  if (n.sum) {
    const below = n.kind === "input" ? n.h / 2 : n.r;
    out.push(
      `<text class="bwd sum" data-to="${xml(n.id)}" x="${round(n.x)}" y="${round(n.y + below + TEXT.sumBelow)}" text-anchor="middle" font-size="11" fill="${BACKWARD_COLOR}">${xml(`Σ ${n.sum}`)}</text>`,
    );
  }
  if (n.kind === "output")
    out.push(`<text x="${round(n.x + 2)}" y="${round(n.y + 5)}" font-size="15" font-style="italic" fill="#111827">${xml(n.label)}</text>`);
  else if (n.kind === "input") {
    const edge = onPath ? `stroke="${PATH_COLOR}" stroke-width="3"` : `stroke="#374151"`;
    out.push(
      `<g><title>${xml(n.title)}</title><rect x="${round(n.x - n.r)}" y="${round(n.y - n.h / 2)}" width="${2 * n.r}" height="${round(n.h)}" rx="6" fill="#f3f4f6" ${edge}/>`,
    );
    out.push(`<text x="${round(n.x)}" y="${round(n.y + 5)}" text-anchor="middle" font-size="15" font-style="italic" fill="#111827">${xml(n.label)}</text></g>`);
  } else {
    const ring = onPath ? `stroke="${PATH_COLOR}" stroke-width="3"` : `stroke="#111827" stroke-width="1.5"`;
    out.push(
      `<g class="gate" data-stage="${xml(n.id)}"><title>${xml(n.title)}</title><circle cx="${round(n.x)}" cy="${round(n.y)}" r="${n.r}" fill="#ffffff" ${ring}/>`,
    );
    const size = gateFontSize(n.label);
    out.push(`<text x="${round(n.x)}" y="${round(n.y + size / 3)}" text-anchor="middle" font-size="${size}" fill="#111827">${xml(n.label)}</text>`);
    out.push(
      `<text x="${round(n.x)}" y="${round(n.y - n.r - TEXT.nameAbove)}" text-anchor="middle" font-size="12" font-weight="bold" fill="${STAGE_COLOR}">${xml(n.id)}</text></g>`,
    );
  }
  return out;
}

/** The path's caption (with --path) and the colour legend along the bottom. */
function svgLegend(graph: Graph, H: number, path?: PathEmphasis): string[] {
  const out: string[] = [];
  const legendY = H - TEXT.legendUp;
  if (path)
    out.push(`<text class="path-caption" x="12" y="${legendY - CAPTION_H}" font-size="12" fill="${PATH_COLOR}" font-weight="bold">${xml(path.caption)}</text>`);
  out.push(`<text x="12" y="${legendY}" font-size="11" fill="${FORWARD_COLOR}">forward value (above each wire)</text>`);
  out.push(`<text x="220" y="${legendY}" font-size="11" fill="${BACKWARD_COLOR}">gradient (below each wire)</text>`);
  out.push(`<text x="400" y="${legendY}" font-size="11" fill="${MUTED}">∂ local derivative</text>`);
  if (graph.tangentLegend) out.push(`<text x="${TANGENT_LEGEND_X}" y="${legendY}" font-size="11" fill="${TANGENT_COLOR}">${xml(graph.tangentLegend)}</text>`);
  return out;
}

/** Text offsets come from graph.ts (TEXT), where the layout places labels and geometry.ts checks them. */
export function toSvg(r: ExplainReport, graph: Graph = buildGraph(r), path?: PathEmphasis): string {
  const W = Math.ceil(Math.max(graph.width, path ? textWidth(path.caption, 12, true) + 24 : 0));
  const H = Math.ceil(graph.height) + 40 + (path ? CAPTION_H : 0);
  const out = svgHeader(r, W, H, path);
  graph.edges.forEach((e, i) => {
    out.push(...dimmed(path, path?.edges.has(i) ?? true, svgWire(e, path?.edges.has(i) ?? false)));
  });
  for (const n of graph.nodes) out.push(...dimmed(path, path?.nodes.has(n.id) ?? true, svgNode(n, path?.nodes.has(n.id) ?? false)));
  out.push(...svgLegend(graph, H, path));
  out.push("</svg>");
  return out.join("\n") + "\n";
}

function tex(s: string): string {
  return s
    .replace(/\\/g, "\\textbackslash{}")
    .replace(/([#$%&_{}])/g, "\\$1")
    .replace(/\^/g, "\\textasciicircum{}")
    .replace(/~/g, "\\textasciitilde{}")
    .replace(/×/g, "$\\times$"); // array shapes (3×2): pdflatex's default fonts lack the character
}

/** Gate labels in math mode (they hold ×, ÷, −, ^ and numbers). */
function texGate(s: string): string {
  const m = s
    .replace(/σ/g, "\\sigma ")
    .replace(/×/g, "\\times ")
    .replace(/÷/g, "\\div ")
    .replace(/−/g, "-")
    .replace(/π/g, "\\pi ")
    .replace(/ᵀ/g, "^{\\top}")
    .replace(/\^(\S+)/, "^{$1}")
    .replace(/\^$/, "^{\\square}");
  // A power gate (^2) needs a base in math mode, or only a raised 2 is printed: \square^{2}, like 2^{\square}.
  if (m.startsWith("^")) return `\\square${m}`;
  return /^[a-z]{2,}$/.test(s) ? `\\mathrm{${s}}` : m;
}

/** TikZ coordinates of the figure (cm, y up) and how a part on or off a drawn path looks. */
interface TikzPlace {
  X: (x: number) => string;
  Y: (y: number) => string;
  look: (on: boolean, thick: string) => string;
}

export function toTikz(r: ExplainReport, graph: Graph = buildGraph(r), path?: PathEmphasis): string {
  const s = 0.02; // cm per SVG unit
  const X = (x: number) => (x * s).toFixed(2);
  const Y = (y: number) => ((graph.height - y) * s).toFixed(2);
  const lines: string[] = [
    "\\documentclass[tikz,border=6pt]{standalone}",
    "\\usetikzlibrary{arrows.meta}",
    // Local derivatives are written in LaTeX with \\mathbb (relu's 1[z > 0]) and \\operatorname (sign).
    "\\usepackage{amsmath,amssymb}",
    `\\definecolor{fwd}{HTML}{${FORWARD_COLOR.slice(1)}}`,
    `\\definecolor{bwd}{HTML}{${BACKWARD_COLOR.slice(1)}}`,
    `\\definecolor{stage}{HTML}{${STAGE_COLOR.slice(1)}}`,
    ...(path ? [`\\definecolor{path}{HTML}{${PATH_COLOR.slice(1)}}`] : []),
    "\\begin{document}",
    `% Computational graph of ${tex(r.source.trim()).replace(/\n/g, " ")}`,
    "\\begin{tikzpicture}[>={Stealth[length=2mm]}, font=\\small]",
  ];
  // With a path drawn (--path), what is on it is thick and coloured, the rest faint.
  const look = (on: boolean, thick: string): string => (!path ? "" : on ? (thick ? `, ${thick}` : "") : `, opacity=${DIMMED}`);
  const place: TikzPlace = { X, Y, look };
  for (const n of graph.nodes) lines.push(...tikzNode(n, path?.nodes.has(n.id) ?? true, place));
  graph.edges.forEach((e, i) => lines.push(...tikzWire(e, path?.edges.has(i) ?? true, place)));
  if (path)
    lines.push(
      `  \\node[anchor=north west, path, font=\\small\\bfseries] at (0,${Y(graph.height + 4)}) {${tex(path.caption).replace(/→/g, "$\\to$").replace(/·/g, "$\\cdot$")}};`,
    );
  lines.push("\\end{tikzpicture}", "\\end{document}", "");
  return lines.join("\n");
}

function tikzNode(n: GraphNode, on: boolean, { X, Y, look }: TikzPlace): string[] {
  const lines: string[] = [];
  const o = look(on, "draw=path, very thick");
  if (n.kind === "output") lines.push(`  \\node[anchor=west] at (${X(n.x)},${Y(n.y)}) {$${tex(n.label)}$};`);
  else if (n.kind === "input")
    lines.push(
      `  \\node[draw, rounded corners, fill=black!5${o}, minimum width=${(n.r * 0.4).toFixed(1)}mm, minimum height=${(n.h * 0.2).toFixed(1)}mm] (${n.id}) at (${X(n.x)},${Y(n.y)}) {$${tex(n.label)}$};`,
    );
  else {
    lines.push(
      `  \\node[draw, circle${o}, minimum size=${(n.r * 0.4).toFixed(1)}mm, inner sep=0pt] (${n.id}) at (${X(n.x)},${Y(n.y)}) {$${texGate(n.label)}$};`,
    );
    lines.push(`  \\node[stage${look(on, "")}, font=\\bfseries\\footnotesize, above=0.5mm] at (${n.id}.north) {${tex(n.id)}};`);
  }
  if (n.sum) lines.push(`  \\node[bwd, font=\\scriptsize, below=0.5mm] at (${n.id}.south) {$\\Sigma$ ${tex(n.sum)}};`);
  return lines;
}

function tikzWire(e: GraphEdge, on: boolean, { X, Y, look }: TikzPlace): string[] {
  const lines: string[] = [];
  const o = look(on, "path, very thick");
  const faint = o.startsWith(", opacity") ? o : "";
  const grad = e.computed ? `node[below, bwd] {${tex(e.grad)}}` : `node[below, gray, font=\\scriptsize\\itshape] {not computed}`;
  const p = e.points;
  const route = p
    .map((pt, i) =>
      i === 0
        ? `(${X(pt.x)},${Y(pt.y)})`
        : e.route === "orthogonal"
          ? `-- (${X(pt.x)},${Y(pt.y)})`
          : `.. controls (${X((p[i - 1].x + pt.x) / 2)},${Y(p[i - 1].y)}) and (${X((p[i - 1].x + pt.x) / 2)},${Y(pt.y)}) .. (${X(pt.x)},${Y(pt.y)})`,
    )
    .join(" ");
  lines.push(`  \\draw[->${o}] ${route};`);
  lines.push(`  \\path${faint ? `[${faint.slice(2)}]` : ""} (${X(e.label.x)},${Y(e.label.y)}) node[above, fwd] {${tex(e.value)}} ${grad};`);
  // Where the SVG draws its grey ∂ label: the text ends at localAt, its baseline TEXT.localAbove above.
  if (e.localLatex)
    lines.push(
      `  \\node[anchor=base east, gray${faint}, font=\\scriptsize, inner sep=0pt] at (${X(e.localAt.x)},${Y(e.localAt.y - TEXT.localAbove)}) {$\\partial\\, ${e.localLatex}$};`,
    );
  return lines;
}

function dotId(id: string): string {
  return `"${id.replace(/"/g, '\\"')}"`;
}

function html(s: string): string {
  return xml(s);
}

export function toDot(r: ExplainReport, graph: Graph = buildGraph(r)): string {
  const lines = [
    "digraph backprop {",
    "  rankdir=LR;",
    '  node [fontname="DejaVu Sans"];',
    '  edge [fontname="DejaVu Sans", fontsize=11];',
    `  label=${dotId(`${r.source.trim()}: forward values (green) above, gradients (blue) below`)}; labelloc=b; fontsize=10;`,
  ];
  for (const n of graph.nodes) {
    if (n.kind === "output") lines.push(`  ${dotId(n.id)} [shape=plaintext, label=${dotId(n.label)}];`);
    else if (n.kind === "input") lines.push(`  ${dotId(n.id)} [shape=box, style="rounded,filled", fillcolor="#f3f4f6", label=${dotId(n.label)}];`);
    else
      lines.push(
        `  ${dotId(n.id)} [shape=circle, label=${dotId(n.label)}, xlabel=<<font color="${STAGE_COLOR}"><b>${html(n.id)}</b></font>>, tooltip=${dotId(n.title)}];`,
      );
  }
  for (const e of graph.edges) {
    const grad = e.computed ? `<font color="${BACKWARD_COLOR}">${html(e.grad)}</font>` : `<font color="${MUTED}"><i>not computed</i></font>`;
    // Abbreviated labels carry the full values in the label's tooltip (SVG output of Graphviz).
    const full =
      e.valueFull !== e.value || (e.computed && e.gradFull !== e.grad)
        ? `, labeltooltip=${dotId(`${e.valueFull} / ${e.computed ? e.gradFull : "not computed"}`)}`
        : "";
    lines.push(`  ${dotId(e.from)} -> ${dotId(e.to)} [label=<<font color="${FORWARD_COLOR}">${html(e.value)}</font><br/>${grad}>${full}];`);
  }
  lines.push("}", "");
  return lines.join("\n");
}

function mermaidText(s: string): string {
  return s.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}

export function toMermaid(r: ExplainReport, graph: Graph = buildGraph(r)): string {
  const id = (s: string) => `n_${s}`;
  const lines = ["flowchart LR"];
  for (const n of graph.nodes) {
    if (n.kind === "output") lines.push(`  ${id(n.id)}["${mermaidText(n.label)}"]`);
    else if (n.kind === "input") lines.push(`  ${id(n.id)}["${mermaidText(n.label)}"]`);
    else lines.push(`  ${id(n.id)}(("${mermaidText(`${n.id}: ${n.label}`)}"))`);
  }
  for (const e of graph.edges) {
    lines.push(`  ${id(e.from)} -->|"${mermaidText(e.value)} / ${mermaidText(e.computed ? e.grad : "not computed")}"| ${id(e.to)}`);
  }
  lines.push(`  classDef output fill:none,stroke:none;`, `  class ${id(outputId(r))} output;`);
  lines.push(`%% wire labels: forward value / gradient`);
  return lines.join("\n") + "\n";
}
