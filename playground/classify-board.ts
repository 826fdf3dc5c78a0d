// The Classify tab's map: the network's P(blue) over the plane under the points (train, test, the
// reader's own), a cross the arrow keys move, and points added by a click or Enter.
import { DOMAIN, type Point } from "./classify-data.js";
import { BLUE, ORANGE, colourCss, paintMap } from "./classify-paint.js";
import type { Frame } from "./classify-protocol.js";
import type { ClassifyTab } from "./classify-tab.js";

/** The keyboard's cross, 8 px each way. */
function drawCross(ctx: CanvasRenderingContext2D, cx: number, cy: number): void {
  ctx.strokeStyle = "#111";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  ctx.moveTo(cx - 8, cy);
  ctx.lineTo(cx + 8, cy);
  ctx.moveTo(cx, cy - 8);
  ctx.lineTo(cx, cy + 8);
  ctx.stroke();
}

export function drawBoard({ controls, ui: { board }, state: s }: ClassifyTab, f: Frame): void {
  // Regression: the predicted value itself, a continuous heat map (discretized: its sign).
  const reg = f.problem === "regression";
  const shade = reg ? (v: number) => v : (p: number) => 2 * p - 1;
  paintMap(board, f.output, f.res, controls.discrete.checked ? (p) => (shade(p) >= 0 ? 1 : -1) : shade);
  const ctx = board.getContext("2d")!;
  const px = (x: number) => ((x + DOMAIN) / (2 * DOMAIN)) * board.width;
  const py = (y: number) => ((DOMAIN - y) / (2 * DOMAIN)) * board.height;
  const dot = (p: Point, ring: string, r = 4) => {
    ctx.beginPath();
    ctx.arc(px(p.x), py(p.y), r, 0, 2 * Math.PI);
    ctx.fillStyle = reg && p.value !== undefined ? colourCss(p.value) : `rgb(${(p.label ? BLUE : ORANGE).join(",")})`;
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = ring;
    ctx.stroke();
  };
  s.trainPts.forEach((p) => dot(p, "#fff"));
  if (controls.showTest.checked) s.testPts.forEach((p) => dot(p, "#111"));
  s.mine.forEach((p) => dot(p, "#111", 5.5));
  if (s.cursorShown) drawCross(ctx, px(s.cursor.x), py(s.cursor.y));
  board.dataset.frame = String(Number(board.dataset.frame ?? 0) + 1);
}

/** A point of the class chosen in the form, trained on from now on. */
function addPoint({ controls, ui, state: s, send }: ClassifyTab, x: number, y: number): void {
  if (controls.problem.value === "regression") return;
  const label = (document.getElementById("cl-class-orange") as HTMLInputElement).checked ? 0 : 1;
  s.mine.push({ x, y, label });
  ui.board.dataset.mine = String(s.mine.length);
  send({ type: "data", train: [...s.trainPts, ...s.mine], test: s.testPts });
}

/** Arrow keys move the cross half a unit; Enter or Space adds a point there. */
function onKey(tab: ClassifyTab, e: KeyboardEvent): void {
  const s = tab.state;
  const d = 0.5;
  const moves: Record<string, [number, number]> = { ArrowLeft: [-d, 0], ArrowRight: [d, 0], ArrowUp: [0, d], ArrowDown: [0, -d] };
  if (e.key in moves) {
    const [dx, dy] = moves[e.key];
    s.cursor = { x: Math.max(-DOMAIN, Math.min(DOMAIN, s.cursor.x + dx)), y: Math.max(-DOMAIN, Math.min(DOMAIN, s.cursor.y + dy)) };
  } else if (e.key === "Enter" || e.key === " ") addPoint(tab, s.cursor.x, s.cursor.y);
  else return;
  e.preventDefault();
  s.cursorShown = true;
  if (s.last) drawBoard(tab, s.last);
}

export function listenBoard(tab: ClassifyTab): void {
  const board = tab.ui.board;
  board.addEventListener("click", (e) => {
    const r = board.getBoundingClientRect();
    addPoint(tab, -DOMAIN + ((e.clientX - r.left) / r.width) * 2 * DOMAIN, DOMAIN - ((e.clientY - r.top) / r.height) * 2 * DOMAIN);
  });
  board.addEventListener("keydown", (e) => onKey(tab, e));
  board.addEventListener("blur", () => {
    tab.state.cursorShown = false;
    if (tab.state.last) drawBoard(tab, tab.state.last);
  });
}
