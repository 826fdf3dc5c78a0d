// The playground's entry: tabs, and the Explain tab. All user text is set with textContent or
// parsed as data; nothing from the inputs is ever evaluated or inserted as HTML.
import katex from "katex";
import "katex/dist/katex.min.css";
import * as bp from "../src/index.js";
import { playgroundErrorText } from "./errors.js";
import { GraphView } from "./graph-view.js";
import { setupTrain } from "./train-view.js";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

// ---- tabs ----
const tabs = [$("tab-explain"), $("tab-train")];
function selectTab(i: number): void {
  tabs.forEach((t, k) => {
    t.setAttribute("aria-selected", String(k === i));
    t.tabIndex = k === i ? 0 : -1;
    $(t.getAttribute("aria-controls")!).hidden = k !== i;
  });
  tabs[i].focus();
}
tabs.forEach((t, i) => {
  t.addEventListener("click", () => selectTab(i));
  t.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") selectTab((i + 1) % tabs.length);
  });
});

// ---- explain ----
const exprInput = $<HTMLTextAreaElement>("expr");
const atInput = $<HTMLInputElement>("at");
const errorBox = $("expr-error");
const result = $("result");
let current: { ex: bp.Explanation; svg: string; python: string; ts: string } | null = null;
let step = 0;
let codeLang: "python" | "ts" = "python";
const graphView = new GraphView($("graph"), { zoomIn: $("zoom-in"), zoomOut: $("zoom-out"), fit: $("zoom-fit") });

function latexOf(text: string): string {
  try {
    return bp.printExpr(bp.parseExpression(text), "latex");
  } catch {
    return `\\texttt{${text.replace(/[\\{}$&#^_%~]/g, "")}}`;
  }
}

function math(latex: string, display = false): HTMLElement {
  const span = el("span");
  katex.render(latex, span, { throwOnError: false, displayMode: display });
  return span;
}

function showError(message: string): void {
  errorBox.hidden = false;
  errorBox.querySelector("pre")!.textContent = message;
  result.hidden = true;
  exprInput.setAttribute("aria-invalid", "true");
}

function update(): void {
  const source = exprInput.value;
  const at = atInput.value;
  const params = new URLSearchParams({ expr: source, at });
  history.replaceState(null, "", `${location.pathname}?${params.toString()}`);
  if (source.trim() === "") {
    result.hidden = true;
    errorBox.hidden = true;
    return;
  }
  try {
    const given = bp.parseAssignments(at.trim() ? [at] : []);
    const ex = bp.explainAll(source, given, { check: true });
    const svg = bp.toSvg(ex.report);
    current = {
      ex,
      svg,
      python: bp.generateCode(ex, ex.report.inputs, "python"),
      ts: bp.generateCode(ex, ex.report.inputs, "ts"),
    };
  } catch (e) {
    current = null;
    showError(playgroundErrorText(e));
    return;
  }
  errorBox.hidden = true;
  exprInput.removeAttribute("aria-invalid");
  result.hidden = false;
  render();
}

function render(): void {
  if (!current) return;
  const r = current.ex.report;
  step = 2 * r.stages.length;
  // The SVG is parsed as XML data (no scripts run); user names in it were escaped when it was written.
  const doc = new DOMParser().parseFromString(current.svg, "image/svg+xml");
  const figure = $("graph");
  const svg = document.importNode(doc.documentElement, true) as Element as SVGSVGElement;
  figure.replaceChildren(svg);
  graphView.show(svg);
  const gradBody = $("gradients").querySelector("tbody")!;
  gradBody.replaceChildren(
    ...r.inputs.map((n) => {
      const tr = el("tr");
      tr.append(el("th", n), el("td", bp.fmtValue(r.inputValues[n]), "fwd"));
      const g = el("td", bp.fmtValue(r.gradients[n]), "bwd");
      g.dataset.grad = n;
      g.dataset.value = JSON.stringify(r.gradients[n]);
      tr.append(g);
      return tr;
    }),
  );
  const deriv = $("derivatives");
  deriv.replaceChildren();
  if (r.derivativesLatex) {
    for (const n of r.inputs) {
      const p = el("p");
      p.append(math(`\\frac{\\partial ${r.output}}{\\partial ${n}} = ${r.derivativesLatex[n]}`, true));
      deriv.append(p);
    }
  } else deriv.append(el("p", "Symbolic derivatives are shown for scalar programs of moderate size."));
  const check = $("check");
  check.replaceChildren(
    ...(r.check ?? []).map((c) => el("p", `${c.name}: backprop ${bp.fmtValue(c.analytic)}, central differences ${bp.fmtValue(c.numeric)}, relative error ${c.relError.toExponential(1)} — ${c.ok ? "ok" : "MISMATCH"}`)),
  );
  $("warnings").replaceChildren(...r.warnings.map((w) => el("p", `⚠ ${w}`, "warning")));
  renderCode();
  showStep();
}

function renderCode(): void {
  if (!current) return;
  $("code").querySelector("code")!.textContent = codeLang === "python" ? current.python : current.ts;
  $("show-python").setAttribute("aria-pressed", String(codeLang === "python"));
  $("show-ts").setAttribute("aria-pressed", String(codeLang === "ts"));
}

