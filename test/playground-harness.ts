/**
 * The built playground served from localhost to Debian's Chromium (playwright-core), for every browser
 * test: it builds into a temporary folder (so test files running side by side never rebuild the same
 * one), serves it cross-origin isolated as Vite does, and counts the bytes sent per path. A throttled
 * path is sent in slices, so a test can watch a download's progress. Also the axe-core check they share.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { createRequire } from "node:module";
import { after, before, type TestContext } from "node:test";
import { describeIf } from "./helpers.js";
import { chromium, type Browser, type Page } from "playwright-core";
import type { AxeResults, Result } from "axe-core";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);

/** Where the browser suites keep their screenshots. */
export const SHOTS = join(process.cwd(), "test-artifacts", "playground");

const TYPES: Record<string, string> = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".ttf": "font/ttf",
};

export interface Playground {
  base: string;
  browser: Browser;
  /** Bytes sent for each path (the body only), as the server counted them. */
  sent: Map<string, number>;
  close(): Promise<void>;
}

export interface PlaygroundOptions {
  throttle?: { path: string; sliceBytes: number; everyMs: number };
}

/**
 * A suite against one served playground and its browser, started before the first test and closed after
 * the last (the object `body` gets is filled in then); skipped, saying why, where Chromium is missing.
 */
export function describePlayground(
  name: string,
  ...args: [body: (pg: Playground) => void] | [options: PlaygroundOptions, body: (pg: Playground) => void]
): void {
  const [options, body] = args.length === 1 ? [{}, args[0]] : args;
  describeIf(name, hasChromium ? false : "Chromium is not installed (apt-get install -y chromium)", () => {
    const pg = {} as Playground;
    before(async () => {
      mkdirSync(SHOTS, { recursive: true });
      Object.assign(pg, await startPlayground(options));
    });
    after(async () => {
      if (pg.close) await pg.close();
    });
    body(pg);
  });
}

export async function startPlayground(options: PlaygroundOptions = {}): Promise<Playground> {
  const site = mkdtempSync(join(tmpdir(), "backprop-playground-"));
  const build = spawnSync("npm", ["run", "playground:build", "--", "--outDir", site], { cwd: process.cwd(), encoding: "utf8" });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  const sent = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
    let file = join(site, path);
    if (!file.startsWith(site) || !existsSync(file) || statSync(file).isDirectory()) file = join(site, "index.html");
    const body = readFileSync(file);
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "content-length": body.length,
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
    });
    sent.set(path, (sent.get(path) ?? 0) + body.length);
    const t = options.throttle;
    if (!t || t.path !== path) return void res.end(body);
    let at = 0;
    const next = () => {
      res.write(body.subarray(at, at + t.sliceBytes));
      at += t.sliceBytes;
      if (at < body.length) setTimeout(next, t.everyMs);
      else res.end();
    };
    next();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    browser,
    sent,
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(site, { recursive: true, force: true });
    },
  };
}

// axe-core's bundled source, read from node_modules and injected into the page: no network needed.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export const describeViolations = (violations: Result[]): string =>
  violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(" ")}`).join("\n")}`).join("\n");

/**
 * Runs axe-core on the page and returns its serious and critical violations; the minor and moderate
 * ones go to the test's diagnostics, so they stay visible without failing the run.
 */
export async function axeViolations(page: Page, t: TestContext): Promise<Result[]> {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: AXE_SOURCE });
  const results = await page.evaluate(() => (window as unknown as { axe: { run: (c: Document) => Promise<AxeResults> } }).axe.run(document));
  const blocking = (v: Result) => v.impact === "serious" || v.impact === "critical";
  const minor = results.violations.filter((v) => !blocking(v));
  if (minor.length) t.diagnostic("minor/moderate axe violations:\n" + describeViolations(minor));
  return results.violations.filter(blocking);
}
