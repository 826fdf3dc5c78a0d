// The Classify tab's form: the data, the network and how it learns, built as fieldsets, and read back as
// the worker's NetConfig (numbers out of range read as the nearest allowed value).
import { DATA_SETS, FEATURES, REGRESSION_SETS, type DataSetName, type FeatureName } from "./classify-data.js";
import { el, wrap } from "./classify-dom.js";
import { newLayerWidths, renderLayerWidths, type LayerWidths } from "./classify-layers.js";
import type { ClassifyActivation, ClassifyOptimizer, ClassifyProblem, ClassifyRegularization, NetConfig } from "./classify-protocol.js";

const LEARNING_RATES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3];
const RATES = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1];
/** The number boxes' range and the value used when one is empty: [lowest, highest, default]. */
export const LIMITS = { width: [1, 8, 4], depth: [0, 4, 2], batch: [1, 64, 10] } as const;

/** Every control of the form, for the tab to read and listen to. */
export interface Controls {
  form: HTMLFormElement;
  problem: HTMLSelectElement;
  dataSel: HTMLSelectElement;
  noise: HTMLInputElement;
  noiseOut: HTMLOutputElement;
  ratio: HTMLInputElement;
  ratioOut: HTMLOutputElement;
  regen: HTMLButtonElement;
  clearMine: HTMLButtonElement;
  showTest: HTMLInputElement;
  discrete: HTMLInputElement;
  featureBoxes: HTMLInputElement[];
  width: HTMLInputElement;
  depth: HTMLInputElement;
  /** Each hidden layer's own width (its − and + buttons); "Neurons per layer" sets them all at once. */
  layers: LayerWidths;
  act: HTMLSelectElement;
  opt: HTMLSelectElement;
  lr: HTMLSelectElement;
  reg: HTMLSelectElement;
  rate: HTMLSelectElement;
  batch: HTMLInputElement;
}

const labelled = (text: string, input: HTMLElement) => {
  const l = el("label", {}, text + " ");
  l.append(input);
  return l;
};

function select(id: string, options: readonly (string | number)[], value: string | number, names?: (o: string | number) => string): HTMLSelectElement {
  const s = el("select", { id });
  for (const o of options) s.append(el("option", { value: String(o) }, names ? names(o) : String(o)));
  s.value = String(value);
  return s;
}

function fieldset(form: HTMLFormElement, legend: string, ...children: HTMLElement[]): void {
  const fs = el("fieldset");
  fs.append(el("legend", {}, legend), ...children);
  form.append(fs);
}

/** The class a click on the map adds: orange or blue (blue at first). */
function clickClassGroup(): HTMLElement {
  const group = el("div", { class: "cl-radio", role: "radiogroup", "aria-label": "A click on the map adds a point of class" });
  for (const [v, name] of [
    ["0", "orange"],
    ["1", "blue"],
  ]) {
    const input = el("input", { type: "radio", name: "cl-class", id: `cl-class-${name}`, value: v });
    if (v === "1") input.checked = true;
    const l = el("label", { for: input.id, class: `cl-swatch cl-${name}` }, name);
    group.append(input, l);
  }
  return group;
}

type DataControls = Pick<Controls, "problem" | "dataSel" | "noise" | "noiseOut" | "ratio" | "ratioOut" | "regen" | "clearMine" | "showTest" | "discrete">;

const DATA_NAMES: Record<DataSetName, string> = {
  xor: "XOR",
  circles: "Circles",
  spiral: "Spiral",
  blobs: "Gaussian blobs",
  plane: "Plane",
  gaussians: "Multi-Gaussian",
};

/** The data set menu holds the problem's sets: the first is chosen. */
export function fillDataSets(c: Pick<Controls, "problem" | "dataSel">): void {
  const sets = c.problem.value === "regression" ? REGRESSION_SETS : DATA_SETS;
  c.dataSel.replaceChildren(...sets.map((o) => el("option", { value: o }, DATA_NAMES[o])));
  c.dataSel.value = sets[0];
}

