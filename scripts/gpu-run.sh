#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, PyTorch, transformers and PEFT (and no Node): WebGPU (fp32,
# fp16) beside PEFT's prompt tuning (fp32, bf16) on random checkpoints of real configs. Copy the
# checkout with the .gpu/ and .gl/ that scripts/gpu-pack.sh makes, then `OUT=results bash
# scripts/gpu-run.sh`; results land in $OUT (check.json, results.jsonl, gpumem.txt, log.txt).
set -u
MODELS=${MODELS:-"SmolLM2-135M Qwen2.5-0.5B Llama-3.2-1B"}
BIG=${BIG:-Llama-3.1-8B}
EACH=${EACH:-150}
mkdir -p "$OUT"; exec 2>>"$OUT/log.txt"
for f in .gl/*.deb; do dpkg -x "$f" / ; done; ldconfig 2>/dev/null
f=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; [ -f $f ] && export VK_DRIVER_FILES=$f
xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node
xz -dc .gpu/libonnxruntime.so.1.xz > .gpu/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
export XDG_RUNTIME_DIR=/tmp/xdg; mkdir -p $XDG_RUNTIME_DIR
N=/tmp/node; B=.gpu/bench.mjs; C=/tmp/ckpt
{ nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv; nproc; free -g | head -2;
  python3 -c "import torch,transformers,peft;print('torch',torch.__version__,'transformers',transformers.__version__,'peft',peft.__version__)"; } > "$OUT/env.txt" 2>&1
peak() { tag=$1; shift; nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > /tmp/mem.txt & p=$!
  s=$(date +%s.%N); timeout $EACH "$@" >> "$OUT/results.jsonl"; rc=$?; kill $p; wait $p 2>/dev/null
  echo "$tag rc=$rc seconds=$(awk "BEGIN{print $(date +%s.%N)-$s}") peakMiB=$(sort -n /tmp/mem.txt | tail -1)" >> "$OUT/gpumem.txt"; }
echo "idle $(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits)" >> "$OUT/gpumem.txt"
timeout 120 $N $B check models/stories260K > "$OUT/check.json"
$N $B write $C $MODELS >> "$OUT/results.jsonl"
for m in $MODELS; do
  peak "ours-$m-fp32" $N $B run $C $m webgpu fp32
  peak "ours-$m-fp16" $N $B run $C $m webgpu fp16
  peak "peft-$m-fp32" python3 scripts/peft_bench.py $C/$m $m fp32
  peak "peft-$m-bf16" python3 scripts/peft_bench.py $C/$m $m bf16
done
if [ -n "$BIG" ]; then
  $N $B write $C $BIG >> "$OUT/results.jsonl"
  EACH=200 peak "ours-$BIG-fp16" $N $B run $C $BIG webgpu fp16
  EACH=150 peak "peft-$BIG-bf16" python3 scripts/peft_bench.py $C/$BIG $BIG bf16
fi
echo done >> "$OUT/gpumem.txt"
