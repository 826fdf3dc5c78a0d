// A weight chosen in the Classify tab's diagram: training pauses, the worker answers with the weight's
// gradient on one example, shown under the diagram, and the Explain tab opens that same example.
import { chosenFeatures } from "./classify-controls.js";
import { el, fmt } from "./classify-dom.js";
import { explainProgram, weightName } from "./classify-explain.js";
import type { ClassifyActivation, Inspection } from "./classify-protocol.js";
import { pause, type ClassifyTab } from "./classify-tab.js";

function chooseWeight(tab: ClassifyTab, g: SVGGElement): void {
  pause(tab);
  tab.ui.net.querySelectorAll("g.cl-weight.chosen").forEach((x) => x.classList.remove("chosen"));
  g.classList.add("chosen");
  tab.send({ type: "inspect", layer: Number(g.dataset.layer), from: Number(g.dataset.from), to: Number(g.dataset.to) });
}

/** A click, or Enter or Space on a focused weight, chooses it. */
export function listenWeights(tab: ClassifyTab): void {
  const net = tab.ui.net;
  net.addEventListener("click", (e) => {
    const g = (e.target as Element).closest<SVGGElement>("g.cl-weight");
    if (g) chooseWeight(tab, g);
  });
  net.addEventListener("keydown", (e) => {
    const g = (e.target as Element).closest<SVGGElement>("g.cl-weight");
    if (g && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      chooseWeight(tab, g);
    }
  });
}

/** Shows the example's program in the Explain tab (which switches to it). */
function openExplain(tab: ClassifyTab, m: Inspection): void {
  const p = explainProgram(m.weights, tab.controls.act.value as ClassifyActivation, chosenFeatures(tab.controls), m.example, m.problem);
  tab.host.openInExplain(p.expr, p.at);
}

/** The worker's answer: the weight, its gradient and the example in words, and the Explain tab opened. */
export function showInspection(tab: ClassifyTab, m: Inspection): void {
  const inspectBox = tab.ui.inspectBox;
  const name = `${weightName(m.layer)}[${m.to + 1},${m.from + 1}]`;
  const reg = m.problem === "regression";
  const cls = reg ? `value ${fmt(m.example.value ?? 0)}` : `class ${m.example.label ? "blue" : "orange"}`;
  inspectBox.replaceChildren(
    el("strong", {}, `${name} = ${fmt(m.weight)}`),
    document.createTextNode(` · ∂L/∂${name} = `),
    el("strong", { id: "cl-gradient" }, fmt(m.gradient)),
    document.createTextNode(
      ` on the training point (${m.example.x.toFixed(2)}, ${m.example.y.toFixed(2)}), ${cls}, the one the network gets most wrong now (L is its ${reg ? "squared error" : "cross-entropy"}, the data loss alone: the L1/L2 penalty is not included). ` +
        `Training is paused. The Explain tab stages this example's forward and backward pass: row ${m.to + 1}, column ${m.from + 1} of ∂L/∂${weightName(m.layer)} is this weight's gradient.`,
    ),
  );
  const again = el("button", { type: "button", id: "cl-open-explain" }, "Open in the Explain tab again");
  again.addEventListener("click", () => openExplain(tab, m));
  inspectBox.append(" ", again);
  Object.assign(inspectBox.dataset, { layer: String(m.layer), from: String(m.from), to: String(m.to), gradient: String(m.gradient) });
  openExplain(tab, m);
}
