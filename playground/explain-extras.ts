// The Explain tab's gallery of the course's exercises (presets.ts) and its one-gradient-descent-step box.
import * as bp from "../src/index.js";
import type { StepDone } from "./explain-protocol.js";
import { JobRunner } from "./job-runner.js";
import { PRESETS, type Preset } from "./presets.js";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** One button per preset, its source named under its title; the course's exercises first, then the hazards. */
export function setupGallery(list: HTMLElement, open: (p: Preset) => void): void {
  const group = (title: string, presets: readonly Preset[]) => {
    const section = el("div", undefined, "gallery-group");
    const h = el("h2", title);
    h.id = `gallery-${title.toLowerCase().replace(/\W+/g, "-")}`;
    const ul = el("ul");
    ul.setAttribute("aria-labelledby", h.id);
    for (const p of presets) {
      const li = el("li");
      const b = el("button", undefined, p.hazard ? "preset hazard" : "preset");
      b.type = "button";
      b.dataset.preset = p.id;
      b.append(el("span", p.title, "preset-title"), el("span", p.source, "preset-source"));
      if (p.note) b.title = p.note;
      b.addEventListener("click", () => open(p));
      li.append(b);
      ul.append(li);
    }
    section.append(h, ul);
    return section;
  };
  list.replaceChildren(
    group(
      "Course exercises",
      PRESETS.filter((p) => !p.hazard),
    ),
    group(
      "Hazards",
      PRESETS.filter((p) => p.hazard),
    ),
  );
}

/** A value as the Input values box takes it back: full precision, arrays as nested lists. */
export function valueText(v: bp.ExplainReport["value"]): string {
  return typeof v === "number" ? String(v) : JSON.stringify(v);
}

export interface GradientStepParts {
  button: HTMLButtonElement;
  lr: HTMLInputElement;
  out: HTMLElement;
  /** The program and values of the result shown. */
  input(): { source: string; at: string };
  /** Explain at the new values (the button under the step's table). */
  explainAt(at: string): void;
  timeLimitMs: number;
}

/** The button runs one step `x ← x − lr · ∂out/∂x` in the worker and shows each input before and after, and the output at both. */
export function setupGradientStep(parts: GradientStepParts): void {
  const { out } = parts;
  const runner = new JobRunner(
    "step",
    {
      answer(a) {
        if (!a.ok) return void out.replaceChildren(el("p", a.error, "error-text"));
        show(a);
      },
      busy(on) {
        out.setAttribute("aria-busy", String(on));
      },
      timedOut(ms) {
        out.replaceChildren(el("p", `No answer after ${ms / 1000} s: the program is too large for a step here.`, "error-text"));
      },
    },
    parts.timeLimitMs,
  );
  parts.button.addEventListener("click", () => {
    const lr = Number(parts.lr.value);
    if (!Number.isFinite(lr) || parts.lr.value.trim() === "") {
      out.replaceChildren(el("p", "error: the step size must be a number, such as 0.1", "error-text"));
      return;
    }
    runner.run({ kind: "step", ...parts.input(), lr });
  });
  function show(a: StepDone): void {
    const table = el("table");
    table.id = "gd-table";
    const head = el("tr");
    for (const h of ["input", "value", "gradient", `value − ${a.lr} × gradient`]) {
      const th = el("th", h);
      th.scope = "col";
      head.append(th);
    }
    table.append(el("thead"), el("tbody"));
    table.tHead!.append(head);
    for (const u of a.updates) {
      const tr = el("tr");
      const th = el("th", u.name);
      th.scope = "row";
      const to = el("td", bp.fmtValue(u.to), "fwd");
      to.dataset.stepped = u.name;
      to.dataset.value = JSON.stringify(u.to);
      tr.append(th, el("td", bp.fmtValue(u.from), "fwd"), el("td", bp.fmtValue(u.grad), "bwd"), to);
      table.tBodies[0].append(tr);
    }
    const wrap = el("div", undefined, "scroll");
    wrap.tabIndex = 0;
    wrap.setAttribute("role", "region");
    wrap.setAttribute("aria-label", "The inputs after one gradient-descent step");
    wrap.append(table);
    const output = el("p", `${a.output}: ${bp.fmtValue(a.before)} → ${bp.fmtValue(a.after)} after the step`, "gd-output");
    output.dataset.before = JSON.stringify(a.before);
    output.dataset.after = JSON.stringify(a.after);
    const again = el("button", "Explain at the new values");
    again.type = "button";
    again.id = "gd-apply";
    again.addEventListener("click", () => parts.explainAt(a.updates.map((u) => `${u.name}=${valueText(u.to)}`).join(", ")));
    out.replaceChildren(wrap, output, again);
  }
}
