// The Classify tab: TensorFlow Playground's 2-D classification on our engine, plus the gradients. The page
// holds the points and the settings; classify-worker.ts trains and sends frames, drawn here as the decision
// boundary under the points, each hidden neuron's map, the weights as lines and a small loss curve. A click
// on a weight asks the worker for its gradient on one example and opens the same example in the Explain tab.
// The parts: the form (classify-controls.ts), the page (classify-layout.ts), the map (classify-board.ts), the
// diagram (classify-network.ts), the curve (classify-curve.ts), the chosen weight (classify-inspect.ts), what
// the controls do (classify-events.ts), all sharing one ClassifyTab (classify-tab.ts).
import "./classify.css";
import { drawBoard, listenBoard } from "./classify-board.js";
import { buildControls } from "./classify-controls.js";
import { drawCurve } from "./classify-curve.js";
import { fmt, pct } from "./classify-dom.js";
import { listenControls } from "./classify-events.js";
import { showInspection, listenWeights } from "./classify-inspect.js";
import { buildLayout } from "./classify-layout.js";
import { drawNet } from "./classify-network.js";
import type { ClassifyMessage, ClassifyRequest, Frame } from "./classify-protocol.js";
import { newState, regenerate, reset, setPlaying, type ClassifyHost, type ClassifyTab } from "./classify-tab.js";

export type { ClassifyHost } from "./classify-tab.js";

/** The epoch, the losses and accuracies in words (and as data-* for tests). */
function showSummary({ ui, state: s }: ClassifyTab, f: Frame): void {
  ui.epochOut.textContent = `Epoch ${f.epoch} · ${f.steps} steps`;
  const points = s.trainPts.length + s.mine.length;
  // Regression has no accuracy: its loss is the mean squared error.
  const reg = f.problem === "regression";
  const test =
    f.testLoss === null ? "no test points" : reg ? `test loss ${fmt(f.testLoss)}` : `test loss ${fmt(f.testLoss)}, test accuracy ${pct(f.testAccuracy!)}`;
  const train = reg ? `Train loss (mean squared error) ${fmt(f.trainLoss)}` : `Train loss ${fmt(f.trainLoss)}, train accuracy ${pct(f.trainAccuracy)}`;
  ui.summary.textContent = `${train}; ${test}. ${points} training points (${s.mine.length} yours), ${s.testPts.length} test points.`;
  Object.assign(ui.summary.dataset, {
    epoch: String(f.epoch),
    steps: String(f.steps),
    trainLoss: String(f.trainLoss),
    testLoss: String(f.testLoss),
    trainAccuracy: String(f.trainAccuracy),
    testAccuracy: String(f.testAccuracy),
    points: String(points),
  });
}

function showFrame(tab: ClassifyTab, f: Frame): void {
  tab.state.last = f;
  if (!f.playing && tab.state.playing) setPlaying(tab, false);
  drawBoard(tab, f);
  drawCurve(tab.ui.curve, f);
  drawNet(tab, f);
  showSummary(tab, f);
}

function onMessage(tab: ClassifyTab, m: ClassifyMessage): void {
  if (m.type === "frame") showFrame(tab, m);
  else if (m.type === "inspect") showInspection(tab, m);
  else {
    setPlaying(tab, false);
    tab.ui.problem.textContent = `Training stopped: ${m.message}. Lower the learning rate and press Reset.`;
    tab.ui.problem.hidden = false;
  }
}

/** The network is laid out for the room it has: again when that changes (the tab shown, a window resized). */
function observeRoom(tab: ClassifyTab): void {
  const box = tab.ui.net.parentElement!;
  let room = 0;
  new ResizeObserver(() => {
    const now = box.clientWidth;
    if (!tab.state.last || now === room || now === 0) return;
    room = now;
    tab.state.built = "";
    drawNet(tab, tab.state.last);
  }).observe(box);
}

export function setupClassify(host: ClassifyHost): void {
  const panel = document.getElementById("panel-classify")!;
  const worker = new Worker(new URL("./classify-worker.ts", import.meta.url), { type: "module" });
  const controls = buildControls();
  const tab: ClassifyTab = {
    controls,
    ui: buildLayout(panel, controls.form),
    state: newState(),
    send: (m: ClassifyRequest) => worker.postMessage(m),
    host,
  };
  listenControls(tab);
  listenBoard(tab);
  listenWeights(tab);
  worker.onmessage = (e: MessageEvent<ClassifyMessage>) => onMessage(tab, e.data);
  observeRoom(tab);
  regenerate(tab);
  reset(tab);
}
