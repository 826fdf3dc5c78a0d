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

/** The sentence shown when training stopped on divergence; `goodLr` is a rate that trains the model in question well. */
export function divergenceMessage(step: number, loss: number, firstLoss: number, lr: number, goodLr = 0.1): string {
  const what = Number.isFinite(loss)
    ? `the loss exploded at step ${step} (${short(loss)}, up from ${short(firstLoss)} at the start)`
    : `the loss became ${loss} at step ${step}`;
  const suggestion = lr > goodLr ? `${goodLr} trains well` : `try ${Number((lr / 10).toPrecision(2))}`;
  return `Training stopped: ${what}. The learning rate ${lr} is too large: lower it (${suggestion}) and train again.`;
}

/** Three significant digits, grouped: 162,000 rather than 1.62e+5. */
const short = (x: number): string => x.toLocaleString("en", { maximumSignificantDigits: 3 });
