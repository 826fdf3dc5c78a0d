/**
 * The package as a user gets it: `npm pack`, then `npm install backprop-0.1.0.tgz` in another folder.
 * Its install script must build the native backend where a compiler is there (with the node-gyp that
 * npm ships: devDependencies are not installed), and never fail the install where one is not.
 * The sources are packed from a copy, so that the build `npm pack` runs never writes into this checkout.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const work = mkdtempSync(join(tmpdir(), "backprop-package-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** npm settings passed through the environment that say where and how to fetch (a CI's registry or cache). */
const FETCH_SETTINGS = /^npm_config_(registry|cache|cafile|ca|userconfig|globalconfig|proxy|https_proxy|noproxy|strict_ssl|fetch_\w+)$/i;

/**
 * The environment without what an enclosing `npm test` exported (its prefix would redirect the install,
 * its lifecycle and package variables describe this checkout) and without our own switches.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if ((/^npm_/i.test(k) && !FETCH_SETTINGS.test(k)) || k === "BACKPROP_SKIP_NATIVE" || k === "INIT_CWD") continue;
    env[k] = v;
  }
  return { ...env, NO_UPDATE_NOTIFIER: "1", ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout = 90_000) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: "utf8", timeout });
  const output = `${r.stdout ?? ""}\n${r.stderr ?? ""}`;
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} failed (${r.error?.message ?? `exit ${r.status}`}):\n${output.slice(-3000)}`);
  return { stdout: r.stdout, output };
}

/** node-gyp needs a C++ compiler, make and Python; where one is missing the install must still succeed. */
function canCompile(): boolean {
  const ok = (cmd: string) => spawnSync(cmd, ["--version"], { encoding: "utf8" }).status === 0;
  return ok("c++") && ok("make") && ok("python3");
}

describe("the packed package", { timeout: 240_000 }, () => {
  it("installs from its tarball, builds the native backend at install, and its bin runs", () => {
    // The files `npm pack` builds from; node_modules is shared (the build needs TypeScript and wabt).
    const src = join(work, "src");
    mkdirSync(src);
    for (const f of ["package.json", "README.md", "tsconfig.json", "src", "scripts", "native", "wasm", "bin"]) {
      cpSync(join(root, f), join(src, f), { recursive: true, filter: (p) => !p.includes(join("native", "build")) });
    }
    symlinkSync(join(root, "node_modules"), join(src, "node_modules"), "dir");
    const packs = join(work, "packs");
    mkdirSync(packs);
    // `prepare` builds dist; the native build there is skipped, the tarball never holds it.
    run("npm", ["pack", "--pack-destination", packs], src, cleanEnv({ BACKPROP_SKIP_NATIVE: "1" }));
    const tarball = readdirSync(packs).find((f) => f.endsWith(".tgz"));
    assert.ok(tarball, `npm pack made no tarball in ${packs}`);

    const app = join(work, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
    const install = run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", "--foreground-scripts", join(packs, tarball)],
      app,
      cleanEnv(),
      150_000,
    );
    const compiler = canCompile();
    // Our install script ran (npm 11 warns that dependency scripts are "not yet covered by allowScripts", and runs them).
    if (compiler) assert.match(install.output, /backprop: built the native backend/);

    const probe = run(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'import * as bp from "backprop"; console.log(JSON.stringify({ backend: bp.getBackend().name, addon: bp.nativeAddon() !== null, loadModel: typeof bp.loadModel }))',
      ],
      app,
      cleanEnv(),
    );
    const state = JSON.parse(probe.stdout.trim());
    assert.deepEqual(state, compiler ? { backend: "native", addon: true, loadModel: "function" } : { backend: "wasm", addon: false, loadModel: "function" });

    const bin = join(app, "node_modules", ".bin", "backprop");
    assert.equal(run(bin, ["--version"], app, cleanEnv()).stdout.trim(), "0.1.0");
    assert.match(run(bin, ["--help"], app, cleanEnv()).stdout, /predict \[options\]\s+classify samples/);
    // The dependencies predict needs came with it: train, save, classify one raw flower.
    run(bin, ["train", "--dataset", "iris", "--epochs", "30", "--batch", "16", "--lr", "0.05", "--save", "iris.bp"], app, cleanEnv());
    assert.match(run(bin, ["predict", "--model", "iris.bp", "--input", "[5.1,3.5,1.4,0.2]"], app, cleanEnv()).stdout, /^sample 1: setosa \(/);
  });
});