function dataFieldset(form: HTMLFormElement): DataControls {
  const names = DATA_NAMES;
  const c: DataControls = {
    problem: select("cl-problem", ["classification", "regression"], "classification", (o) => (o === "classification" ? "Classification" : "Regression")),
    dataSel: select("cl-dataset", DATA_SETS, "xor", (o) => names[o as DataSetName]),
    noise: el("input", { id: "cl-noise", type: "range", min: "0", max: "50", step: "5", value: "0" }),
    noiseOut: el("output", { for: "cl-noise" }, "0%"),
    ratio: el("input", { id: "cl-test", type: "range", min: "10", max: "90", step: "10", value: "50" }),
    ratioOut: el("output", { for: "cl-test" }, "50%"),
    regen: el("button", { type: "button", id: "cl-regen" }, "New points"),
    clearMine: el("button", { type: "button", id: "cl-clear" }, "Remove my points"),
    showTest: el("input", { type: "checkbox", id: "cl-show-test" }),
    discrete: el("input", { type: "checkbox", id: "cl-discrete" }),
  };
  fieldset(
    form,
    "Data",
    labelled("Problem", c.problem),
    labelled("Data set", c.dataSel),
    wrap(labelled("Noise", c.noise), c.noiseOut),
    wrap(labelled("Test points", c.ratio), c.ratioOut),
    labelled("Show test points", c.showTest),
    labelled("Discretize the output", c.discrete),
    c.regen,
    wrap(el("span", { class: "cl-note", id: "cl-class-note" }, "Clicks add:"), clickClassGroup()),
    c.clearMine,
  );
  return c;
}

function networkFieldset(form: HTMLFormElement): Pick<Controls, "featureBoxes" | "width" | "depth" | "layers" | "act"> {
  const featureBoxes = FEATURES.map((f) => {
    const box = el("input", { type: "checkbox", id: `cl-f-${FEATURES.indexOf(f)}`, value: f });
    box.checked = f === "x1" || f === "x2";
    return box;
  });
  const featureGroup = el("div", { class: "cl-features", role: "group", "aria-label": "Input features" });
  featureBoxes.forEach((b) => featureGroup.append(wrap(b, el("label", { for: b.id }, b.value))));
  const width = el("input", { id: "cl-width", type: "number", min: "1", max: "8", value: "4" });
  const depth = el("input", { id: "cl-depth", type: "number", min: "0", max: "4", value: "2" });
  const act = select("cl-activation", ["tanh", "relu", "sigmoid", "linear"], "tanh");
  const layers = newLayerWidths(LIMITS.width[2]);
  renderLayerWidths(layers, LIMITS.depth[2]);
  fieldset(
    form,
    "Network",
    featureGroup,
    labelled("Hidden layers", depth),
    labelled("Neurons per layer (all)", width),
    layers.box,
    labelled("Activation", act),
  );
  return { featureBoxes, width, depth, layers, act };
}

function learningFieldset(form: HTMLFormElement): Pick<Controls, "opt" | "lr" | "reg" | "rate" | "batch"> {
  const opt = select("cl-optimizer", ["sgd", "adam"], "sgd", (o) => (o === "sgd" ? "SGD" : "Adam"));
  const lr = select("cl-lr", LEARNING_RATES, 0.03);
  const reg = select("cl-reg", ["none", "l1", "l2"], "none", (o) => (o === "none" ? "none" : String(o).toUpperCase()));
  const rate = select("cl-rate", RATES, 0.003);
  const batch = el("input", { id: "cl-batch", type: "number", min: "1", max: "64", value: "10" });
  fieldset(
    form,
    "Learning",
    labelled("Optimizer", opt),
    labelled("Learning rate", lr),
    labelled("Regularization", reg),
    labelled("Regularization rate", rate),
    labelled("Batch size", batch),
  );
  return { opt, lr, reg, rate, batch };
}

export function buildControls(): Controls {
  const form = el("form", { class: "cl-controls", autocomplete: "off" });
  form.addEventListener("submit", (e) => e.preventDefault());
  return { form, ...dataFieldset(form), ...networkFieldset(form), ...learningFieldset(form) };
}

/** The features checked (x1 if none is: the network needs an input). */
export function chosenFeatures(c: Controls): FeatureName[] {
  const f = c.featureBoxes.filter((b) => b.checked).map((b) => b.value as FeatureName);
  return f.length ? f : ["x1"];
}

/** A number box's value, rounded and clamped to [lo, hi]; the fallback when it is empty or not a number. */
export function intIn(input: HTMLInputElement, [lo, hi, fallback]: readonly [number, number, number]): number {
  const v = Math.round(Number(input.value));
  return Number.isFinite(v) && input.value !== "" ? Math.max(lo, Math.min(hi, v)) : fallback;
}

export function netConfig(c: Controls, seed: number): NetConfig {
  return {
    problem: c.problem.value as ClassifyProblem,
    features: chosenFeatures(c),
    hidden: c.layers.widths.slice(0, intIn(c.depth, LIMITS.depth)),
    activation: c.act.value as ClassifyActivation,
    optimizer: c.opt.value as ClassifyOptimizer,
    lr: Number(c.lr.value),
    regularization: c.reg.value as ClassifyRegularization,
    rate: Number(c.rate.value),
    batch: intIn(c.batch, LIMITS.batch),
    seed,
  };
}
