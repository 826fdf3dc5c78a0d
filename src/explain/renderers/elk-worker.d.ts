// elkjs ships its bundled worker without types; graph.ts drives it synchronously (see elkLayout).
declare module "elkjs/lib/elk-worker.min.js" {
  const module: unknown;
  export default module;
}
