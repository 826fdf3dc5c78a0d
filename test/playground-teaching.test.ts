/**
 * End-to-end tests of the playground's teaching tools in Debian's Chromium driven by playwright-core:
 * the Explain tab's quiz mode (each box marked right, wrong or carried forward as it is typed, the first
 * mistake diagnosed in checkWork's words) and the Exercises tab (seeded sheets, the key, downloads, a
 * scalar exercise opened in the quiz). Screenshots go to test-artifacts/playground/.
 */
import { axeViolations, describeViolations, describePlayground, SHOTS } from "./playground-harness.js";
import { it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Page } from "playwright-core";
import * as bp from "../src/index.js";

const QUIZ_URL = "?expr=(x%2By)*z&at=x%3D1,y%3D3,z%3D2&quiz=1";

/** What the library says about the same answer: the quiz must show the very same diagnosis. */
function libraryCheck(values: Record<string, string>): bp.CheckWorkResult {
  const ex = bp.explainAll("(x+y)*z", bp.parseAssignments(["x=1,y=3,z=2"]));
  return bp.checkWork(ex, bp.answerFromCells(values, ex.report));
}

describePlayground("playground teaching tools in Chromium", (pg) => {
  async function open(query: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
    const phone = viewport.width < 600;
    const page = await pg.browser.newPage({ viewport, ...(phone ? { isMobile: true, hasTouch: true } : {}), acceptDownloads: true });
    page.on("dialog", () => assert.fail("a dialog opened: text from the input was executed"));
    await page.goto(pg.base + query);
    await page.waitForSelector("#expr");
    return page;
  }

  const box = (page: Page, key: string) => page.locator(`#quiz-tables input[data-cell="${key}"]`);
  const verdict = (page: Page, key: string) => box(page, key).locator("xpath=..").getAttribute("data-verdict");
  const waitVerdict = (page: Page, key: string, v: string) =>
    page.waitForFunction(([k, want]) => document.querySelector(`input[data-cell="${k}"]`)?.parentElement?.dataset.verdict === want, [key, v] as const);

  /** Fills the quiz for (x+y)*z at 1, 3, 2: a right value, a wrong local derivative, a contribution carried from it. */
  async function fillQuiz(page: Page): Promise<void> {
    await page.waitForSelector('#quiz-tables input[data-cell="value:a"]');
    await box(page, "value:a").fill("4");
    await waitVerdict(page, "value:a", "right");
    await box(page, "local:b:a").fill("3");
    await box(page, "upstream:b:a").fill("1");
    await box(page, "contribution:b:a").fill("3");
    await waitVerdict(page, "contribution:b:a", "carried");
  }

  it("quiz mode: a right value is marked right, a seeded wrong local derivative wrong with checkWork's diagnosis, its product carried", async () => {
    const page = await open(QUIZ_URL);
    await page.waitForSelector("#graph svg g.gate");
    assert.equal(await page.getAttribute("#quiz-toggle", "aria-pressed"), "true");
    // The answers are hidden: the stage table, gradients and code, and the graph's numbers past the inputs.
    assert.equal(await page.isVisible("#stages"), false);
    assert.equal(await page.isVisible("#code"), false);
    assert.equal(await page.locator("#graph text.fwd.hidden").count(), 2, "a and b are blank in the graph");
    assert.equal(await page.locator("#graph text.bwd:not(.hidden)").count(), 0, "no gradient shows in the graph");
    // A box for every cell the library lists.
    const ex = bp.explainAll("(x+y)*z", bp.parseAssignments(["x=1,y=3,z=2"]));
    assert.equal(await page.locator("#quiz-tables input").count(), bp.answerCells(ex.report).length);

    await fillQuiz(page);
    assert.equal(await verdict(page, "value:a"), "right");
    assert.equal((await box(page, "value:a").locator("xpath=../span[contains(@class,'mark')]").textContent())?.startsWith("✓ right"), true);
    await waitVerdict(page, "local:b:a", "wrong");
    assert.equal(await box(page, "local:b:a").getAttribute("aria-invalid"), "true");
    assert.match(
      (await box(page, "local:b:a").locator("xpath=../span[contains(@class,'mark')]").textContent()) ?? "",
      /^✗ wrong: wrong-local: the first mistake/,
    );
    assert.equal(await verdict(page, "upstream:b:a"), "right");
    assert.match(
      (await box(page, "contribution:b:a").locator("xpath=../span[contains(@class,'mark')]").textContent()) ?? "",
      /^↪ carried: .*carried forward from db\/da/,
    );
    assert.equal(await box(page, "contribution:b:a").getAttribute("aria-invalid"), null);

    // The diagnosis is the library's, word for word: what `backprop check` prints first.
    const res = libraryCheck({ a: "4", "db/da": "3", "upstream b<-a": "1", "contribution b<-a": "3" });
    assert.equal(res.first?.kind, "wrong-local");
    const lines = await page.locator("#quiz-diagnosis p").allTextContents();
    assert.equal(lines[0], `First mistake: ${res.first!.message}`);
    assert.equal(lines[0], bp.formatCheckWork(res).split("\n")[0]);
    assert.match(lines[0], /db\/da = 3 is wrong \(right: 2\)/);
    // The message names the rule needed (the product rule here), so it is not repeated on a line of its own.
    assert.ok(res.first!.rule && lines[0].includes(res.first!.rule), lines[0]);
    assert.deepEqual(lines.slice(1), [res.summary, "The stage of the first mistake, b, is ringed in red in the graph."]);
    assert.equal(await page.getAttribute("#quiz-diagnosis", "data-text"), bp.formatCheckWork(res));
    // The stage of the first mistake is marked in the graph.
    await page.waitForSelector('#graph g.gate.mistake[data-stage="b"]');

    // Correcting the local derivative makes the carried contribution a mistake of its own.
    await box(page, "local:b:a").fill("2");
    await waitVerdict(page, "local:b:a", "right");
    await waitVerdict(page, "contribution:b:a", "wrong");
    // Text that is not a number is marked so, and the other boxes are still checked.
    await box(page, "value:b").fill("eight");
    await waitVerdict(page, "value:b", "unreadable");
    assert.equal(await verdict(page, "local:b:a"), "right");
    await page.close();
  });

  it("quiz mode is reached by keyboard, keeps what was typed when left and re-entered, and is saved in the URL", async () => {
    const page = await open("?expr=(x%2By)*z&at=x%3D1,y%3D3,z%3D2");
    await page.waitForSelector("#graph svg g.gate");
    await page.focus("#quiz-toggle");
    await page.keyboard.press("Enter");
    await page.waitForSelector('#quiz-tables input[data-cell="grad:x"]');
    assert.match(page.url(), /quiz=1/);
    await page.keyboard.press("Tab");
    await box(page, "grad:x").fill("2");
    await waitVerdict(page, "grad:x", "right");
    // Three tabs now: the arrow keys go round them both ways.
    await page.focus("#tab-explain");
    await page.keyboard.press("ArrowLeft");
    assert.equal(await page.getAttribute("#tab-exercises", "aria-selected"), "true");
    assert.equal(await page.isVisible("#panel-exercises"), true);
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.getAttribute("#tab-explain", "aria-selected"), "true");
    assert.equal(await box(page, "grad:x").inputValue(), "2");
    await page.focus("#quiz-toggle");
    await page.keyboard.press("Space");
    assert.equal(await page.isVisible("#quiz"), false);
    assert.equal(await page.isVisible("#stages"), true);
    assert.doesNotMatch(page.url(), /quiz=1/);
    await page.click("#quiz-toggle");
    await waitVerdict(page, "grad:x", "right");
    assert.equal(await box(page, "grad:x").inputValue(), "2");
    await page.close();
  });

  it("quiz mode diagnoses a final gradient alone (a missing fan-out path), and leaves an array stage's Jacobian out", async () => {
    // The page's default program, where x fans out.
    const page = await open("?quiz=1");
    await page.waitForSelector('#quiz-tables input[data-cell="grad:x"]');
    await box(page, "grad:x").fill("4");
    await waitVerdict(page, "grad:x", "wrong");
    const ex = bp.explainAll("(ln(x) + sin(y))^2 + 4x", bp.parseAssignments(["x=e, y=pi/2"]));
    const res = bp.checkWork(ex, bp.answerFromCells({ gx: "4" }, ex.report));
    assert.equal(res.first?.kind, "missing-fan-out");
    assert.equal(await page.locator("#quiz-diagnosis p").first().textContent(), `First mistake: ${res.first!.message}`);
    assert.match(res.first!.message, /gx has only 1 of its 2 paths/);
    // An array program: values and gradients are arrays; the local derivatives (Jacobians) are not asked.
    await page.fill("#expr", "sum(W @ x + b)");
    await page.fill("#at", "W=[[1,2],[3,4]], x=[1,-1], b=[0,1]");
    await page.waitForSelector('#quiz-tables input[data-cell="grad:W"]');
    assert.equal(await page.locator("#quiz-tables td.quiz-na").count(), await page.locator('#quiz-tables input[data-cell^="upstream:"]').count());
    assert.equal(await page.locator('#quiz-tables input[data-cell^="local:"]').count(), 0);
    await box(page, "value:a").fill("[-1, -1]");
    await waitVerdict(page, "value:a", "right");
    await box(page, "grad:x").fill("[4, 5]");
    await waitVerdict(page, "grad:x", "wrong");
    await page.close();
  });

  const INFO = { topic: "staging", difficulty: 1, count: 2, seed: 7 } as const;

  async function generate(page: Page, info: { topic: string; difficulty: number; count: number; seed: number }): Promise<string> {
    await page.selectOption("#ex-topic", info.topic);
    await page.selectOption("#ex-difficulty", String(info.difficulty));
    await page.fill("#ex-count", String(info.count));
    await page.fill("#ex-seed", String(info.seed));
    const before = await page.getAttribute("#ex-result", "data-generation");
    await page.click("#ex-generate");
    await page.waitForFunction((b) => {
      const r = document.querySelector<HTMLElement>("#ex-result")!;
      return !r.hidden && r.dataset.generation !== (b ?? undefined);
    }, before);
    return (await page.textContent("#ex-handout")) ?? "";
  }

  it("the Exercises tab generates a sheet reproducibly for a seed, toggles the key and downloads the sheets", async () => {
    const page = await open("");
    await page.click("#tab-exercises");
    const exercises = bp.generateExercises(INFO);
    const first = await generate(page, INFO);
    assert.ok(first.includes(`Stage ${exercises[0].program} into one operation per equation`), first);
    assert.ok(first.includes(exercises[1].program!), "the second exercise is on the sheet");
    assert.equal(await page.locator("#ex-handout h4").count(), 2, "one heading per exercise");
    // Another seed, another sheet; the first seed again, the first sheet again.
    const other = await generate(page, { ...INFO, seed: 8 });
    assert.notEqual(other, first);
    assert.equal(await generate(page, INFO), first);

    assert.equal(await page.isVisible("#ex-key-section"), false);
    await page.click("#ex-show-key");
    assert.equal(await page.getAttribute("#ex-show-key", "aria-pressed"), "true");
    assert.equal(await page.isVisible("#ex-key-section"), true);
    const key = (await page.textContent("#ex-key")) ?? "";
    assert.match(key, /Answers:/);
    assert.ok((await page.locator("#ex-key table").count()) >= 4, "the key shows the explainer's stage tables");
    assert.ok((await page.locator("#ex-key .katex").count()) >= 4, "the key's math is typeset");
    await page.screenshot({ path: join(SHOTS, "exercises.png"), fullPage: true });
    await page.click("#ex-show-key");
    assert.equal(await page.isVisible("#ex-key-section"), false);

    for (const [sheet, format, expected] of [
      ["handout", "markdown", bp.renderHandout(exercises, "markdown", INFO)],
      ["key", "latex", bp.renderKey(exercises, "latex", INFO)],
      ["key", "json", bp.renderKey(exercises, "json", INFO)],
    ] as const) {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click(`button[data-sheet="${sheet}"][data-format="${format}"]`)]);
      const ext = { markdown: "md", latex: "tex", json: "json" }[format];
      assert.equal(download.suggestedFilename(), `exercises-staging-d1-seed7${sheet === "key" ? "-key" : ""}.${ext}`);
      assert.equal(readFileSync(await download.path(), "utf8"), expected, `${sheet} ${format}`);
    }
    await page.close();
  });

  it("a bad request shows the library's error; a scalar exercise opens in the Explain tab's quiz mode", async () => {
    const page = await open("");
    await page.click("#tab-exercises");
    await page.fill("#ex-count", "0");
    await page.click("#ex-generate");
    await page.waitForSelector("#ex-error:not([hidden])");
    assert.equal(await page.textContent("#ex-error pre"), "error: count must be an integer from 1 to 100, got 0");
    await generate(page, { topic: "all", difficulty: 1, count: 9, seed: 3 });
    const exercises = bp.generateExercises({ topic: "all", difficulty: 1, count: 9, seed: 3 });
    // Shapes, a layer and parameter counts have no scalar program: no quiz button for them.
    const buttons = page.locator("#ex-quiz-list button");
    const ids = await buttons.evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.exercise));
    assert.deepEqual(
      ids,
      exercises.filter((e) => e.program && e.topic !== "layer").map((e) => e.id),
    );
    const sigmoid = exercises.find((e) => e.topic === "sigmoid")!;
    await page.click(`#ex-quiz-list button[data-exercise="${sigmoid.id}"]`);
    assert.equal(await page.getAttribute("#tab-explain", "aria-selected"), "true");
    assert.equal(await page.inputValue("#expr"), sigmoid.program);
    await page.waitForSelector(`#quiz-tables input[data-cell="grad:w0"]`);
    assert.equal(await page.getAttribute("#quiz-toggle", "aria-pressed"), "true");
    const g = sigmoid.key.report!.gradients.w0 as number;
    await box(page, "grad:w0").fill(g.toPrecision(3));
    await waitVerdict(page, "grad:w0", "right");
    await page.close();
  });

  for (const [name, viewport] of [
    ["desktop", { width: 1280, height: 800 }],
    ["phone", { width: 390, height: 844 }],
  ] as const) {
    it(`axe-core finds no serious violations in quiz mode and the Exercises tab (${name}, ${viewport.width}×${viewport.height}); screenshots`, async (t) => {
      const page = await open(QUIZ_URL, viewport);
      await page.waitForSelector("#graph svg g.gate");
      await fillQuiz(page);
      await page.waitForSelector('#graph g.gate.mistake[data-stage="b"]');
      const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
      assert.ok(await fits(), "quiz mode fits the screen's width (wide tables scroll in their own region)");
      await page.screenshot({ path: join(SHOTS, `quiz-${name}.png`), fullPage: true });
      const quiz = await axeViolations(page, t);
      assert.equal(quiz.length, 0, "axe violations in quiz mode:\n" + describeViolations(quiz));
      await page.click("#tab-exercises");
      await generate(page, { topic: "sigmoid", difficulty: 2, count: 2, seed: 5 });
      await page.click("#ex-show-key");
      assert.ok(await fits(), "the Exercises tab fits the screen's width");
      await page.screenshot({ path: join(SHOTS, `exercises-${name}.png`), fullPage: true });
      const sheet = await axeViolations(page, t);
      assert.equal(sheet.length, 0, "axe violations on the Exercises tab:\n" + describeViolations(sheet));
      await page.close();
    });
  }
});
