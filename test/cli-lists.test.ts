/**
 * Lists the CLI shows that come from one table each (issue 16: a new format or activation is one
 * entry): explain's --out extensions from its EXTENSIONS, train's activations from nn's ACTIVATIONS.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { cli } from "./cli-helper.js";
import { ACTIVATIONS } from "../src/nn/layers.js";

describe("the CLI's lists come from their tables", () => {
  it("explain --help names every --out extension", async () => {
    const r = await cli("explain", "--help");
    assert.match(r.out.replace(/\s+/g, " "), /its extension \(\.svg \.png \.tex \.md \.json \.dot \.mmd \.py \.ts \.txt\) gives the format/);
  });

  it("train's --activation help and error name the activations mlp accepts", async () => {
    assert.deepEqual(ACTIVATIONS, ["relu", "leakyrelu", "sigmoid", "tanh"]);
    const help = await cli("train", "--help");
    assert.match(help.out.replace(/\s+/g, " "), /--activation <name> relu, leakyrelu, sigmoid or tanh/);
    const r = await cli("train", "--activation", "gelu");
    assert.equal(r.code, 1);
    assert.equal(r.err, 'error: --activation must be relu, leakyrelu, sigmoid or tanh, got "gelu"');
  });
});
