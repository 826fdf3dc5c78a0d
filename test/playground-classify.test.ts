/**
 * The playground's Classify tab: the explainer's program for a weight gives the library's gradient (in
 * Node), and in Debian's Chromium (playwright-core) XOR trains, the boundary redraws, clicks add points,
 * a weight click opens the Explain tab with the same gradient, and axe-core finds nothing serious.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import * as bp from "../src/index.js";
import { explainProgram } from "../playground/classify-explain.js";
import { featureMatrix, makeData, split, type FeatureName } from "../playground/classify-data.js";
import type { LayerWeights, NetConfig } from "../playground/classify-protocol.js";
import { buildNet, regressionLoss, regressionSteps, regularizer } from "../playground/classify-net.js";
import { axeViolations, describeViolations, describePlayground, SHOTS } from "./playground-harness.js";

const relClose = (a: number, b: number, tol = 1e-4) => Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b));

it("the explainer's program for one example gives the library's gradient for every weight", () => {
  const chosen: FeatureName[] = ["x1", "x2", "x1x2"];
  for (const activation of ["tanh", "relu", "sigmoid", "linear"] as const) {
    const rng = new bp.Rng(3);
    const net = buildNet({ features: chosen, hidden: [4, 3], activation }, rng);
    const linears = net.layers.filter((l): l is bp.Linear => l instanceof bp.Linear);
    const example = { x: 1.5, y: -2.25, label: 1 as const };
    const x = new bp.Tensor(featureMatrix([example], chosen), [1, 3]);
    bp.crossEntropy(net.forward(x), Int32Array.of(1)).backward();
    const weights: LayerWeights[] = linears.map((l) => ({
      inputs: l.weight.shape[0],
      outputs: l.weight.shape[1],
      W: Array.from(l.weight.data),
      b: Array.from(l.bias!.data),
    }));
    const { expr, at } = explainProgram(weights, activation, chosen, example);
    assert.match(
      expr,
      new RegExp(
        activation === "linear"
          ? `^h1 = linear\\(W1, x, b1\\)\\nh2 = linear\\(W2, h1, b2\\)\\nz = linear\\(W3, h2, b3\\)\\nL = softmax_ce\\(z, y\\)$`
          : `^h1 = ${activation}\\(linear\\(W1, x, b1\\)\\)\\nh2 = ${activation}\\(linear\\(W2, h1, b2\\)\\)\\nz = linear\\(W3, h2, b3\\)\\nL = softmax_ce\\(z, y\\)$`,
      ),
    );
    const report = bp.explainAll(expr, bp.parseAssignments([at])).report;
    linears.forEach((l, k) => {
      const g = report.gradients[`W${k + 1}`] as number[][];
      const [nin, nout] = l.weight.shape;
      for (let i = 0; i < nin; i++)
        for (let j = 0; j < nout; j++) {
          const lib = l.weight.grad!.data[i * nout + j];
          // The explainer's W is (out, in): row j, column i. Exact zeros (a dead ReLU) are zero in both.
          // Linear layers alone sum float32 products that cancel more: a looser relative bound there.
          assert.ok(
            relClose(g[j][i], lib, activation === "linear" ? 1e-3 : 1e-4) || Math.abs(g[j][i] - lib) < 1e-7,
            `${activation} W${k + 1}[${j},${i}]: explainer ${g[j][i]}, library ${lib}`,
          );
        }
    });
  }
});

/** Trains the tab's network (classify-net.ts) with the library's loop on a data set; the trained net and its test accuracy. */
function trainTab(config: Pick<NetConfig, "activation" | "hidden" | "regularization" | "rate">, name: "xor" | "circles", epochs: number) {
  const chosen: FeatureName[] = ["x1", "x2"];
  const { train, test } = split(makeData({ name, count: 200, noise: 0, seed: 2 }), 0.5, 2);
  const ds = (pts: typeof train): bp.Dataset => ({
    name,
    x: new bp.Tensor(featureMatrix(pts, chosen), [pts.length, 2]),
    y: Int32Array.from(pts, (p) => p.label),
    classes: ["orange", "blue"],
  });
  const rng = new bp.Rng(5);
  const net = buildNet({ features: chosen, ...config }, rng);
  bp.fit(net, ds(train), { epochs, batchSize: 10, optimizer: new bp.Adam(net.parameters(), { lr: 0.03 }), rng, regularizer: regularizer(net, config) });
  const t = ds(test);
  const z = bp.noGrad(() => net.forward(t.x).data);
  const correct = Array.from(t.y).filter((y, i) => (z[2 * i + 1] > z[2 * i] ? 1 : 0) === y).length;
  return { net, accuracy: correct / t.y.length };
}

