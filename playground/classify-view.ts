// The Classify tab: TensorFlow Playground's 2-D classification on our engine, plus the gradients. The page
// holds the points and the settings; classify-worker.ts trains and sends frames, drawn here as the decision
// boundary under the points, each hidden neuron's map, the weights as lines and a small loss curve. A click
// on a weight asks the worker for its gradient on one example and opens the same example in the Explain tab.
import "./classify.css";
import { DATA_SETS, DOMAIN, FEATURES, makeData, split, type DataSetName, type FeatureName, type Point } from "./classify-data.js";
import { explainProgram, weightName } from "./classify-explain.js";
import type { ClassifyActivation, ClassifyMessage, ClassifyOptimizer, ClassifyRequest, Frame, Inspection, NetConfig } from "./classify-protocol.js";

const COUNT = 300;
const LEARNING_RATES = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3];
const L2S = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1];
/** Orange (class 0, or −1 for a neuron) and blue (class 1, +1), TensorFlow Playground's colours. */
const ORANGE = [245, 147, 34] as const;
const BLUE = [8, 119, 189] as const;
const NODE = 40;
/** Widest gap between the columns; narrower where the page is (a phone), down to MIN_GAP. */
const COL_GAP = 70;
const MIN_GAP = 26;
const ROW_GAP = 50;
/** Room left of the inputs and right of the outputs for their names, and above the columns for captions. */
const LABEL_W = 58;
const TOP = 22;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
const svgEl = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>) => {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
};
const fmt = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(3) : v.toExponential(2));
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

/** A value in [-1, 1] as a colour: orange at −1, near white at 0, blue at +1. */
function colour(v: number, out: Uint8ClampedArray, at: number): void {
  const t = Math.max(-1, Math.min(1, v));
  const c = t < 0 ? ORANGE : BLUE;
  const a = Math.abs(t) * 0.85;
  for (let k = 0; k < 3; k++) out[at + k] = Math.round(255 * (1 - a) + c[k] * a);
  out[at + 3] = 255;
}

/** Paints a res × res map of values in [-1, 1] onto a canvas, scaled up smoothly. */
function paintMap(canvas: HTMLCanvasElement, values: ArrayLike<number>, res: number, scale = (v: number) => v): void {
  const small = document.createElement("canvas");
  small.width = small.height = res;
  const sctx = small.getContext("2d")!;
  const img = sctx.createImageData(res, res);
  for (let i = 0; i < res * res; i++) colour(scale(values[i]), img.data, 4 * i);
  sctx.putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d")!;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
}

/** What the tab asks of the page: showing a program in the Explain tab. */
export interface ClassifyHost {
  openInExplain(program: string, at: string): void;
}

