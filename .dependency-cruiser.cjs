/**
 * The layering of src/, checked by dependency-cruiser in `npm test` (test/layering.test.ts):
 *   core <- data, optim, plot <- nn        (core imports none of them)
 *   core <- explain                        (language <- interpreters <- report <- renderers <- teaching)
 *   core, data, optim, nn <- interop       (ONNX, safetensors, PyTorch code: doors to other engines)
 *   index.ts <- node <- cli                (the package entries and the command line on top)
 * Inside core, the backends sit behind backend.ts: autodiff and the ops never import one.
 * Only the Node entry and the CLI use Node's own modules; everything else runs in browsers too.
 */
const layer = (from, allowed) => ({
  name: `${from.name}-imports-only-${allowed.map((a) => a.name).join("-") || "itself"}`,
  comment: `${from.name} may import ${allowed.map((a) => a.name).join(", ") || "nothing outside itself"}`,
  severity: "error",
  from: { path: from.path },
  to: { path: "^src/", pathNot: [from.path, ...allowed.map((a) => a.path)] },
});
const L = {
  core: { name: "core", path: "^src/core/" },
  data: { name: "data", path: "^src/data/" },
  optim: { name: "optim", path: "^src/optim/" },
  plot: { name: "plot", path: "^src/plot/" },
  nn: { name: "nn", path: "^src/nn/" },
  explain: { name: "explain", path: "^src/explain/" },
  interop: { name: "interop", path: "^src/interop/" },
  index: { name: "index", path: "^src/index\\.ts$" },
  node: { name: "node", path: "^src/node/" },
  cli: { name: "cli", path: "^src/cli/" },
};
const { core, data, optim, plot, nn, explain, interop, index, node, cli } = L;

module.exports = {
  forbidden: [
    layer(core, []),
    layer(data, [core]),
    layer(optim, [core]),
    layer(plot, [core]),
    layer(nn, [core, data, optim]),
    layer(explain, [core]),
    layer(interop, [core, data, optim, nn]),
    layer(index, [core, data, optim, plot, nn, explain, interop]),
    layer(node, [core, data, index]),
    layer(cli, [core, data, optim, plot, nn, explain, interop, index, node]),
    {
      name: "autodiff-never-sees-a-backend",
      comment: "the core reaches the wasm and native kernels only through backend.ts; the package entries register them",
      severity: "error",
      from: { path: "^src/core/", pathNot: "^src/core/backends/" },
      to: { path: "^src/core/backends/(wasm|native)/" },
    },
    {
      name: "explain-language-is-the-bottom",
      comment: "the explain language (parse, AST, printing) imports no interpreter, report or renderer",
      severity: "error",
      from: { path: "^src/explain/language/" },
      to: { path: "^src/explain/(interpreters|report|renderers)/" },
    },
    {
      name: "explain-interpreters-below-the-report",
      severity: "error",
      from: { path: "^src/explain/interpreters/" },
      to: { path: "^src/explain/(report|renderers)/" },
    },
    {
      name: "explain-renderers-read-the-report",
      comment: "renderers print the report (and the language); they run no interpreter",
      severity: "error",
      from: { path: "^src/explain/renderers/" },
      to: { path: "^src/explain/interpreters/" },
    },
    {
      name: "explain-report-renders-nothing",
      severity: "error",
      from: { path: "^src/explain/report/" },
      to: { path: "^src/explain/renderers/" },
    },
    {
      name: "explain-teaching-on-top",
      comment: "the teaching tools (check my work, exercises) build on the whole explainer; nothing in it imports them",
      severity: "error",
      from: { path: "^src/explain/(language|interpreters|report|renderers)/" },
      to: { path: "^src/explain/teaching/" },
    },
    {
      name: "node-modules-only-in-node-and-cli",
      comment: "Node's own modules (node:fs...) only in the Node entry and the CLI: the rest runs in browsers",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(node|cli)/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      // Inside a folder, modules may refer to each other (a tensor's methods call its ops); a cycle that
      // leaves its folder would tie two layers together.
      name: "no-cycles-across-folders",
      severity: "error",
      from: { path: "^(src/[^/]+)/" },
      to: { circular: true, via: { pathNot: "^$1/" } },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