it("a linear network cannot separate XOR (at most 75%), tanh can (90% or more)", () => {
  const lin = trainTab({ activation: "linear", hidden: [4, 4], regularization: "none", rate: 0 }, "xor", 60);
  const tanh = trainTab({ activation: "tanh", hidden: [4, 4], regularization: "none", rate: 0 }, "xor", 60);
  assert.ok(
    lin.net.layers.every((l) => l instanceof bp.Linear),
    "linear: Linear layers only",
  );
  assert.ok(lin.accuracy <= 0.75, `linear: ${lin.accuracy}`);
  assert.ok(tanh.accuracy >= 0.9, `tanh: ${tanh.accuracy}`);
});

it("L1 drives many weights to near zero, L2 shrinks them, and neither touches the biases' penalty", () => {
  const wts = (net: bp.Sequential) => net.layers.filter((l): l is bp.Linear => l instanceof bp.Linear).flatMap((l) => Array.from(l.weight.data));
  const none = wts(trainTab({ activation: "tanh", hidden: [6, 6], regularization: "none", rate: 0 }, "circles", 40).net);
  const l1 = wts(trainTab({ activation: "tanh", hidden: [6, 6], regularization: "l1", rate: 0.01 }, "circles", 40).net);
  const l2 = wts(trainTab({ activation: "tanh", hidden: [6, 6], regularization: "l2", rate: 0.03 }, "circles", 40).net);
  const small = (w: number[]) => w.filter((v) => Math.abs(v) < 0.02).length;
  const norm = (w: number[]) => Math.sqrt(w.reduce((a, v) => a + v * v, 0));
  assert.ok(small(l1) >= small(none) + 10, `near-zero weights: L1 ${small(l1)}, none ${small(none)}`);
  assert.ok(norm(l2) < norm(none), `‖w‖: L2 ${norm(l2)}, none ${norm(none)}`);
  // The penalty's value: rate·Σ|w| and rate/2·Σw² over the weight matrices alone.
  const net = buildNet({ features: ["x1", "x2"], hidden: [3], activation: "tanh" }, new bp.Rng(1));
  const w = wts(net);
  assert.ok(relClose(regularizer(net, { regularization: "l1", rate: 0.1 })!().item(), 0.1 * w.reduce((a, v) => a + Math.abs(v), 0)));
  assert.ok(relClose(regularizer(net, { regularization: "l2", rate: 0.1 })!().item(), 0.05 * w.reduce((a, v) => a + v * v, 0)));
  assert.equal(regularizer(net, { regularization: "none", rate: 0.1 }), undefined);
});