export function setupClassify(host: ClassifyHost): void {
  const panel = document.getElementById("panel-classify")!;
  const worker = new Worker(new URL("./classify-worker.ts", import.meta.url), { type: "module" });
  const send = (m: ClassifyRequest) => worker.postMessage(m);

  // ---- controls ----
  const controls = el("form", { class: "cl-controls", autocomplete: "off" });
  controls.addEventListener("submit", (e) => e.preventDefault());
  const field = (legend: string, ...children: HTMLElement[]) => {
    const fs = el("fieldset");
    fs.append(el("legend", {}, legend), ...children);
    controls.append(fs);
    return fs;
  };
  const labelled = (text: string, input: HTMLElement) => {
    const l = el("label", {}, text + " ");
    l.append(input);
    return l;
  };
  const select = (id: string, options: readonly (string | number)[], value: string | number, names?: (o: string | number) => string) => {
    const s = el("select", { id });
    for (const o of options) s.append(el("option", { value: String(o) }, names ? names(o) : String(o)));
    s.value = String(value);
    return s;
  };
  const dataSel = select(
    "cl-dataset",
    DATA_SETS,
    "xor",
    (o) => ({ xor: "XOR", circles: "Circles", spiral: "Spiral", blobs: "Gaussian blobs" })[o as DataSetName],
  );
  const noise = el("input", { id: "cl-noise", type: "range", min: "0", max: "50", step: "5", value: "0" });
  const noiseOut = el("output", { for: "cl-noise" }, "0%");
  const ratio = el("input", { id: "cl-test", type: "range", min: "10", max: "90", step: "10", value: "50" });
  const ratioOut = el("output", { for: "cl-test" }, "50%");
  const regen = el("button", { type: "button", id: "cl-regen" }, "New points");
  const clickClass = el("div", { class: "cl-radio", role: "radiogroup", "aria-label": "A click on the map adds a point of class" });
  for (const [v, name] of [
    ["0", "orange"],
    ["1", "blue"],
  ]) {
    const input = el("input", { type: "radio", name: "cl-class", id: `cl-class-${name}`, value: v });
    if (v === "1") input.checked = true;
    const l = el("label", { for: input.id, class: `cl-swatch cl-${name}` }, name);
    clickClass.append(input, l);
  }
  const clearMine = el("button", { type: "button", id: "cl-clear" }, "Remove my points");
  const showTest = el("input", { type: "checkbox", id: "cl-show-test" });
  const discrete = el("input", { type: "checkbox", id: "cl-discrete" });
  field(
    "Data",
    labelled("Data set", dataSel),
    wrap(labelled("Noise", noise), noiseOut),
    wrap(labelled("Test points", ratio), ratioOut),
    labelled("Show test points", showTest),
    labelled("Discretize the output", discrete),
    regen,
    wrap(el("span", { class: "cl-note", id: "cl-class-note" }, "Clicks add:"), clickClass),
    clearMine,
  );
  const featureBoxes = FEATURES.map((f) => {
    const box = el("input", { type: "checkbox", id: `cl-f-${FEATURES.indexOf(f)}`, value: f });
    box.checked = f === "x1" || f === "x2";
    return box;
  });
  const featureGroup = el("div", { class: "cl-features", role: "group", "aria-label": "Input features" });
  featureBoxes.forEach((b) => featureGroup.append(wrap(b, el("label", { for: b.id }, b.value))));
  const width = el("input", { id: "cl-width", type: "number", min: "1", max: "8", value: "4" });
  const depth = el("input", { id: "cl-depth", type: "number", min: "0", max: "4", value: "2" });
  const act = select("cl-activation", ["tanh", "relu", "sigmoid"], "tanh");
  field("Network", featureGroup, labelled("Neurons per layer", width), labelled("Hidden layers", depth), labelled("Activation", act));
  const opt = select("cl-optimizer", ["sgd", "adam"], "sgd", (o) => (o === "sgd" ? "SGD" : "Adam"));
  const lr = select("cl-lr", LEARNING_RATES, 0.03);
  const l2 = select("cl-l2", L2S, 0);
  const batch = el("input", { id: "cl-batch", type: "number", min: "1", max: "64", value: "10" });
  field("Learning", labelled("Optimizer", opt), labelled("Learning rate", lr), labelled("L2 strength", l2), labelled("Batch size", batch));

  // ---- the run bar, the network and the output ----
  const bar = el("div", { class: "cl-bar", role: "group", "aria-label": "Training" });
  const resetBtn = el("button", { type: "button", id: "cl-reset" }, "↺ Reset");
  const playBtn = el("button", { type: "button", id: "cl-play", "aria-pressed": "false" }, "▶ Play");
  const stepBtn = el("button", { type: "button", id: "cl-step" }, "Step one epoch");
  const epochOut = el("output", { id: "cl-epoch", "aria-live": "off" }, "Epoch 0");
  bar.append(resetBtn, playBtn, stepBtn, epochOut);

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

  const main = el("div", { class: "cl-main" });
  main.append(netBox, outBox);
  panel.replaceChildren(
    el(
      "p",
      { class: "cl-intro" },
      "Train a small network to separate two classes of points, watch the boundary form, and open any weight's gradient in the explainer.",
    ),
    controls,
    bar,
    main,
  );

  // ---- state ----
  let seed = 1;
  let netSeed = 1;
  let generated: Point[] = [];
  let trainPts: Point[] = [];
  let testPts: Point[] = [];
  const mine: Point[] = [];
  let last: Frame | null = null;
  let playing = false;
  let cursor = { x: 0, y: 0 };
  let cursorShown = false;
  let built = "";

  const chosenFeatures = (): FeatureName[] => {
    const f = featureBoxes.filter((b) => b.checked).map((b) => b.value as FeatureName);
    return f.length ? f : ["x1"];
  };
  const intIn = (input: HTMLInputElement, lo: number, hi: number, fallback: number) => {
    const v = Math.round(Number(input.value));
    return Number.isFinite(v) && input.value !== "" ? Math.max(lo, Math.min(hi, v)) : fallback;
  };
  const config = (): NetConfig => ({
    features: chosenFeatures(),
    hidden: Array.from({ length: intIn(depth, 0, 4, 2) }, () => intIn(width, 1, 8, 4)),
    activation: act.value as ClassifyActivation,
    optimizer: opt.value as ClassifyOptimizer,
    lr: Number(lr.value),
    l2: Number(l2.value),
    batch: intIn(batch, 1, 64, 10),
    seed: netSeed,
  });
  const regenerate = () => {
    generated = makeData({ name: dataSel.value as DataSetName, count: COUNT, noise: Number(noise.value) / 100, seed });
    ({ train: trainPts, test: testPts } = split(generated, Number(ratio.value) / 100, seed));
  };
  const setPlaying = (on: boolean) => {
    playing = on;
    playBtn.textContent = on ? "❚❚ Pause" : "▶ Play";
    playBtn.setAttribute("aria-pressed", String(on));
  };
  const reset = () => {
    problem.hidden = true;
    setPlaying(false);
    send({ type: "pause" });
    send({ type: "reset", net: config(), train: [...trainPts, ...mine], test: testPts });
  };

  // ---- events ----
  const freshData = () => {
    regenerate();
    reset();
  };
  dataSel.addEventListener("change", () => ((mine.length = 0), freshData()));
  noise.addEventListener("input", () => ((noiseOut.textContent = `${noise.value}%`), freshData()));
  ratio.addEventListener("input", () => ((ratioOut.textContent = `${ratio.value}%`), freshData()));
  regen.addEventListener("click", () => (seed++, freshData()));
  showTest.addEventListener("change", () => last && drawBoard(last));
  discrete.addEventListener("change", () => last && drawBoard(last));
  clearMine.addEventListener("click", () => {
    mine.length = 0;
    send({ type: "data", train: trainPts, test: testPts });
  });
  featureBoxes.forEach((b) =>
    b.addEventListener("change", () => {
      // The network needs an input: the last feature cannot be unchecked.
      if (!featureBoxes.some((x) => x.checked)) b.checked = true;
    }),
  );
  // Numbers out of range are shown as the value used.
  [width, depth, batch].forEach((input) =>
    input.addEventListener("change", () => {
      const [lo, hi, d] = input === width ? [1, 8, 4] : input === depth ? [0, 4, 2] : [1, 64, 10];
      input.value = String(intIn(input, lo, hi, d));
    }),
  );
  [...featureBoxes, width, depth, act].forEach((c) => c.addEventListener("change", reset));
  [opt, lr, l2, batch].forEach((c) => c.addEventListener("change", () => send({ type: "learning", net: config() })));
  resetBtn.addEventListener("click", () => (netSeed++, reset()));
  playBtn.addEventListener("click", () => {
    setPlaying(!playing);
    send({ type: playing ? "play" : "pause" });
  });
  stepBtn.addEventListener("click", () => {
    setPlaying(false);
    send({ type: "pause" });
    send({ type: "step", epochs: 1 });
  });

  const addPoint = (x: number, y: number) => {
    const label = (document.getElementById("cl-class-orange") as HTMLInputElement).checked ? 0 : 1;
    mine.push({ x, y, label });
    board.dataset.mine = String(mine.length);
    send({ type: "data", train: [...trainPts, ...mine], test: testPts });
  };
  board.addEventListener("click", (e) => {
    const r = board.getBoundingClientRect();
    addPoint(-DOMAIN + ((e.clientX - r.left) / r.width) * 2 * DOMAIN, DOMAIN - ((e.clientY - r.top) / r.height) * 2 * DOMAIN);
  });
  board.addEventListener("keydown", (e) => {
    const d = 0.5;
    const moves: Record<string, [number, number]> = { ArrowLeft: [-d, 0], ArrowRight: [d, 0], ArrowUp: [0, d], ArrowDown: [0, -d] };
    if (e.key in moves) {
      const [dx, dy] = moves[e.key];
      cursor = { x: Math.max(-DOMAIN, Math.min(DOMAIN, cursor.x + dx)), y: Math.max(-DOMAIN, Math.min(DOMAIN, cursor.y + dy)) };
    } else if (e.key === "Enter" || e.key === " ") addPoint(cursor.x, cursor.y);
    else return;
    e.preventDefault();
    cursorShown = true;
    if (last) drawBoard(last);
  });
  board.addEventListener("blur", () => {
    cursorShown = false;
    if (last) drawBoard(last);
  });

  // ---- drawing ----
  function drawBoard(f: Frame): void {
    paintMap(board, f.output, f.res, discrete.checked ? (p) => (p >= 0.5 ? 1 : -1) : (p) => 2 * p - 1);
    const ctx = board.getContext("2d")!;
    const px = (x: number) => ((x + DOMAIN) / (2 * DOMAIN)) * board.width;
    const py = (y: number) => ((DOMAIN - y) / (2 * DOMAIN)) * board.height;
    const dot = (p: Point, ring: string, r = 4) => {
      ctx.beginPath();
      ctx.arc(px(p.x), py(p.y), r, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${(p.label ? BLUE : ORANGE).join(",")})`;
      ctx.fill();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = ring;
      ctx.stroke();
    };
    trainPts.forEach((p) => dot(p, "#fff"));
    if (showTest.checked) testPts.forEach((p) => dot(p, "#111"));
    mine.forEach((p) => dot(p, "#111", 5.5));
    if (cursorShown) {
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 1.5;
      const [cx, cy] = [px(cursor.x), py(cursor.y)];
      ctx.beginPath();
      ctx.moveTo(cx - 8, cy);
      ctx.lineTo(cx + 8, cy);
      ctx.moveTo(cx, cy - 8);
      ctx.lineTo(cx, cy + 8);
      ctx.stroke();
    }
    board.dataset.frame = String(Number(board.dataset.frame ?? 0) + 1);
  }

  function drawCurve(f: Frame): void {
    const ctx = curve.getContext("2d")!;
    const { width: w, height: h } = curve;
    ctx.clearRect(0, 0, w, h);
    const hist = f.history;
    const max = Math.max(0.1, ...hist.map((e) => Math.max(e.train, e.test ?? 0)).filter(Number.isFinite));
    ctx.font = "11px sans-serif";
    ctx.fillStyle = "#4b5563";
    ctx.fillText(`loss (0 to ${max.toFixed(2)}) over ${hist.length - 1} epochs: train dark, test grey`, 4, 11);
    const line = (get: (e: (typeof hist)[number]) => number | null, stroke: string) => {
      ctx.strokeStyle = stroke;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      hist.forEach((e, i) => {
        const v = get(e);
        if (v === null) return;
        const x = hist.length < 2 ? 0 : (i / (hist.length - 1)) * (w - 2) + 1;
        const y = h - 2 - (Math.min(v, max) / max) * (h - 18);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
    };
    line((e) => e.test, "#9ca3af");
    line((e) => e.train, "#111827");
  }

  /** The network's layout: neuron maps as canvases over an SVG of the weights; rebuilt when its shape changes. */
  function buildNet(f: Frame): void {
    const sizes = [f.weights[0].inputs, ...f.weights.map((l) => l.outputs)];
    const chosenFeatureNames = chosenFeatures();
    const names = (layer: number, i: number) =>
      layer === 0 ? chosenFeatureNames[i] : layer === sizes.length - 1 ? (i === 1 ? "logit blue" : "logit orange") : `h${layer}.${i + 1}`;
    const rows = Math.max(...sizes);
    const room = net.parentElement!.clientWidth || 600; // 0 while the tab is hidden
    const gap = Math.max(MIN_GAP, Math.min(COL_GAP, Math.floor((room - 2 * LABEL_W - sizes.length * NODE) / Math.max(1, sizes.length - 1))));
    const W = 2 * LABEL_W + sizes.length * NODE + (sizes.length - 1) * gap;
    const H = TOP + rows * ROW_GAP;
    const pos = (layer: number, i: number) => ({ x: LABEL_W + layer * (NODE + gap), y: TOP + (rows - sizes[layer]) * (ROW_GAP / 2) + i * ROW_GAP });
    net.replaceChildren();
    net.style.width = `${W}px`;
    net.style.height = `${H}px`;
    const svg = svgEl("svg", { width: String(W), height: String(H), class: "cl-weights" });
    f.weights.forEach((l, k) => {
      for (let i = 0; i < l.inputs; i++)
        for (let j = 0; j < l.outputs; j++) {
          const a = pos(k, i);
          const b = pos(k + 1, j);
          const d = `M${a.x + NODE},${a.y + NODE / 2} C${a.x + NODE + gap / 2},${a.y + NODE / 2} ${b.x - gap / 2},${b.y + NODE / 2} ${b.x},${b.y + NODE / 2}`;
          const g = svgEl("g", { class: "cl-weight", "data-layer": String(k), "data-from": String(i), "data-to": String(j) });
          const seen = svgEl("path", { d, class: "cl-w" });
          const hit = svgEl("path", {
            d,
            class: "cl-hit",
            tabindex: "0",
            role: "button",
            "aria-label": `weight ${weightName(k)}[${j + 1},${i + 1}] from ${names(k, i)} to ${names(k + 1, j)}`,
          });
          const title = svgEl("title", {});
          hit.append(title);
          g.append(seen, hit);
          svg.append(g);
        }
    });
    net.append(svg);
    sizes.forEach((n, layer) => {
      for (let i = 0; i < n; i++) {
        const p = pos(layer, i);
        const c = el("canvas", {
          width: String(NODE),
          height: String(NODE),
          class: "cl-node",
          role: "img",
          "aria-label": layer === sizes.length - 1 ? `output ${i ? "blue" : "orange"} over the plane` : `${names(layer, i)} over the plane`,
          "data-layer": String(layer),
          "data-index": String(i),
        });
        c.style.left = `${p.x}px`;
        c.style.top = `${p.y}px`;
        net.append(c);
        if (layer === 0 || layer === sizes.length - 1) {
          const first = layer === 0;
          const label = el(
            "span",
            { class: `cl-node-label ${first ? "cl-in" : "cl-out"}`, "aria-hidden": "true" },
            first ? chosenFeatureNames[i] : i ? "blue" : "orange",
          );
          label.style.left = `${first ? p.x - LABEL_W : p.x + NODE + 4}px`;
          label.style.top = `${p.y + NODE / 2}px`;
          net.append(label);
        }
      }
      const caption = el(
        "span",
        { class: "cl-caption", "aria-hidden": "true" },
        layer === 0 ? "features" : layer === sizes.length - 1 ? "output" : `layer ${layer}`,
      );
      caption.style.left = `${pos(layer, 0).x + NODE / 2}px`;
      net.append(caption);
    });
  }

  /** Input features' maps never change; they are drawn from the grid itself. */
  function inputMap(name: FeatureName, res: number): Float32Array {
    const out = new Float32Array(res * res);
    for (let r = 0; r < res; r++)
      for (let c = 0; c < res; c++) {
        const x = -DOMAIN + ((c + 0.5) * 2 * DOMAIN) / res;
        const y = DOMAIN - ((r + 0.5) * 2 * DOMAIN) / res;
        const v = {
          x1: x / DOMAIN,
          x2: y / DOMAIN,
          "x1²": (x * x) / 18 - 1,
          "x2²": (y * y) / 18 - 1,
          x1x2: (x * y) / 18,
          "sin(x1)": Math.sin(x),
          "sin(x2)": Math.sin(y),
        }[name];
        out[r * res + c] = v;
      }
    return out;
  }

  function drawNet(f: Frame): void {
    const shape = JSON.stringify([chosenFeatures(), f.weights.map((l) => [l.inputs, l.outputs])]);
    if (shape !== built) {
      buildNet(f);
      built = shape;
      chosenFeatures().forEach((name, i) =>
        paintMap(net.querySelector<HTMLCanvasElement>(`canvas[data-layer="0"][data-index="${i}"]`)!, inputMap(name, f.res), f.res),
      );
    }
    const activation = act.value;
    f.neurons.forEach((layer, k) =>
      layer.forEach((values, i) => {
        const c = net.querySelector<HTMLCanvasElement>(`canvas[data-layer="${k + 1}"][data-index="${i}"]`);
        if (!c) return;
        let max = 1e-6;
        if (activation === "relu") for (const v of values) max = Math.max(max, v);
        paintMap(c, values, f.res, activation === "sigmoid" ? (v) => 2 * v - 1 : activation === "relu" ? (v) => v / max : (v) => v);
      }),
    );
    const out = net.querySelectorAll<HTMLCanvasElement>(`canvas[data-layer="${f.weights.length}"]`);
    out.forEach((c, i) => paintMap(c, f.output, f.res, (p) => (i === 1 ? 2 * p - 1 : 1 - 2 * p)));
    const maxW = Math.max(1e-6, ...f.weights.flatMap((l) => l.W.map(Math.abs)));
    net.querySelectorAll<SVGGElement>("g.cl-weight").forEach((g) => {
      const l = f.weights[Number(g.dataset.layer)];
      const w = l.W[Number(g.dataset.from) * l.outputs + Number(g.dataset.to)];
      const path = g.firstChild as SVGPathElement;
      path.setAttribute("stroke", `rgb(${(w >= 0 ? BLUE : ORANGE).join(",")})`);
      path.setAttribute("stroke-width", String(0.5 + 4.5 * Math.min(1, Math.abs(w) / maxW)));
      g.lastChild!.firstChild!.textContent = `${g.lastElementChild!.getAttribute("aria-label")} = ${fmt(w)}`;
    });
  }

  function showFrame(f: Frame): void {
    last = f;
    if (!f.playing && playing) setPlaying(false);
    drawBoard(f);
    drawCurve(f);
    drawNet(f);
    epochOut.textContent = `Epoch ${f.epoch} · ${f.steps} steps`;
    const test = f.testLoss === null ? "no test points" : `test loss ${fmt(f.testLoss)}, test accuracy ${pct(f.testAccuracy!)}`;
    summary.textContent = `Train loss ${fmt(f.trainLoss)}, train accuracy ${pct(f.trainAccuracy)}; ${test}. ${trainPts.length + mine.length} training points (${mine.length} yours), ${testPts.length} test points.`;
    Object.assign(summary.dataset, {
      epoch: String(f.epoch),
      steps: String(f.steps),
      trainLoss: String(f.trainLoss),
      testLoss: String(f.testLoss),
      trainAccuracy: String(f.trainAccuracy),
      testAccuracy: String(f.testAccuracy),
      points: String(trainPts.length + mine.length),
    });
  }

  // A weight chosen: the worker answers with its gradient on one example; the Explain tab gets that example.
  net.addEventListener("click", (e) => {
    const g = (e.target as Element).closest<SVGGElement>("g.cl-weight");
    if (g) chooseWeight(g);
  });
  net.addEventListener("keydown", (e) => {
    const g = (e.target as Element).closest<SVGGElement>("g.cl-weight");
    if (g && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      chooseWeight(g);
    }
  });
  function chooseWeight(g: SVGGElement): void {
    setPlaying(false);
    send({ type: "pause" });
    net.querySelectorAll("g.cl-weight.chosen").forEach((x) => x.classList.remove("chosen"));
    g.classList.add("chosen");
    send({ type: "inspect", layer: Number(g.dataset.layer), from: Number(g.dataset.from), to: Number(g.dataset.to) });
  }

  function showInspection(m: Inspection): void {
    const name = `${weightName(m.layer)}[${m.to + 1},${m.from + 1}]`;
    const cls = m.example.label ? "blue" : "orange";
    inspectBox.replaceChildren(
      el("strong", {}, `${name} = ${fmt(m.weight)}`),
      document.createTextNode(` · ∂L/∂${name} = `),
      el("strong", { id: "cl-gradient" }, fmt(m.gradient)),
      document.createTextNode(
        ` on the training point (${m.example.x.toFixed(2)}, ${m.example.y.toFixed(2)}), class ${cls}, the one the network gets most wrong now (L is its cross-entropy; L2 is not included). ` +
          `Training is paused. The Explain tab stages this example's forward and backward pass: row ${m.to + 1}, column ${m.from + 1} of ∂L/∂${weightName(m.layer)} is this weight's gradient.`,
      ),
    );
    const again = el("button", { type: "button", id: "cl-open-explain" }, "Open in the Explain tab again");
    again.addEventListener("click", () => openExplain(m));
    inspectBox.append(" ", again);
    Object.assign(inspectBox.dataset, { layer: String(m.layer), from: String(m.from), to: String(m.to), gradient: String(m.gradient) });
    openExplain(m);
  }

  /** Shows the example's program in the Explain tab (which switches to it). */
  function openExplain(m: Inspection): void {
    const p = explainProgram(m.weights, act.value as ClassifyActivation, chosenFeatures(), m.example);
    host.openInExplain(p.expr, p.at);
  }

  worker.onmessage = (e: MessageEvent<ClassifyMessage>) => {
    const m = e.data;
    if (m.type === "frame") showFrame(m);
    else if (m.type === "inspect") showInspection(m);
    else {
      setPlaying(false);
      problem.textContent = `Training stopped: ${m.message}. Lower the learning rate and press Reset.`;
      problem.hidden = false;
    }
  };
  // The network is laid out for the room it has: again when that changes (the tab shown, a window resized).
  let room = 0;
  new ResizeObserver(() => {
    const now = net.parentElement!.clientWidth;
    if (!last || now === room || now === 0) return;
    room = now;
    built = "";
    drawNet(last);
  }).observe(net.parentElement!);
  regenerate();
  reset();
}

function wrap(...children: (HTMLElement | string)[]): HTMLElement {
  const s = document.createElement("span");
  s.className = "cl-pair";
  s.append(...children);
  return s;
}
