// What the Classify tab's form and run bar do: new points, a fresh network or new learning settings sent
// to the worker, display options redrawn, and play, pause and step.
import { drawBoard } from "./classify-board.js";
import { LIMITS, fillDataSets, intIn, netConfig } from "./classify-controls.js";
import { renderLayerWidths, stepLayerWidth } from "./classify-layers.js";
import { pause, regenerate, reset, setPlaying, type ClassifyTab } from "./classify-tab.js";

/** The data set, its noise or its split changed, or New points: fresh points for a fresh network. */
function listenData(tab: ClassifyTab): void {
  const { controls: c, state: s } = tab;
  const freshData = () => {
    regenerate(tab);
    reset(tab);
  };
  c.dataSel.addEventListener("change", () => ((s.mine.length = 0), freshData()));
  // Regression: its own data sets, and clicks add no points (a point would need a value, not a class).
  c.problem.addEventListener("change", () => {
    fillDataSets(c);
    const reg = c.problem.value === "regression";
    document.getElementById("cl-class-note")!.textContent = reg ? "Clicks add no points in regression." : "Clicks add:";
    document.querySelectorAll<HTMLInputElement>('input[name="cl-class"]').forEach((x) => (x.disabled = reg));
    c.clearMine.disabled = reg;
    s.mine.length = 0;
    freshData();
  });
  c.noise.addEventListener("input", () => ((c.noiseOut.textContent = `${c.noise.value}%`), freshData()));
  c.ratio.addEventListener("input", () => ((c.ratioOut.textContent = `${c.ratio.value}%`), freshData()));
  c.regen.addEventListener("click", () => (s.seed++, freshData()));
  c.showTest.addEventListener("change", () => s.last && drawBoard(tab, s.last));
  c.discrete.addEventListener("change", () => s.last && drawBoard(tab, s.last));
  c.clearMine.addEventListener("click", () => {
    s.mine.length = 0;
    tab.send({ type: "data", train: s.trainPts, test: s.testPts });
  });
}

/** The network's shape changed: a fresh network; how it learns changed: the same network learns on. */
function listenNetwork(tab: ClassifyTab): void {
  const c = tab.controls;
  c.featureBoxes.forEach((b) =>
    b.addEventListener("change", () => {
      // The network needs an input: the last feature cannot be unchecked.
      if (!c.featureBoxes.some((x) => x.checked)) b.checked = true;
    }),
  );
  // Numbers out of range are shown as the value used.
  [c.width, c.depth, c.batch].forEach((input) =>
    input.addEventListener("change", () => {
      const limits = input === c.width ? LIMITS.width : input === c.depth ? LIMITS.depth : LIMITS.batch;
      input.value = String(intIn(input, limits));
    }),
  );
  // "Neurons per layer (all)" sets every layer's width; a layer's − or + sets its own.
  const redraw = () => renderLayerWidths(c.layers, intIn(c.depth, LIMITS.depth));
  c.width.addEventListener("change", () => (c.layers.widths.fill(intIn(c.width, LIMITS.width)), redraw()));
  c.depth.addEventListener("change", redraw);
  c.layers.box.addEventListener("click", (e) => {
    if (!stepLayerWidth(c.layers, e.target)) return;
    const k = Number((e.target as HTMLElement).closest<HTMLElement>("button[data-layer]")!.dataset.layer);
    redraw();
    // Keep the focus on the same button (the row was redrawn), or its partner when this end is reached.
    const again = c.layers.box.querySelector<HTMLButtonElement>(
      `button[data-layer="${k}"][data-delta="${(e.target as HTMLElement).closest<HTMLElement>("button")!.dataset.delta}"]`,
    );
    (again && !again.disabled ? again : c.layers.box.querySelector<HTMLButtonElement>(`button[data-layer="${k}"]:not([disabled])`))?.focus();
    reset(tab);
  });
  [...c.featureBoxes, c.width, c.depth, c.act].forEach((x) => x.addEventListener("change", () => reset(tab)));
  [c.opt, c.lr, c.reg, c.rate, c.batch].forEach((x) =>
    x.addEventListener("change", () => tab.send({ type: "learning", net: netConfig(c, tab.state.netSeed) })),
  );
}

function listenRunBar(tab: ClassifyTab): void {
  const { ui, state: s } = tab;
  ui.resetBtn.addEventListener("click", () => (s.netSeed++, reset(tab)));
  ui.playBtn.addEventListener("click", () => {
    setPlaying(tab, !s.playing);
    tab.send({ type: s.playing ? "play" : "pause" });
  });
  ui.stepBtn.addEventListener("click", () => {
    pause(tab);
    tab.send({ type: "step", epochs: 1 });
  });
}

export function listenControls(tab: ClassifyTab): void {
  listenData(tab);
  listenNetwork(tab);
  listenRunBar(tab);
}