/** Step 0: inputs only; 1..n: forward through stage k; n+1..2n: backward, last stage first. */
function showStep(): void {
  if (!current) return;
  const r = current.ex.report;
  const n = r.stages.length;
  step = Math.max(0, Math.min(2 * n, step));
  const forwardDone = Math.min(step, n);
  const backwardDone = Math.max(0, step - n);
  const index = new Map(r.stages.map((s, i) => [s.name, i]));
  const known = (name: string) => (index.has(name) ? index.get(name)! < forwardDone : true);
  const flowed = (to: string) => (to === "__out" ? backwardDone > 0 : (index.get(to) ?? -1) >= n - backwardDone);
  const cur = step === 0 ? null : step <= n ? r.stages[step - 1] : r.stages[n - (step - n)];
  const svg = $("graph").querySelector("svg");
  if (svg) {
    svg.querySelectorAll<SVGElement>("text.fwd").forEach((t) => t.classList.toggle("hidden", !known(t.dataset.from ?? "")));
    svg.querySelectorAll<SVGElement>("text.bwd").forEach((t) => t.classList.toggle("hidden", t.classList.contains("sum") ? backwardDone < n : !flowed(t.dataset.to ?? "")));
    svg.querySelectorAll<SVGElement>("g.gate").forEach((g) => g.classList.toggle("current", !!cur && g.dataset.stage === cur.name));
    // Zoomed in, the view follows the stepping so the current stage is always on screen.
    const gate = svg.querySelector<SVGGElement>("g.gate.current");
    if (gate) graphView.reveal(gate);
  }
  const body = $("stages").querySelector("tbody")!;
  body.replaceChildren(
    ...r.stages.map((s, i) => {
      const tr = el("tr");
      if (cur && s.name === cur.name) tr.className = "current";
      tr.dataset.stage = s.name;
      const eq = el("td");
      eq.append(math(`${s.name} = ${latexOf(s.expression)}`));
      const value = el("td", i < forwardDone ? bp.fmtValue(s.value) : "", "fwd");
      if (i >= forwardDone) value.append(el("span", "pending", "pending"));
      const local = el("td");
      for (const [arg, d] of Object.entries(s.local)) {
        const line = el("div", undefined, "local");
        line.append(math(`\\frac{\\partial ${s.name}}{\\partial ${arg}} = ${latexOf(d)}`));
        local.append(line);
      }
      const grad = el("td", i >= n - backwardDone ? bp.fmtValue(s.grad) : "", "bwd");
      if (i < n - backwardDone) grad.append(el("span", "pending", "pending"));
      grad.dataset.stageGrad = s.name;
      tr.append(eq, value, local, grad);
      return tr;
    }),
  );
  // The expression text with the current stage's characters marked.
  const view = $("expr-view");
  const src = r.source;
  view.replaceChildren();
  if (cur?.span) {
    const [a, b] = cur.span;
    const mark = el("mark", src.slice(a, b));
    view.append(document.createTextNode(src.slice(0, a)), mark, document.createTextNode(src.slice(b)));
  } else view.textContent = src;
  const status = step === 0 ? "Start: only the inputs are known." : step <= n ? `Forward ${step}/${n}: ${cur!.equation} = ${bp.fmtValue(cur!.value)}` : `Backward ${step - n}/${n}: ${cur!.equation}, gradient ${bp.fmtValue(cur!.grad)}`;
  $("step-status").textContent = step === 2 * n ? `${status} (done)` : status;
}

function move(to: number): void {
  step = to;
  showStep();
}
$("step-reset").addEventListener("click", () => move(0));
$("step-prev").addEventListener("click", () => move(step - 1));
$("step-next").addEventListener("click", () => move(step + 1));
$("step-end").addEventListener("click", () => move(Number.MAX_SAFE_INTEGER));
document.addEventListener("keydown", (e) => {
  const t = e.target as HTMLElement;
  // Keys the graph used (arrows pan it while it is focused) are not steps.
  if (e.defaultPrevented) return;
  if (!current || $("panel-explain").hidden || t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.getAttribute("role") === "tab") return;
  if (e.key === "ArrowRight") move(step + 1);
  else if (e.key === "ArrowLeft") move(step - 1);
  else if (e.key === "Home") move(0);
  else if (e.key === "End") move(Number.MAX_SAFE_INTEGER);
  else return;
  e.preventDefault();
});
$("show-python").addEventListener("click", () => ((codeLang = "python"), renderCode()));
$("show-ts").addEventListener("click", () => ((codeLang = "ts"), renderCode()));

function download(name: string, data: Blob): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(data);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function svgToPng(svg: string): Promise<Blob> {
  const img = new Image();
  img.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width * 2;
  canvas.height = img.height * 2;
  const ctx = canvas.getContext("2d")!;
  ctx.scale(2, 2);
  ctx.drawImage(img, 0, 0);
  URL.revokeObjectURL(img.src);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("PNG export failed"))), "image/png"));
}

document.querySelectorAll<HTMLButtonElement>("[data-download]").forEach((b) =>
  b.addEventListener("click", async () => {
    if (!current) return;
    const kind = b.dataset.download;
    if (kind === "svg") download("graph.svg", new Blob([current.svg], { type: "image/svg+xml" }));
    else if (kind === "png") download("graph.png", await svgToPng(current.svg));
    else if (kind === "tikz") download("graph.tex", new Blob([bp.toTikz(current.ex.report)], { type: "text/x-tex" }));
    else if (kind === "python") download("backprop.py", new Blob([current.python], { type: "text/x-python" }));
    else if (kind === "ts") download("backprop.ts", new Blob([current.ts], { type: "text/plain" }));
  }),
);

let timer: ReturnType<typeof setTimeout> | undefined;
const schedule = () => {
  clearTimeout(timer);
  timer = setTimeout(update, 150);
};
exprInput.addEventListener("input", schedule);
atInput.addEventListener("input", schedule);

// State lives in the URL: ?expr=(x%2By)*z&at=x%3D1,y%3D3,z%3D2
const params = new URLSearchParams(location.search);
exprInput.value = params.get("expr") ?? "(ln(x) + sin(y))^2 + 4x";
atInput.value = params.get("at") ?? "x=e, y=pi/2, z=2";
update();
setupTrain();
