#!/usr/bin/env bash
# Packs what a GPU machine without Node needs into .gpu/ (ignored by git; about 40 MB): the bench
# bundled by esbuild, node and onnxruntime's library compressed, onnxruntime-node's JS, and into
# .gl/ the Vulkan loader that WebGPU opens with glvnd (NVIDIA's Vulkan driver lives in
# libGLX_nvidia, which did not start without it). Then, there: OUT=results bash scripts/gpu-run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || printf '/.gpu/\n/.gl/\n' >> .git/info/exclude
rm -rf .gpu && mkdir -p .gpu/node_modules/onnxruntime-node/bin/napi-v6/linux/x64 .gl
npx esbuild scripts/gpu-bench.ts --bundle --platform=node --format=esm --external:onnxruntime-node --outfile=.gpu/bench.mjs \
  --banner:js="import { createRequire as bannerRequire } from 'module'; const require = bannerRequire(import.meta.url);"
ort=node_modules/onnxruntime-node
cp -r $ort/dist $ort/package.json .gpu/node_modules/onnxruntime-node/
cp $ort/bin/napi-v6/linux/x64/onnxruntime_binding.node .gpu/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
cp -r node_modules/onnxruntime-common .gpu/node_modules/
xz -T0 -6 -c $ort/bin/napi-v6/linux/x64/libonnxruntime.so.1 > .gpu/libonnxruntime.so.1.xz
xz -T0 -6 -c "$(readlink -f "$(command -v node)")" > .gpu/node.xz
if ! ls .gl/libglvnd0_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null && (cd .gl && apt-get $o download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2)
fi
cp scripts/gpu-run.sh .gpu/run.sh
du -sh .gpu .gl
