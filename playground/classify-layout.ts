// The Classify tab's page: the form, the run bar (reset, play, step, the epoch), the network beside the
// output (the boundary map, an error line, the summary and the loss curve).
import { el } from "./classify-dom.js";

/** The elements the tab writes to or listens to, outside the form. */
export interface Layout {
  resetBtn: HTMLButtonElement;
  playBtn: HTMLButtonElement;
  stepBtn: HTMLButtonElement;
  epochOut: HTMLOutputElement;
  /** The network diagram: neuron canvases over an SVG of the weights. */
  net: HTMLDivElement;
  inspectBox: HTMLDivElement;
  board: HTMLCanvasElement;
  summary: HTMLParagraphElement;
  problem: HTMLParagraphElement;
  curve: HTMLCanvasElement;
}

type RunBar = Pick<Layout, "resetBtn" | "playBtn" | "stepBtn" | "epochOut">;

function runBar(): { bar: HTMLElement } & RunBar {
  const bar = el("div", { class: "cl-bar", role: "group", "aria-label": "Training" });
  const resetBtn = el("button", { type: "button", id: "cl-reset" }, "↺ Reset");
  const playBtn = el("button", { type: "button", id: "cl-play", "aria-pressed": "false" }, "▶ Play");
  const stepBtn = el("button", { type: "button", id: "cl-step" }, "Step one epoch");
  const epochOut = el("output", { id: "cl-epoch", "aria-live": "off" }, "Epoch 0");
  bar.append(resetBtn, playBtn, stepBtn, epochOut);
  return { bar, resetBtn, playBtn, stepBtn, epochOut };
}

function networkBox(): { netBox: HTMLElement } & Pick<Layout, "net" | "inspectBox"> {
  const netBox = el("div", { class: "cl-network" });
  const netHelp = el(
    "p",
    { class: "cl-note", id: "cl-net-help" },
    "Each neuron shows its output over the plane; lines are weights (blue positive, orange negative, thicker larger). Click or press Enter on a weight to see its gradient, staged in the Explain tab.",
  );
  const net = el("div", { class: "cl-net", id: "cl-net" });
  const inspectBox = el("div", { id: "cl-inspect", class: "cl-inspect", "aria-live": "polite" }, "No weight chosen yet.");
  netBox.append(el("h2", {}, "Network"), netHelp, el("div", { class: "cl-net-scroll", tabindex: "-1" }), inspectBox);
  netBox.querySelector(".cl-net-scroll")!.append(net);
  return { netBox, net, inspectBox };
}

function outputBox(): { outBox: HTMLElement } & Pick<Layout, "board" | "summary" | "problem" | "curve"> {
  const outBox = el("div", { class: "cl-output" });
  const board = el("canvas", {
    id: "cl-board",
    width: "360",
    height: "360",
    tabindex: "0",
    role: "img",
    "aria-label":
      "Decision boundary: the network's P(blue) as colour over the plane, with the points. Click, or move the cross with the arrow keys and press Enter, to add a point.",
    "aria-describedby": "cl-summary",
  });
  const summary = el("p", { id: "cl-summary", class: "cl-summary" });
  const problem = el("p", { id: "cl-error", class: "error", role: "alert" });
  problem.hidden = true;
  const curve = el("canvas", {
    id: "cl-curve",
    width: "360",
    height: "90",
    role: "img",
    "aria-label": "Loss per epoch: train (dark) and test (grey)",
    "aria-describedby": "cl-summary",
  });
  outBox.append(el("h2", {}, "Output"), board, problem, summary, curve);
  return { outBox, board, summary, problem, curve };
}

/** Fills the panel: an introduction, the form, the run bar, then the network beside the output. */
export function buildLayout(panel: HTMLElement, form: HTMLFormElement): Layout {
  const { bar, ...run } = runBar();
  const { netBox, ...network } = networkBox();
  const { outBox, ...output } = outputBox();
  const main = el("div", { class: "cl-main" });
  main.append(netBox, outBox);
  panel.replaceChildren(
    el(
      "p",
      { class: "cl-intro" },
      "Train a small network to separate two classes of points (or fit a value: Problem, Regression), watch the boundary form, and open any weight's gradient in the explainer.",
    ),
    form,
    bar,
    main,
  );
  return { ...run, ...network, ...output };
}
