#!/usr/bin/env bash
# Runs the exported job on this machine, one process per GPU.
#   ./launch.sh [--resume] [--out RUN_DIR]        NUM_PROCESSES=N to use fewer GPUs
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -z "${NUM_PROCESSES:-}" ]]; then
  if command -v nvidia-smi >/dev/null 2>&1; then
    NUM_PROCESSES="$(nvidia-smi --list-gpus | wc -l)"
  else
    NUM_PROCESSES=1
  fi
fi
if [[ "${NUM_PROCESSES}" -le 1 ]]; then
  exec accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no --dynamo_backend no \
    "${here}/train.py" --job "${here}" "$@"
fi
exec accelerate launch --config_file "${here}/accelerate_config.yaml" --num_processes "${NUM_PROCESSES}" \
  "${here}/train.py" --job "${here}" "$@"