it("regression: the plane and the multi-Gaussian train with mean squared error, and the explainer's mse gives the same gradient", () => {
  const chosen: FeatureName[] = ["x1", "x2"];
  for (const [name, bound] of [
    ["plane", 0.01],
    ["gaussians", 0.05],
  ] as const) {
    const { train, test } = split(makeData({ name, count: 300, noise: 0, seed: 3 }), 0.5, 3);
    assert.ok(
      train.every((p) => p.value !== undefined && Math.abs(p.value) <= 1 && p.label === (p.value >= 0 ? 1 : 0)),
      name,
    );
    const data = (pts: typeof train) => ({
      x: new bp.Tensor(featureMatrix(pts, chosen), [pts.length, 2]),
      y: new bp.Tensor(
        Float32Array.from(pts, (p) => p.value!),
        [pts.length, 1],
      ),
    });
    const rng = new bp.Rng(4);
    const net = buildNet({ problem: "regression", features: chosen, hidden: [8, 8], activation: "tanh" }, rng);
    const t = data(test);
    const before = regressionLoss(net, t);
    const run = regressionSteps(net, data(train), { batchSize: 10, optimizer: new bp.Adam(net.parameters(), { lr: 0.01 }), rng });
    for (let epochs = 0; epochs < 150;) if (run.next().value?.kind === "epoch") epochs++;
    const after = regressionLoss(net, t);
    assert.ok(after < bound && after < before / 5, `${name}: test MSE ${before} -> ${after}`);
  }
  // One example's squared error through the explainer: the same gradient as the library's.
  const net = buildNet({ problem: "regression", features: chosen, hidden: [3], activation: "tanh" }, new bp.Rng(6));
  const linears = net.layers.filter((l): l is bp.Linear => l instanceof bp.Linear);
  const example = { x: 2, y: -1, label: 0 as const, value: -0.4 };
  bp.mse(net.forward(new bp.Tensor(featureMatrix([example], chosen), [1, 2])), new bp.Tensor(Float32Array.of(-0.4), [1, 1])).backward();
  const weights = linears.map((l) => ({ inputs: l.weight.shape[0], outputs: l.weight.shape[1], W: Array.from(l.weight.data), b: Array.from(l.bias!.data) }));
  const { expr, at } = explainProgram(weights, "tanh", chosen, example, "regression");
  assert.match(expr, /\nL = mse\(z, y\)$/);
  const g = bp.explainAll(expr, bp.parseAssignments([at])).report.gradients.W2 as number[][];
  assert.deepEqual([g.length, g[0].length], [1, 3]);
  for (let i = 0; i < 3; i++) assert.ok(relClose(g[0][i], linears[1].weight.grad!.data[i]), `W2[1,${i + 1}]: ${g[0][i]} vs ${linears[1].weight.grad!.data[i]}`);
});

it("data sets are seeded, two-class and split by the ratio", () => {
  for (const name of ["xor", "circles", "spiral", "blobs"] as const) {
    const a = makeData({ name, count: 100, noise: 0.2, seed: 4 });
    assert.deepEqual(a, makeData({ name, count: 100, noise: 0.2, seed: 4 }), name);
    // XOR's class follows the quadrant; the others alternate the classes.
    if (name !== "xor") assert.equal(a.filter((p) => p.label === 1).length, 50, name);
    else assert.ok(new Set(a.map((p) => p.label)).size === 2);
    assert.ok(a.every((p) => Math.abs(p.x) <= 6 && Math.abs(p.y) <= 6));
    const { train, test } = split(a, 0.3, 4);
    assert.deepEqual([train.length, test.length], [70, 30]);
  }
  assert.ok(
    makeData({ name: "xor", count: 200, noise: 0, seed: 1 }).every((p) => (p.x * p.y >= 0 ? 1 : 0) === p.label),
    "clean XOR: blue where x and y share a sign",
  );
});

