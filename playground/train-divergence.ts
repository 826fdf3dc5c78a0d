// When training has diverged, and what to tell the student. A fresh 10-class network starts near
// ln 10 = 2.3; in our runs a learning rate that is too large (2 and up, with momentum 0.9) first sends
// the loss to 7-10 times that, and only then settles at chance (9.8%) with dead units: so a spike is
// the signal to stop at, before the run "finishes" at chance.

/** How many times the first step's loss counts as exploding. Learning rates that train (0.5 and below)
 * stay under 2 times; lr = 1 peaks near 1.7 times. */
export const EXPLODE_FACTOR = 4;

export function diverged(loss: number, firstLoss: number): boolean {
  return !Number.isFinite(loss) || loss > EXPLODE_FACTOR * firstLoss;
}

/** The loss of guessing: cross-entropy of the uniform distribution over 10 classes, ln 10 = 2.30. */
export const CHANCE_LOSS = Math.log(10);
/** Some runs die without exploding: the MLP at lr 1-1.2 (momentum 0.9, seed 0) spikes to 2.7-3.9 times the first
 * loss, under EXPLODE_FACTOR, then sits at chance for good (11% test accuracy). Runs that train stay far from
 * chance after their spike (the CNN at lr 0.1 spikes to 2.4 times, then averages 1.15 over the next 60 steps). So:
 * a spike above this factor... */
export const SPIKE_FACTOR = 1.5;
/** ...then this many steps in a row whose mean loss is within 10% of chance. A slow learner (a tiny rate) has no
 * spike; the healthy runs measured average 1.7 or less over any 60 steps after theirs. */
export const STUCK_STEPS = 60;

/** Watches a run's losses for a spike followed by a loss stuck at chance: the units have died. */
export class ChanceWatch {
  private first = NaN;
  private peak = -Infinity;
  private peakStep = 0;
  private readonly recent: number[] = [];
  private sum = 0;
  private step = 0;

  /** The next step's loss; the spike (its loss and step) once the run has been stuck at chance, else null. */
  push(loss: number): { peak: number; peakStep: number } | null {
    this.step++;
    if (this.step === 1) this.first = loss;
    if (loss > this.peak) [this.peak, this.peakStep] = [loss, this.step];
    this.recent.push(loss);
    this.sum += loss;
    if (this.recent.length > STUCK_STEPS) this.sum -= this.recent.shift()!;
    const stuck = this.recent.length === STUCK_STEPS && this.sum / STUCK_STEPS > 0.9 * CHANCE_LOSS;
    // The spike must come before the window, or the window is still the spike's own recovery.
    const spiked = this.peak > SPIKE_FACTOR * this.first && this.peakStep <= this.step - STUCK_STEPS;
    return stuck && spiked ? { peak: this.peak, peakStep: this.peakStep } : null;
  }
}

/** The sentence shown when training stopped on divergence; `goodLr` is a rate that trains the model in question
 * well. With `stuck` (ChanceWatch's spike), the loss did not explode: it spiked, then stayed at chance. */
export function divergenceMessage(step: number, loss: number, firstLoss: number, lr: number, goodLr = 0.1, stuck?: { peak: number; peakStep: number }): string {
  const what = stuck
    ? `the loss jumped to ${short(stuck.peak)} at step ${stuck.peakStep} (from ${short(firstLoss)} at the start) and has stayed at chance (ln 10 = 2.30, a guess) for the last ${STUCK_STEPS} steps, to step ${step}: the network has stopped learning`
    : Number.isFinite(loss)
      ? `the loss exploded at step ${step} (${short(loss)}, up from ${short(firstLoss)} at the start)`
      : `the loss became ${loss} at step ${step}`;
  const suggestion = lr > goodLr ? `${goodLr} trains well` : `try ${Number((lr / 10).toPrecision(2))}`;
  return `Training stopped: ${what}. The learning rate ${lr} is too large: lower it (${suggestion}) and train again.`;
}

/** Three significant digits, grouped: 162,000 rather than 1.62e+5. */
const short = (x: number): string => x.toLocaleString("en", { maximumSignificantDigits: 3 });
