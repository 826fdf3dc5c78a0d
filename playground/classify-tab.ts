// The Classify tab's state, and the actions its parts share (play or pause, a fresh network, fresh
// points). One ClassifyTab object is passed to each part instead of closing over many variables.
import { makeData, split, type DataSetName, type Point } from "./classify-data.js";
import { netConfig, type Controls } from "./classify-controls.js";
import type { Layout } from "./classify-layout.js";
import type { ClassifyRequest, Frame } from "./classify-protocol.js";

const COUNT = 300;

/** What the tab asks of the page: showing a program in the Explain tab. */
export interface ClassifyHost {
  openInExplain(program: string, at: string): void;
}

export interface ClassifyState {
  /** The points' seed (New points advances it) and the network's (Reset advances it). */
  seed: number;
  netSeed: number;
  trainPts: Point[];
  testPts: Point[];
  /** Points added by clicks on the map, trained on with the generated ones. */
  mine: Point[];
  /** The last frame drawn, drawn again when a display option changes. */
  last: Frame | null;
  playing: boolean;
  /** The keyboard's cross on the map, shown while the map has focus and a key moved it. */
  cursor: { x: number; y: number };
  cursorShown: boolean;
  /** The shape the network diagram was laid out for ("" to lay it out again). */
  built: string;
}

export interface ClassifyTab {
  controls: Controls;
  ui: Layout;
  state: ClassifyState;
  send(m: ClassifyRequest): void;
  host: ClassifyHost;
}

export function newState(): ClassifyState {
  return { seed: 1, netSeed: 1, trainPts: [], testPts: [], mine: [], last: null, playing: false, cursor: { x: 0, y: 0 }, cursorShown: false, built: "" };
}

/** Draws the data set anew from the form and the seed, and splits it into train and test points. */
export function regenerate({ controls: c, state: s }: ClassifyTab): void {
  const generated = makeData({ name: c.dataSel.value as DataSetName, count: COUNT, noise: Number(c.noise.value) / 100, seed: s.seed });
  ({ train: s.trainPts, test: s.testPts } = split(generated, Number(c.ratio.value) / 100, s.seed));
}

export function setPlaying({ ui, state }: ClassifyTab, on: boolean): void {
  state.playing = on;
  ui.playBtn.textContent = on ? "❚❚ Pause" : "▶ Play";
  ui.playBtn.setAttribute("aria-pressed", String(on));
}

/** Stops training, in the page and in the worker. */
export function pause(tab: ClassifyTab): void {
  setPlaying(tab, false);
  tab.send({ type: "pause" });
}

/** A fresh network from the form, trained on the points as they are; a shown error goes. */
export function reset(tab: ClassifyTab): void {
  const s = tab.state;
  tab.ui.problem.hidden = true;
  pause(tab);
  tab.send({ type: "reset", net: netConfig(tab.controls, s.netSeed), train: [...s.trainPts, ...s.mine], test: s.testPts });
}