describePlayground("the Classify tab in Chromium", (pg) => {
  async function open(viewport = { width: 1280, height: 800 }, phone = false): Promise<Page> {
    const page = await pg.browser.newPage({ viewport, isMobile: phone, hasTouch: phone });
    page.on("dialog", () => assert.fail("a dialog opened"));
    await page.goto(pg.base);
    await page.click("#tab-classify");
    await page.waitForSelector("#cl-net g.cl-weight");
    return page;
  }
  const stat = async (page: Page, key: string) => Number(await page.getAttribute("#cl-summary", `data-${key}`));
  const boardPixels = (page: Page) => page.locator("#cl-board").evaluate((c) => (c as HTMLCanvasElement).toDataURL());

  it("XOR trains to at least 90% test accuracy within 3000 steps, and the boundary redraws as it trains", async (t) => {
    const page = await open();
    assert.equal(await page.inputValue("#cl-dataset"), "xor");
    const before = await boardPixels(page);
    await page.click("#cl-play");
    assert.equal(await page.getAttribute("#cl-play", "aria-pressed"), "true");
    const STEPS = 3000;
    await page.waitForFunction(
      (limit) => {
        const d = document.querySelector<HTMLElement>("#cl-summary")!.dataset;
        return Number(d.testAccuracy) >= 0.9 || Number(d.steps) >= limit;
      },
      STEPS,
      { timeout: 120000 },
    );
    const [acc, steps] = [await stat(page, "test-accuracy"), await stat(page, "steps")];
    await page.click("#cl-play");
    t.diagnostic(`test accuracy ${acc} at the first frame past 90% or the limit: ${steps} steps`);
    assert.ok(acc >= 0.9, `test accuracy ${acc} after ${steps} steps`);
    assert.ok(steps <= STEPS + 200, `${steps} steps`);
    assert.notEqual(await boardPixels(page), before, "the decision boundary changed");
    assert.ok(Number(await page.getAttribute("#cl-board", "data-frame")) >= 3, "redrawn live, frame by frame");
    assert.match((await page.textContent("#cl-summary")) ?? "", /^Train loss \d\.\d{3}, train accuracy \d+\.\d%; test loss \d\.\d{3}, test accuracy \d+\.\d%/);
    assert.match((await page.textContent("#cl-epoch")) ?? "", /^Epoch \d+ · \d+ steps$/);
    await page.screenshot({ path: join(SHOTS, "classify.png"), fullPage: true });
    // Step trains exactly one more epoch.
    await page.waitForFunction(() => document.querySelector("#cl-play")!.getAttribute("aria-pressed") === "false");
    await page.waitForTimeout(300);
    const epoch = await stat(page, "epoch");
    await page.click("#cl-step");
    await page.waitForFunction((e) => Number(document.querySelector<HTMLElement>("#cl-summary")!.dataset.epoch) === e + 1, epoch);
    await page.close();
  });

  it("numbers out of range show the value used, and the last feature cannot be unchecked", async () => {
    const page = await open();
    await page.fill("#cl-width", "20");
    await page.locator("#cl-width").dispatchEvent("change");
    assert.equal(await page.inputValue("#cl-width"), "8");
    await page.waitForFunction(() => document.querySelectorAll('#cl-net canvas[data-layer="1"]').length === 8);
    await page.uncheck("#cl-f-0");
    await page.click("#cl-f-1");
    assert.equal(await page.isChecked("#cl-f-1"), true, "x2, the last feature, stays");
    await page.waitForFunction(() => document.querySelectorAll('#cl-net canvas[data-layer="0"]').length === 1);
    assert.equal(await page.getAttribute('#cl-net canvas[data-layer="0"]', "aria-label"), "x2 over the plane");
    await page.close();
  });

  it("each hidden layer's − and + set its own width, and the diagram's neurons follow", async () => {
    const page = await open();
    const column = (layer: number) => page.locator(`#cl-net canvas[data-layer="${layer}"]`).count();
    assert.deepEqual([await column(1), await column(2)], [4, 4]);
    await page.click('button[aria-label="More neurons in layer 1"]');
    await page.click('button[aria-label="More neurons in layer 1"]');
    await page.click('button[aria-label="Fewer neurons in layer 2"]');
    await page.waitForFunction(() => document.querySelectorAll('#cl-net canvas[data-layer="1"]').length === 6);
    assert.deepEqual([await column(1), await column(2)], [6, 3]);
    assert.equal(await page.textContent("#cl-layer-1-width"), "6");
    // Weights 2→6, 6→3, 3→2.
    assert.equal(await page.locator("#cl-net g.cl-weight").count(), 2 * 6 + 6 * 3 + 3 * 2);
    for (let i = 0; i < 5; i++) await page.click('button[aria-label="Fewer neurons in layer 2"]', { force: true });
    assert.equal(await page.isDisabled('button[aria-label="Fewer neurons in layer 2"]'), true, "1 is the fewest");
    // "Neurons per layer (all)" sets every layer again; a third layer appears with it.
    await page.fill("#cl-width", "2");
    await page.locator("#cl-width").dispatchEvent("change");
    await page.fill("#cl-depth", "3");
    await page.locator("#cl-depth").dispatchEvent("change");
    await page.waitForFunction(() => document.querySelectorAll('#cl-net canvas[data-layer="3"]').length === 2);
    assert.deepEqual([await column(1), await column(2), await column(3), await column(4)], [2, 2, 2, 2]);
    await page.close();
  });

  it("a click on the map adds a point of the chosen class, and the keyboard adds one too", async () => {
    const page = await open();
    const n = await stat(page, "points");
    await page.click("#cl-class-orange");
    const box = (await page.locator("#cl-board").boundingBox())!;
    await page.mouse.click(box.x + box.width * 0.25, box.y + box.height * 0.25);
    await page.waitForFunction((k) => Number(document.querySelector<HTMLElement>("#cl-summary")!.dataset.points) === k + 1, n);
    assert.match((await page.textContent("#cl-summary")) ?? "", /\(1 yours\)/);
    await page.focus("#cl-board");
    await page.keyboard.press("ArrowUp");
    await page.keyboard.press("Enter");
    await page.waitForFunction((k) => Number(document.querySelector<HTMLElement>("#cl-summary")!.dataset.points) === k + 2, n);
    await page.click("#cl-clear");
    await page.waitForFunction((k) => Number(document.querySelector<HTMLElement>("#cl-summary")!.dataset.points) === k, n);
    await page.close();
  });

  it("a weight click opens the Explain tab with a program whose gradient for that weight is the worker's", async () => {
    const page = await open();
    await page.click("#cl-step");
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>("#cl-summary")!.dataset.epoch) >= 1);
    // The first hidden layer's weight from x2 to h1.3: W1 row 3, column 2 in the explainer.
    const weight = page.locator('#cl-net g.cl-weight[data-layer="0"][data-from="1"][data-to="2"] .cl-hit');
    assert.equal(await weight.getAttribute("aria-label"), "weight W1[3,2] from x2 to h1.3");
    await weight.focus();
    await page.keyboard.press("Enter");
    await page.waitForSelector("#panel-explain:not([hidden])");
    assert.equal(await page.getAttribute("#tab-explain", "aria-selected"), "true");
    await page.waitForSelector('td[data-grad="W1"]');
    assert.match(
      await page.inputValue("#expr"),
      /^h1 = tanh\(linear\(W1, x, b1\)\)\nh2 = tanh\(linear\(W2, h1, b2\)\)\nz = linear\(W3, h2, b3\)\nL = softmax_ce\(z, y\)$/,
    );
    const explained = JSON.parse((await page.getAttribute('td[data-grad="W1"]', "data-value"))!) as number[][];
    const worker = Number(await page.getAttribute("#cl-inspect", "data-gradient"));
    assert.ok(Math.abs(worker) > 1e-6, `a gradient worth comparing: ${worker}`);
    assert.ok(relClose(explained[2][1], worker), `explainer ${explained[2][1]}, worker ${worker}`);
    await page.screenshot({ path: join(SHOTS, "classify-explain.png") });
    // Back in the Classify tab the gradient is shown next to the weight's name.
    await page.click("#tab-classify");
    assert.match((await page.textContent("#cl-inspect")) ?? "", /^W1\[3,2\] = -?\d\.\d{3} · ∂L\/∂W1\[3,2\] = /);
    assert.equal(await page.locator("#cl-net g.cl-weight.chosen").count(), 1, "the chosen weight is marked");
    await page.screenshot({ path: join(SHOTS, "classify-gradient.png") });
    await page.close();
  });

  it("regression: the plane trains to a low test MSE, clicks add no points, and a weight click explains mse; linear has no activation call", async (t) => {
    const page = await open();
    await page.selectOption("#cl-problem", "regression");
    assert.equal(await page.inputValue("#cl-dataset"), "plane");
    assert.deepEqual(await page.locator("#cl-dataset option").evaluateAll((o) => o.map((x) => x.textContent)), ["Plane", "Multi-Gaussian"]);
    assert.equal(await page.textContent("#cl-class-note"), "Clicks add no points in regression.");
    await page.waitForFunction(() => document.querySelectorAll('#cl-net canvas[data-layer="3"]').length === 1);
    const box = (await page.locator("#cl-board").boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    assert.equal((await page.getAttribute("#cl-board", "data-mine")) ?? "0", "0", "no point added");
    const first = await stat(page, "test-loss");
    await page.click("#cl-play");
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>("#cl-summary")!.dataset.testLoss) < 0.02, undefined, { timeout: 120000 });
    await page.click("#cl-play");
    const last = await stat(page, "test-loss");
    t.diagnostic(`plane: test MSE ${first} -> ${last}`);
    assert.ok(last < 0.02 && last < first, `test MSE ${first} -> ${last}`);
    assert.match((await page.textContent("#cl-summary")) ?? "", /^Train loss \(mean squared error\) \d\.\d{3}; test loss \d\.\d{3}\./);
    await page.screenshot({ path: join(SHOTS, "classify-regression.png") });
    await page.locator('#cl-net g.cl-weight[data-layer="2"][data-from="0"][data-to="0"] .cl-hit').click();
    await page.waitForSelector("#panel-explain:not([hidden])");
    await page.waitForSelector('td[data-grad="W3"]');
    assert.match(await page.inputValue("#expr"), /\nz = linear\(W3, h2, b3\)\nL = mse\(z, y\)$/);
    const explained = JSON.parse((await page.getAttribute('td[data-grad="W3"]', "data-value"))!) as number[][];
    const worker = Number(await page.getAttribute("#cl-inspect", "data-gradient"));
    assert.ok(relClose(explained[0][0], worker, 1e-3), `explainer ${explained[0][0]}, worker ${worker}`);
    // The linear activation: layers with no activation call in the program.
    await page.click("#tab-classify");
    await page.selectOption("#cl-activation", "linear");
    await page.waitForTimeout(200);
    await page.locator('#cl-net g.cl-weight[data-layer="0"][data-from="0"][data-to="0"] .cl-hit').click();
    await page.waitForFunction(() => /^h1 = linear\(W1, x, b1\)\n/.test((document.querySelector("#expr") as HTMLTextAreaElement).value));
    await page.close();
  });

  it("is accessible (axe-core, every control labelled) on a desktop and on a phone, with screenshots", async (t) => {
    for (const [name, viewport, phone] of [
      ["classify-desktop.png", { width: 1280, height: 800 }, false],
      ["classify-phone.png", { width: 390, height: 844 }, true],
    ] as const) {
      const page = await open(viewport, phone);
      await page.click("#cl-step");
      await page.waitForFunction(() => Number(document.querySelector<HTMLElement>("#cl-summary")!.dataset.epoch) >= 1);
      const unlabeled = await page
        .locator("#panel-classify input, #panel-classify select, #panel-classify canvas")
        .evaluateAll((els) => els.filter((e) => !((e as HTMLInputElement).labels?.length || e.getAttribute("aria-label"))).map((e) => e.id || e.outerHTML));
      assert.deepEqual(unlabeled, []);
      const violations = await axeViolations(page, t);
      assert.equal(violations.length, 0, `axe violations (${name}):\n` + describeViolations(violations));
      await page.screenshot({ path: join(SHOTS, name), fullPage: true });
      await page.close();
    }
  });
});
