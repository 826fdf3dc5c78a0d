/** The command line: `backprop shapes`, called in-process and through the installed bin. */
import { describeIf } from "./helpers.js";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { cli } from "./cli-helper.js";

describe("backprop shapes", () => {
  it("prints the broadcast shape", async () => {
    assert.deepEqual(await cli("shapes", "(4,2)", "+", "(2,4,1)"), { code: 0, out: "(2,4,2)", err: "" });
    assert.deepEqual((await cli("shapes", "(2,)", "*", "(2,1)")).out, "(2,2)");
  });

  it("prints the matmul shape", async () => {
    assert.deepEqual(await cli("shapes", "(2,5,4)", "@", "(3,2,4,8)"), { code: 0, out: "(3,2,5,8)", err: "" });
    assert.equal((await cli("shapes", "(4,)", "@", "(4,)")).out, "()");
  });

  it("chains left to right", async () => {
    assert.equal((await cli("shapes", "(5,4)", "@", "(4,3)", "+", "(3,)")).out, "(5,3)");
  });

  it("--json prints the shape or the error", async () => {
    assert.deepEqual(await cli("shapes", "(4,2)", "+", "(2,4,1)", "--json"), { code: 0, out: '{"shape":[2,4,2]}', err: "" });
    const bad = await cli("shapes", "(6,5,3)", "+", "(6,5)", "--json");
    assert.equal(bad.code, 1);
    assert.deepEqual(JSON.parse(bad.out), { error: "add: operands could not be broadcast together with shapes (6,5,3) (6,5)" });
  });

  it("errors go to stderr with exit code 1", async () => {
    const r = await cli("shapes", "(3,5,4)", "@", "(5,4,8)");
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    assert.match(r.err, /^error: matmul: batch dimensions could not be broadcast together for \(3,5,4\) @ \(5,4,8\)/);
    assert.match((await cli("shapes", "(2,x)", "+", "(2,)")).err, /cannot read shape "\(2,x\)": "x" is not a non-negative integer/);
    assert.match((await cli("shapes", "(2,)", "%", "(2,)")).err, /unknown operator "%"/);
    assert.match((await cli("shapes", "(2,)", "+")).err, /expected SHAPE OP SHAPE/);
  });

  it("usage errors are one line too, and JSON under --json", async () => {
    assert.deepEqual(await cli("shapes"), { code: 1, out: "", err: "error: missing required argument 'operands'" });
    assert.deepEqual(await cli("shapes", "--json"), { code: 1, out: '{"error":"missing required argument \'operands\'"}', err: "" });
    assert.deepEqual(await cli("shapes", "(2,)", "+", "(2,)", "--jsn"), { code: 1, out: "", err: "error: unknown option '--jsn' (Did you mean --json?)" });
  });

  it("--help lists the command", async () => {
    const r = await cli("--help");
    assert.equal(r.code, 0);
    assert.match(r.out, /shapes/);
  });
});

const bin = fileURLToPath(new URL("../bin/backprop.js", import.meta.url));
const built = existsSync(fileURLToPath(new URL("../dist/cli/main.js", import.meta.url)));

describeIf("installed bin", built ? false : "dist/ is not built (npm ci builds it)", () => {
  it("runs from the package bin with the exit code", async () => {
    const ok = spawnSync(process.execPath, [bin, "shapes", "(4,2)", "+", "(2,4,1)", "--json"], { encoding: "utf8" });
    assert.equal(ok.status, 0);
    assert.deepEqual(JSON.parse(ok.stdout), { shape: [2, 4, 2] });
    const bad = spawnSync(process.execPath, [bin, "shapes", "(6,5,3)", "+", "(6,5)"], { encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /operands could not be broadcast together with shapes \(6,5,3\) \(6,5\)/);
  });
});

describeIf("README example", built ? false : "dist/ is not built (npm ci builds it)", () => {
  it("examples/quickstart.mjs runs and prints the seeds' numbers", async () => {
    const script = fileURLToPath(new URL("../examples/quickstart.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /f = 8, df\/dx = 2, df\/dy = 2, df\/dz = 4/);
    assert.match(r.stdout, /sigmoid'\(2\) = 0\.104994/);
    assert.match(r.stdout, /x = 1\.9790/);
    assert.match(r.stdout, /\|\|Wx\|\|\^2 = 0\.1160/);
    const losses = [...r.stdout.matchAll(/loss (\d\.\d+)/g)].map((m) => Number(m[1]));
    assert.ok(losses.length === 5 && losses[4] < losses[0] / 100, `XOR loss should fall: ${losses}`);
  });
});
