# The same measurement as scripts/gpu-bench.ts `run`, with Hugging Face PEFT's prompt tuning in
# PyTorch: a 20-token soft prompt on the same checkpoint, batch 8 x 128 tokens (loss on the last
# 2), Adam; evaluation is a forward pass over 16 x 128 tokens. Prints one JSON line.
import json
import sys
import time

import torch
from peft import PromptTuningConfig, TaskType, get_peft_model
from transformers import AutoModelForCausalLM

B, T, N, EVAL_B = 8, 128, 20, 16


def tokens(count, length, vocab, salt):
    return torch.tensor([[3 + ((i * 7919 + b * 104729 + salt) % (vocab - 3)) for i in range(length)] for b in range(count)])


def main(folder, name, dtype_name):
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype_name]
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).cuda()
    model = get_peft_model(model, PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=N))
    torch.cuda.synchronize()
    setup = time.perf_counter() - start
    vocab = model.config.vocab_size
    ids = tokens(B, T, vocab, 5).cuda()
    labels = torch.full_like(ids, -100)
    labels[:, -2:] = ids[:, -2:]
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.3)
    torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(4):
        torch.cuda.synchronize()
        s = time.perf_counter()
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        torch.cuda.synchronize()
        if i > 0:
            times.append(time.perf_counter() - s)
    train_peak = torch.cuda.max_memory_allocated()
    eval_ids = tokens(EVAL_B, T, vocab, 9).cuda()
    eval_times = []
    with torch.no_grad():
        for i in range(3):
            torch.cuda.synchronize()
            s = time.perf_counter()
            model(input_ids=eval_ids)
            torch.cuda.synchronize()
            if i > 0:
                eval_times.append(time.perf_counter() - s)
    step = sum(times) / len(times)
    ev = sum(eval_times) / len(eval_times)
    print(json.dumps({
        "model": name, "framework": "peft", "dtype": dtype_name, "setupSeconds": setup,
        "trainStepSeconds": step, "trainTokensPerSecond": B * T / step,
        "evalSeconds": ev, "evalTokensPerSecond": EVAL_B * T / ev,
        "trainPeakAllocatedGiB": train_peak / 2**30, "peakAllocatedGiB": torch.cuda.max_memory_allocated() / 2**30,
        "loss": float(loss),
    }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
