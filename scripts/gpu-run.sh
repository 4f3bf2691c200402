#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, PyTorch, transformers and PEFT (and no Node): WebGPU (fp32,
# fp16) beside PEFT's prompt tuning (fp32, bf16) on random checkpoints of real configs. Copy the
# checkout with the .gpu/ and .gl/ that scripts/gpu-pack.sh makes, then `OUT=results bash
# scripts/gpu-run.sh`; results land in $OUT (env.txt, check.json, results.jsonl, gpumem.txt,
# log.txt). Steps run most important first and stop at DEADLINE seconds, so a short lease still
# brings back the side-by-side figures of one model and the 8B shape in 24 GB.
set -u
FIRST=${FIRST:-Qwen2.5-0.5B}
MORE=${MORE:-"SmolLM2-135M Llama-3.2-1B"}
BIG=${BIG:-Llama-3.1-8B}
DEADLINE=${DEADLINE:-520}
START=$(date +%s)
mkdir -p "$OUT"; exec 2>>"$OUT/log.txt"
left() { echo $(( DEADLINE - ($(date +%s) - START) )); }
for f in .gl/*.deb; do dpkg -x "$f" / ; done; ldconfig 2>/dev/null
f=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; [ -f $f ] && export VK_DRIVER_FILES=$f
xz -T0 -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node
xz -T0 -dc .gpu/libonnxruntime.so.1.xz > .gpu/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
export XDG_RUNTIME_DIR=/tmp/xdg; mkdir -p $XDG_RUNTIME_DIR
N=/tmp/node; B=.gpu/bench.mjs; C=/tmp/ckpt
{ nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv; nproc; free -g | head -2;
  python3 -c "import torch,transformers,peft,onnxruntime as o;print('torch',torch.__version__,'transformers',transformers.__version__,'peft',peft.__version__,'onnxruntime',o.__version__,o.get_available_providers())";
  ls /usr/local/cuda*/lib64/libcudart.so* 2>/dev/null | head -3; } > "$OUT/env.txt" 2>&1
# peak TAG LIMIT COMMAND...: one process on the GPU alone; its JSON line to results.jsonl, its
# seconds and peak GPU memory (nvidia-smi, all processes, sampled every 200 ms) to gpumem.txt
peak() { tag=$1; limit=$2; shift 2; l=$(left); [ $l -lt 25 ] && { echo "$tag skipped (deadline)" >> "$OUT/gpumem.txt"; return; }
  [ $limit -gt $l ] && limit=$l
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > /tmp/mem.txt & p=$!
  s=$(date +%s.%N); timeout $limit "$@" >> "$OUT/results.jsonl"; rc=$?; kill $p; wait $p 2>/dev/null
  echo "$tag rc=$rc seconds=$(awk "BEGIN{print $(date +%s.%N)-$s}") peakMiB=$(sort -n /tmp/mem.txt | tail -1)" >> "$OUT/gpumem.txt"; }
four() { m=$1; e=$2
  peak "ours-$m-fp16" $e $N $B run $C $m webgpu fp16
  [ -z "${OURS_ONLY:-}" ] && peak "peft-$m-bf16" $e python3 scripts/peft_bench.py $C/$m $m bf16
  peak "ours-$m-fp32" $e $N $B run $C $m webgpu fp32
  [ -z "${OURS_ONLY:-}" ] && peak "peft-$m-fp32" $e python3 scripts/peft_bench.py $C/$m $m fp32; }
echo "idle $(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits)" >> "$OUT/gpumem.txt"
# the 8B checkpoint (16 GB) is written while the GPU measures the small ones
[ -n "$BIG" ] && { $N $B write $C $BIG > "$OUT/write-big.json" 2>>"$OUT/log.txt" & }
W=$!
$N $B write $C $FIRST $MORE >> "$OUT/results.jsonl"
timeout 60 $N $B check models/stories260K > "$OUT/check.json"
four $FIRST 60
if [ -n "$BIG" ]; then
  wait $W
  peak "ours-$BIG-fp16-budget24GiB" 200 $N $B run $C $BIG webgpu fp16 24
  [ -z "${OURS_ONLY:-}" ] && peak "peft-$BIG-bf16" 90 python3 scripts/peft_bench.py $C/$BIG $BIG bf16
fi
for m in $MORE; do four $m 45; done
echo "done after $(( $(date +%s) - START )) s" >> "$OUT/gpumem.txt"
