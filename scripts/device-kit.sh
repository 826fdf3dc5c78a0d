#!/usr/bin/env bash
# Packs what `npm run bench` needs on a machine without Node or npm access (the GPU machines some
# sessions are lent have PyTorch and an AVX-512 Xeon, but no Node): the node binary, the built library
# and addon, esbuild bundles of the benchmark (TensorFlow.js inside), and the few packages the tests
# load. Writes .devkit/ (ignored by git); carry .devkit, dist, native/build and
# src/core/backends/wasm/module.ts, then run there:
#   bash .devkit/bench.sh          # taskset -c 0,1 npm run bench, as it would run here
#   bash .devkit/test.sh           # the backend and primitive tests (the CPU picks the micro-kernel)
#   bash .devkit/profile.sh        # where a training step's time goes, next to PyTorch's profile
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
rm -rf .devkit && mkdir -p .devkit
banner="import { createRequire as __cr } from 'module'; import { fileURLToPath as __fu } from 'url'; import { dirname as __dn } from 'path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
bundle() { npx esbuild "bench/$1.ts" --bundle --platform=node --format=esm --outfile=".devkit/$1.bundle.mjs" --external:../dist/* --external:./micrograd.mjs "--banner:js=$banner" --log-level=warning; }
bundle run
bundle isolated
bundle profile
tar cf - node_modules/tsx node_modules/esbuild node_modules/@esbuild node_modules/fast-check node_modules/pure-rand \
  node_modules/@tensorflow/tfjs-backend-wasm/package.json node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm | xz -T0 -6 > .devkit/nm.tar.xz
xz -T0 -6 -c "$(command -v node)" > .devkit/node.xz
cat > .devkit/setup.sh <<'EOF'
set -e
mkdir -p /tmp/nodebin && xz -dc .devkit/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node
[ -d node_modules ] || xz -dc .devkit/nm.tar.xz | tar xf -
cp .devkit/run.bundle.mjs .devkit/isolated.bundle.mjs .devkit/profile.bundle.mjs bench/
# The bundled benchmark starts the bundled isolated processes (TensorFlow.js is only in the bundles).
sed -i 's#"--import", "tsx", join(here, "isolated.ts")#join(here, "isolated.bundle.mjs")#' bench/run.bundle.mjs
EOF
cat > .devkit/bench.sh <<'EOF'
bash .devkit/setup.sh && PATH=/tmp/nodebin:$PATH taskset -c 0,1 node bench/run.bundle.mjs "$@"
EOF
cat > .devkit/profile.sh <<'EOF'
bash .devkit/setup.sh && PATH=/tmp/nodebin:$PATH taskset -c 0,1 node bench/profile.bundle.mjs "$@"
EOF
cat > .devkit/test.sh <<'EOF'
bash .devkit/setup.sh && PATH=/tmp/nodebin:$PATH taskset -c 0,1 node --import tsx --test test/backends.test.ts test/primitives.test.ts
EOF
du -sh .devkit
