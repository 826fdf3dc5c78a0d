// The Classify tab's per-layer widths, as TensorFlow Playground has them: a − and a + button for each
// hidden layer (1 to 8 neurons each). The widths live in an array of the deepest network's length, so a
// layer that is removed and added again comes back with its width.
import { el } from "./classify-dom.js";

export const MAX_DEPTH = 4;
export const WIDTH_RANGE = [1, 8] as const;

export interface LayerWidths {
  /** The row of − n + groups, one per hidden layer now in use. */
  box: HTMLElement;
  /** Each possible hidden layer's width (MAX_DEPTH of them). */
  widths: number[];
}

export function newLayerWidths(initial: number): LayerWidths {
  return {
    box: el("div", { class: "cl-layers", id: "cl-layers", role: "group", "aria-label": "Neurons in each hidden layer" }),
    widths: Array(MAX_DEPTH).fill(initial),
  };
}

/** Draws one − n + group per hidden layer, the buttons disabled at the range's ends. */
export function renderLayerWidths(lw: LayerWidths, depth: number): void {
  const [lo, hi] = WIDTH_RANGE;
  lw.box.replaceChildren();
  if (depth === 0) lw.box.append(el("span", { class: "cl-note" }, "No hidden layers"));
  for (let k = 0; k < depth; k++) {
    const n = lw.widths[k];
    const less = el(
      "button",
      { type: "button", class: "cl-layer-less", "data-layer": String(k), "data-delta": "-1", "aria-label": `Fewer neurons in layer ${k + 1}` },
      "−",
    );
    const more = el(
      "button",
      { type: "button", class: "cl-layer-more", "data-layer": String(k), "data-delta": "1", "aria-label": `More neurons in layer ${k + 1}` },
      "+",
    );
    less.disabled = n <= lo;
    more.disabled = n >= hi;
    const group = el("span", { class: "cl-layer" });
    group.append(el("span", {}, `Layer ${k + 1}: `), less, el("output", { id: `cl-layer-${k + 1}-width`, "aria-live": "polite" }, String(n)), more);
    lw.box.append(group);
  }
}

/** A click on a − or + button: steps its layer's width within the range; false when nothing changed (a click elsewhere). */
export function stepLayerWidth(lw: LayerWidths, target: EventTarget | null): boolean {
  const b = target instanceof HTMLElement ? target.closest<HTMLButtonElement>("button[data-layer]") : null;
  if (!b || b.disabled) return false;
  const k = Number(b.dataset.layer);
  const next = Math.max(WIDTH_RANGE[0], Math.min(WIDTH_RANGE[1], lw.widths[k] + Number(b.dataset.delta)));
  if (next === lw.widths[k]) return false;
  lw.widths[k] = next;
  return true;
}
