// Small DOM helpers shared by the Classify tab's modules: elements with attributes, and its number formats.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export const svgEl = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string>) => {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
};

/** Children side by side (a control and its value, a box and its label). */
export function wrap(...children: (HTMLElement | string)[]): HTMLElement {
  const s = document.createElement("span");
  s.className = "cl-pair";
  s.append(...children);
  return s;
}

export const fmt = (v: number) => (Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(3) : v.toExponential(2));
export const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
