/**
 * The playground's Train tab in Debian's Chromium (playwright-core): the digits arrive compressed with a
 * progress bar, training shows steps/s and the time elapsed and keeps the page responsive, the plots have
 * axes, a huge learning rate stops with advice, a drawn digit gets ten probability bars, and disabled
 * buttons look disabled. Screenshots of the tab (desktop and phone) go to test-artifacts/playground/.
 */
import { describePlayground, SHOTS } from "./playground-harness.js";
import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { diverged, divergenceMessage } from "../playground/train-divergence.js";
import { niceTicks } from "../playground/train-plot.js";

const DIGITS = "/digits.bin.gzip";

describe("Train tab rules (no browser)", () => {
  it("a non-finite loss or one above 4 times the first is divergence; lr = 1's peak (1.7 times) is not", () => {
    assert.equal(diverged(NaN, 2.44), true);
    assert.equal(diverged(Infinity, 2.44), true);
    assert.equal(diverged(18.8, 2.44), true); // lr = 2, second step
    assert.equal(diverged(4.22, 2.44), false); // lr = 1, its highest loss
    assert.equal(diverged(0.3, 2.44), false);
  });

  it("the divergence message says what happened and to lower the learning rate", () => {
    assert.equal(
      divergenceMessage(2, 18.8, 2.44, 2),
      "Training stopped: the loss exploded at step 2 (18.8, up from 2.44 at the start). The learning rate 2 is too large: lower it (0.1 trains well) and train again.",
    );
    assert.match(divergenceMessage(2, 161543.2, 2.44, 1000), /^Training stopped: the loss exploded at step 2 \(162,000, up from 2.44 at the start\)\./);
    assert.equal(
      divergenceMessage(7, NaN, 2.3, 0.1),
      "Training stopped: the loss became NaN at step 7. The learning rate 0.1 is too large: lower it (try 0.01) and train again.",
    );
  });

  it("axis ticks step by 1, 2 or 5 times a power of ten; epochs only on whole numbers", () => {
    assert.deepEqual(niceTicks(375, 5), [0, 100, 200, 300]);
    assert.deepEqual(niceTicks(2.6, 4), [0, 1, 2]);
    assert.deepEqual(niceTicks(1, 4), [0, 0.5, 1]);
    assert.deepEqual(niceTicks(1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(3, 5, true), [0, 1, 2, 3]);
    assert.deepEqual(niceTicks(1, 5, true), [0, 1]);
    assert.deepEqual(niceTicks(0, 4), [0, 0.5, 1]); // an empty run still gets an axis
  });
});

// The digits are sent in 64 KB slices every 15 ms, so the progress bar is seen moving.
describePlayground("Train tab in Chromium", { throttle: { path: DIGITS, sliceBytes: 64 * 1024, everyMs: 15 } }, (pg) => {
  async function openTrain(query = "", viewport = { width: 1280, height: 800 }): Promise<Page> {
    const page = await pg.browser.newPage({ viewport });
    await page.goto(pg.base + query);
    await page.click("#tab-train");
    return page;
  }

  async function train(page: Page, settings: { lr?: string; epochs?: string; hidden?: string }): Promise<void> {
    for (const [id, value] of Object.entries(settings)) await page.fill(`#${id}`, value);
    await page.click("#train-start");
  }

  const steps = (page: Page) => page.evaluate(() => Number(document.getElementById("loss-plot")!.dataset.steps ?? 0));
  const waitSteps = (page: Page, n: number) =>
    page.waitForFunction((k) => Number(document.getElementById("loss-plot")!.dataset.steps ?? 0) >= k, n, { timeout: 120000 });

  it("loads the digits compressed with a progress bar, then trains showing steps/s, elapsed time and plots with axes", async (t: TestContext) => {
    const page = await openTrain();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    const warnings: string[] = [];
    page.on("console", (m) => void (m.type() === "warning" && warnings.push(m.text())));
    // Record the progress bar's values while it is shown (it is gone once training starts).
    await page.evaluate(() => {
      const bar = document.getElementById("digits-progress") as HTMLProgressElement;
      const seen: number[] = ((window as unknown as { progressSeen: number[] }).progressSeen = []);
      new MutationObserver(() => void (!bar.hidden && bar.hasAttribute("value") && seen.push(bar.value))).observe(bar, { attributes: true });
    });
    // Buttons before training: Stop is disabled and looks it.
    assert.equal(await page.isDisabled("#train-stop"), true);
    const look = (sel: string) =>
      page.$eval(sel, (b) => {
        const s = getComputedStyle(b);
        return { color: s.color, background: s.backgroundColor, border: s.borderStyle, cursor: s.cursor };
      });
    const enabled = await look("#train-start");
    const disabled = await look("#train-stop");
    assert.notEqual(disabled.color, enabled.color);
    assert.notEqual(disabled.border, enabled.border);
    assert.equal(disabled.cursor, "not-allowed");

    await train(page, { epochs: "1" });
    await page.waitForSelector("#digits-progress:not([hidden])");
    // The bytes so far, once the first slice has arrived.
    await page.waitForFunction(() => /^Loading the digits… \d\.\d of 1\.\d MB$/.test(document.getElementById("train-status")!.textContent ?? ""));
    await page.screenshot({ path: join(SHOTS, "train-loading.png") });
    // From the click on (the digits still loading, so the run cannot have ended): Train disabled, Stop enabled.
    assert.equal(await page.isDisabled("#train-start"), true);
    assert.equal(await page.isDisabled("#train-stop"), false);
    await waitSteps(page, 60);
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
    assert.ok(seen.length >= 10 && seen.some((v) => v > 0 && v < 0.5) && seen.at(-1) === 1, `progress values seen: ${seen.join(", ")}`);
    assert.equal(await page.isHidden("#digits-progress"), true);
    // At most about 2 MB over the wire, decoded in the browser: the page asked nothing of any other server.
    const bytes = pg.sent.get(DIGITS) ?? 0;
    t.diagnostic(`digits over the wire: ${bytes} bytes`);
    assert.ok(bytes > 1_000_000 && bytes <= 2_000_000, `digits sent: ${bytes} bytes`);
    assert.deepEqual(
      requests.filter((u) => !u.startsWith(pg.base)),
      [],
    );
    // The speed line shows steps/s and elapsed time.
    await page.waitForSelector("#train-speed:not([hidden])");
    assert.match(await page.innerText("#train-speed"), /^\d+ steps\/s · (\d+\.\d s|under 0\.1 s) elapsed · step \d+ of 125$/);
    assert.ok(Number(await page.getAttribute("#train-speed", "data-steps-per-second")) > 0);

    // The finished run: accuracy plotted, the loss's and the accuracy's axes numbered and labelled.
    await page.waitForSelector("#train-start:not([disabled])", { timeout: 120000 });
    assert.match((await page.textContent("#train-status")) ?? "", /test accuracy \d+\.\d% — finished/);
    const axis = (plot: string, which: "x" | "y") => page.$$eval(`#${plot} g.axis.${which} text`, (ts) => ts.map((e) => e.textContent));
    assert.deepEqual(await axis("loss-plot", "x"), ["0", "20", "40", "60", "80", "100", "120", "step"]);
    const lossY = await axis("loss-plot", "y");
    assert.equal(lossY.at(-1), "loss");
    assert.ok(lossY.length >= 4 && lossY.slice(0, -1).every((s) => Number.isFinite(Number(s))), `loss axis: ${lossY.join(" ")}`);
    assert.deepEqual(await axis("acc-plot", "x"), ["0", "1", "epoch"]);
    assert.deepEqual(await axis("acc-plot", "y"), ["0%", "20%", "40%", "60%", "80%", "100%", "test accuracy"]);
    assert.equal(await page.locator("#acc-plot circle.dot").count(), 1);
    assert.match((await page.getAttribute("#loss-plot", "aria-label")) ?? "", /^Training loss per step: \d\.\d{3} after 125 steps$/);

    // Two drawn digits: ten labelled bars whose probabilities sum to 1, the tallest named in the sentence.
    const box = (await page.locator("#draw").boundingBox())!;
    const stroke = async (x0: number, y0: number, x1: number, y1: number) => {
      await page.mouse.move(box.x + x0, box.y + y0);
      await page.mouse.down();
      await page.mouse.move(box.x + x1, box.y + y1, { steps: 10 });
      await page.mouse.up();
    };
    await stroke(140, 40, 140, 240);
    await page.waitForSelector("#probs li[data-p]");
    await stroke(100, 60, 140, 40);
    await page.waitForFunction(() => /It looks like a \d/.test(document.querySelector("#prediction")?.textContent ?? ""));
    const rows = await page.$$eval("#probs li", (lis) =>
      lis.map((li) => ({ text: li.textContent, p: Number((li as HTMLElement).dataset.p), best: li.classList.contains("best") })),
    );
    assert.equal(rows.length, 10);
    rows.forEach((r, d) => assert.match(r.text ?? "", new RegExp(`^${d}\\d+(\\.\\d)?%$`)));
    assert.ok(Math.abs(rows.reduce((s, r) => s + r.p, 0) - 1) < 1e-4);
    const best = rows.findIndex((r) => r.best);
    assert.equal(best, rows.map((r) => r.p).indexOf(Math.max(...rows.map((r) => r.p))));
    assert.match((await page.textContent("#prediction")) ?? "", new RegExp(`^It looks like a ${best} \\(\\d+% sure\\)\\.$`));
    assert.equal(await page.getAttribute("#probs", "aria-labelledby"), "probs-title");
    assert.deepEqual(
      warnings.filter((w) => /willReadFrequently/.test(w)),
      [],
    );
    await page.screenshot({ path: join(SHOTS, "train-desktop.png"), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200); // the plots redraw at their new width on the next frame
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, "nothing wider than the phone");
    await page.screenshot({ path: join(SHOTS, "train-phone.png"), fullPage: true });
    await page.close();
  });

  it("the page answers input while the worker trains (95th percentile input lag reported; gross stalls fail)", async (t: TestContext) => {
    const page = await openTrain();
    await train(page, { epochs: "200" }); // long enough to still run when stopped
    await waitSteps(page, 30);
    // How late each key event's handler runs after the event was created, and how far apart frames are.
    // A string, not a function: tsx would wrap the named arrow functions in a helper the page lacks.
    await page.evaluate(`
      window.lags = [];
      window.frames = [];
      document.addEventListener("keydown", (e) => window.lags.push(performance.now() - e.timeStamp));
      let last = performance.now();
      requestAnimationFrame(function tick(now) {
        window.frames.push(now - last);
        last = now;
        requestAnimationFrame(tick);
      });
    `);
    const before = await steps(page);
    // Key presses, not pointer moves: Chromium holds continuous events (pointermove) for the next frame,
    // which alone makes them up to 16.7 ms late; a key press is dispatched at once.
    for (let i = 0; i < 80; i++) {
      await page.keyboard.press("Shift");
      await page.waitForTimeout(25);
    }
    const trained = (await steps(page)) - before;
    const { lags, frames } = (await page.evaluate("({ lags: window.lags, frames: window.frames })")) as { lags: number[]; frames: number[] };
    const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(0.95 * xs.length)];
    t.diagnostic(
      `input lag p95 ${p95(lags).toFixed(1)} ms over ${lags.length} key presses; frame interval p95 ${p95(frames).toFixed(1)} ms; ${trained} steps meanwhile`,
    );
    assert.ok(trained >= 20, `the worker kept training while measured (${trained} steps)`);
    assert.equal(lags.length, 80, "every key press seen");
    // Measured 1.4-8 ms here (docs/performance.md). The gate is looser than the 16 ms goal because a loaded
    // shared machine delays every task; training on the main thread, the regression it guards, costs 100+ ms.
    assert.ok(p95(lags) < 50, `95th percentile input lag ${p95(lags).toFixed(1)} ms`);
    await page.click("#train-stop");
    await page.waitForSelector("#train-start:not([disabled])");
    assert.match((await page.textContent("#train-status")) ?? "", /\(stopped\)$/);
    await page.close();
  });

  it("a huge learning rate stops training and says to lower it (never 'finished')", async () => {
    const page = await openTrain();
    await train(page, { lr: "1000", epochs: "3" });
    await page.waitForSelector("#train-status.diverged", { timeout: 120000 });
    const text = (await page.textContent("#train-status")) ?? "";
    assert.match(text, /^Training stopped: the loss (exploded at step \d+|became (NaN|-?Infinity) at step \d+)/);
    assert.match(text, /The learning rate 1000 is too large: lower it \(0\.1 trains well\) and train again\.$/);
    assert.doesNotMatch(text, /finished/);
    assert.ok((await steps(page)) < 10, "stopped within the first steps");
    assert.match(await page.innerText("#train-speed"), /^[^·]*s elapsed · step \d of 375$/, "no steps/s for a handful of steps");
    assert.equal(await page.isHidden("#train-rate"), true);
    assert.equal(await page.isDisabled("#train-stop"), true);
    assert.equal(await page.isDisabled("#train-start"), false);
    await page.screenshot({ path: join(SHOTS, "train-diverged.png") });
    await page.close();
  });
});
