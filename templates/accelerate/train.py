"""Prompt tuning of a frozen causal language model, exported by `ptune export-job`.

Run under `accelerate launch train.py` (see launch.sh and job.sbatch). Everything that decides the
experiment was fixed by the exporter in job.json: the records (already templated), the label texts
and separator, the initial soft prompt (init_prompt.safetensors) and the batch of every step
(batches.json). This script encodes, trains the soft prompt only, evaluates, and writes a run
folder that `ptune import-job RUN_DIR` brings back beside local runs.
"""
import argparse
import datetime
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--job", default=HERE, help="the exported folder (job.json, batches.json, init_prompt.safetensors)")
    p.add_argument("--out", default=os.path.join(HERE, "run"), help="the run folder to write")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints/last.pt")
    p.add_argument("--micro-batch", type=int, default=0, help="examples per forward pass on each process (0: the whole share); the step is the same")
    p.add_argument("--eval-batch", type=int, default=16)
    return p.parse_args()


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_atomic(path, text):
    # a job killed mid-write leaves the previous file, never a torn one
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def write_json(path, value):
    write_atomic(path, json.dumps(value, indent=2) + "\n")


def write_json_lines(path, rows):
    write_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))


class SequenceEncoder:
    """The exporter's SequenceEncoder for causal models, with the model's own tokenizer."""

    def __init__(self, tokenizer, context_length, bos_id):
        self.tok = tokenizer
        self.context_length = context_length
        self.bos_id = bos_id
        self.cache = {}
        self.truncated = 0

    def encode(self, text):
        ids = self.cache.get(text)
        if ids is None:
            ids = self.tok(text, add_special_tokens=True)["input_ids"]
            self.cache[text] = ids
        return ids

    def target_ids(self, target):
        # a label's tokens as they continue other text
        head = self.tok("a", add_special_tokens=False)["input_ids"]
        full = self.tok("a" + target, add_special_tokens=False)["input_ids"]
        common = 0
        while common < len(head) and head[common] == full[common]:
            common += 1
        return full[common:]

    def with_target(self, prompt, target, soft_length):
        head = self.encode(prompt)
        full = self.encode(prompt + target)
        common = 0
        while common < len(head) and common < len(full) and head[common] == full[common]:
            common += 1
        target_start = min(common, len(full) - 1)
        if target_start < 1 and soft_length == 0:
            target_start = 1
        return self.fit(full, target_start, soft_length)

    def prompt_only(self, prompt, soft_length, reserve):
        ids = self.encode(prompt)
        return self.fit(ids, len(ids), soft_length + reserve)

    def fit(self, ids, target_start, extra):
        excess = len(ids) + extra - self.context_length
        if excess <= 0:
            return ids, target_start
        self.truncated += 1
        keep_bos = 1 if self.bos_id is not None and ids and ids[0] == self.bos_id else 0
        # keep the prompt's last token
        drop = min(excess, max(0, target_start - keep_bos - 1))
        return ids[:keep_bos] + ids[keep_bos + drop:], target_start - drop


def learning_rate_at(step, total, base, schedule, warmup):
    if schedule in ("warmup", "warmup-linear") and step < warmup:
        return base * (step + 1) / warmup
    if schedule == "linear":
        return base * (total - step) / total
    if schedule == "warmup-linear":
        return base * (total - step) / max(1, total - warmup)
    return base


def classification_metrics(labels, gold, predicted, scores):
    C = len(labels)
    confusion = [[0] * C for _ in range(C)]
    gold_count = [0] * C
    correct = 0
    nll = 0.0
    for i, g in enumerate(gold):
        gold_count[g] += 1
        if predicted[i] >= 0:
            confusion[g][predicted[i]] += 1
        if g == predicted[i]:
            correct += 1
        nll += -scores[i][g]
    # the same figures as src/tuning/metrics.ts: a -1 prediction is a miss of its gold class only
    per_class = []
    for c in range(C):
        tp = confusion[c][c]
        fp = sum(confusion[r][c] for r in range(C) if r != c)
        fn = gold_count[c] - tp
        per_class.append({"label": labels[c], "precision": 0 if tp + fp == 0 else tp / (tp + fp), "recall": 0 if gold_count[c] == 0 else tp / gold_count[c],
                          "f1": 0 if tp == 0 else 2 * tp / (2 * tp + fp + fn), "support": gold_count[c]})
    f1 = 0.0
    for k in per_class:
        f1 += k["f1"]
    n = len(gold)
    rate = {l: sum(1 for p in predicted if p == c) / n for c, l in enumerate(labels)}
    return {"count": n, "accuracy": correct / n, "accuracyInterval": wilson_interval(correct, n), "macroF1": f1 / C, "confusion": confusion, "nll": nll / n,
            "predictedRate": rate, "auc": auc(gold, [s[1] - s[0] for s in scores]) if C == 2 else one_vs_rest_auc(gold, scores), "perClass": per_class}


def wilson_interval(successes, trials, z=1.959963984540054):
    if trials == 0:
        return [0, 1]
    p = successes / trials
    z2n = z * z / trials
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / trials + z2n / (4 * trials))
    return [max(0, centre - half), min(1, centre + half)]


def one_vs_rest_auc(gold, scores):
    C = len(scores[0]) if scores else 0
    total = 0.0
    for c in range(C):
        margin = [row[c] - log_sum_exp([v for k, v in enumerate(row) if k != c]) for row in scores]
        class_auc = auc([1 if g == c else 0 for g in gold], margin)
        if class_auc is None:
            return None
        total += class_auc
    return None if C == 0 else total / C


def log_sum_exp(values):
    if not values:
        return -math.inf
    top = max(values)
    if math.isinf(top):
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


def auc(gold, margin):
    if any(math.isnan(m) for m in margin):
        return None
    order = sorted(zip(margin, gold), key=lambda x: x[0])
    rank_sum, positives, i = 0.0, 0, 0
    while i < len(order):
        j = i + 1
        while j < len(order) and order[j][0] == order[i][0]:
            j += 1
        rank = (i + j + 1) / 2
        for k in range(i, j):
            if order[k][1] == 1:
                rank_sum += rank
                positives += 1
        i = j
    negatives = len(order) - positives
    if positives == 0 or negatives == 0:
        return None
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def label_of_generated(ids, text, targets):
    by_tokens = [t for t in targets if t["ids"] and len(t["ids"]) <= len(ids) and ids[:len(t["ids"])] == t["ids"]]
    if by_tokens:
        return max(by_tokens, key=lambda t: len(t["ids"]))["label"]
    text = text.strip().lower()
    by_text = []
    for t in targets:
        label_text = t["text"].strip().lower()
        rest = text[len(label_text):len(label_text) + 1]
        if text.startswith(label_text) and (rest == "" or not (rest.isalnum() or rest == "_")):
            by_text.append((len(label_text), t["label"]))
    return max(by_text)[1] if by_text else None


def main():
    args = parse_args()
    import torch
    from accelerate import Accelerator
    from accelerate.utils import gather_object
    from peft import PromptTuningConfig, PromptTuningInit, TaskType, get_peft_model
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.optimization import Adafactor

    with open(os.path.join(args.job, "job.json"), encoding="utf-8") as f:
        job = json.load(f)
    with open(os.path.join(args.job, job["training"]["batchesFile"]), encoding="utf-8") as f:
        batches = json.load(f)
    tr = job["training"]
    n = job["softPrompt"]["length"]
    labels = job["labels"]
    sep = job["labelSeparator"]
    label_texts = [sep + job["verbalizer"][l] for l in labels]

    accelerator = Accelerator()
    device = accelerator.device
    rank, world = accelerator.process_index, accelerator.num_processes
    main_process = accelerator.is_main_process
    torch.manual_seed(tr["seed"])
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()

    source = job["model"]["path"] if job["model"]["path"] and os.path.isdir(job["model"]["path"]) else job["model"]["id"]
    revision = None if source == job["model"]["path"] else job["model"]["revision"]
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    base = AutoModelForCausalLM.from_pretrained(source, revision=revision, torch_dtype=torch.bfloat16 if bf16 else torch.float32)
    base.requires_grad_(False)
    config = PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=n, prompt_tuning_init=PromptTuningInit.RANDOM,
                                token_dim=job["model"]["hiddenSize"], num_attention_heads=job["model"]["numAttentionHeads"],
                                num_layers=job["model"]["numLayers"])
    model = get_peft_model(base, config).to(device)
    model.eval()  # no dropout: the local engine has none
    embedding = model.prompt_encoder["default"].embedding
    # the prompt is trained and kept in float32; bf16 is for the frozen model's products only
    embedding.weight.data = embedding.weight.data.float()
    with torch.no_grad():
        embedding.weight.copy_(load_file(os.path.join(args.job, job["softPrompt"]["initFile"]))["prompt_embeddings"].to(device))
    embedding.weight.requires_grad_(True)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)

    encoder = SequenceEncoder(tokenizer, job["model"]["contextLength"], job["model"]["bosTokenId"])
    train_records = job["data"]["train"]["records"]
    train_seqs = [encoder.with_target(r["text"], sep + job["verbalizer"][r["label"]], n) for r in train_records]

    # Our Adafactor factors the second moment only when both sides are >= 128; transformers'
    # factors every 2-D tensor, so an unfactored prompt is handed over as a 1-D view of the same storage.
    factored = tr["adafactor"]["factored"]
    param = embedding.weight if factored else torch.nn.Parameter(embedding.weight.data.view(-1))
    if tr["optimizer"] == "adafactor":
        a = tr["adafactor"]
        optimizer = Adafactor([param], lr=tr["learningRate"], eps=tuple(a["eps"]), clip_threshold=a["clip_threshold"], decay_rate=a["decay_rate"],
                              beta1=None, weight_decay=tr["weightDecay"], scale_parameter=a["scale_parameter"],
                              relative_step=a["relative_step"], warmup_init=a["warmup_init"])
    else:
        optimizer = torch.optim.AdamW([param], lr=tr["learningRate"], betas=tuple(tr["adam"]["betas"]), eps=tr["adam"]["eps"], weight_decay=tr["weightDecay"])

    def autocast():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=bf16)

    def padded(seqs):
        width = max(len(ids) for ids, _ in seqs)
        ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for b, (s, _) in enumerate(seqs):
            ids[b, :len(s)] = torch.tensor(s)
            mask[b, :len(s)] = 1
        return ids.to(device), mask.to(device)

    def target_log_probs(seqs, soft):
        """Per sequence, the log-probability of each target token (after the soft prompt when soft)."""
        ids, mask = padded(seqs)
        with autocast():
            logits = (model if soft else model.get_base_model())(input_ids=ids, attention_mask=mask).logits
        offset = n if soft else 0
        out = []
        for b, (s, start) in enumerate(seqs):
            # token j is predicted at position offset + j - 1
            rows = logits[b, offset + start - 1: offset + len(s) - 1].float().log_softmax(-1)
            out.append(rows.gather(1, torch.tensor(s[start:], device=device).unsqueeze(1)).squeeze(1))
        return out

    def shard(items):
        # contiguous, nearly equal shares, so every process's part of a step is fixed by the step alone
        per, extra = divmod(len(items), world)
        lo = rank * per + min(rank, extra)
        return items[lo: lo + per + (1 if rank < extra else 0)]

    def score_records(records, text_of, soft, generation):
        """Label scores (and greedy generations) of this process's share; every process gets all."""
        mine = shard(list(range(len(records))))
        targets = [{"label": l, "text": job["verbalizer"][l], "ids": encoder.target_ids(t)} for l, t in zip(labels, label_texts)]
        max_new = max(len(t["ids"]) for t in targets) + 1
        soft_len = n if soft else 0
        rows = []
        with torch.no_grad():
            for lo in range(0, len(mine), args.eval_batch):
                part = mine[lo: lo + args.eval_batch]
                seqs = [encoder.with_target(text_of(records[i]), t, soft_len) for i in part for t in label_texts]
                lp = target_log_probs(seqs, soft)
                for k, i in enumerate(part):
                    vals = [lp[k * len(labels) + c] for c in range(len(labels))]
                    scores = [float(v.mean() if job["evaluation"]["rankScoring"] == "mean" else v.sum()) for v in vals]
                    rows.append({"i": i, "scores": scores})
                if generation:
                    prompts = [list(encoder.prompt_only(text_of(records[i]), soft_len, max_new)[0]) for i in part]
                    done = [False] * len(part)
                    new = [[] for _ in part]
                    for _ in range(max_new):
                        ids, mask = padded([(p + g, 0) for p, g in zip(prompts, new)])
                        with autocast():
                            logits = (model if soft else model.get_base_model())(input_ids=ids, attention_mask=mask).logits
                        offset = n if soft else 0
                        for b in range(len(part)):
                            if done[b]:
                                continue
                            nxt = int(logits[b, offset + len(prompts[b]) + len(new[b]) - 1].float().argmax())
                            new[b].append(nxt)
                            if nxt == tokenizer.eos_token_id:
                                done[b] = True
                        if all(done):
                            break
                    for k, g in enumerate(new):
                        text = tokenizer.decode(g)
                        rows[len(rows) - len(part) + k].update({"generatedIds": g, "generated": text, "generatedLabel": label_of_generated(g, text, targets)})
        gathered = sorted(gather_object(rows), key=lambda r: r["i"])
        return gathered

    def evaluate(records, prompt_id, kind, text_of, soft, generation):
        rows = score_records(records, text_of, soft, generation)
        gold = [labels.index(r["label"]) for r in records]
        argmax = lambda s: max(range(len(s)), key=lambda c: (s[c], -c))
        by_generation = job["evaluation"]["metric"] == "generate" and generation
        predicted = [(-1 if r["generatedLabel"] is None else labels.index(r["generatedLabel"])) if by_generation else argmax(r["scores"]) for r in rows]
        metrics = classification_metrics(labels, gold, predicted, [r["scores"] for r in rows])
        if generation:
            metrics["exactMatch"] = sum(1 for r, rec in zip(rows, records) if r["generatedLabel"] == rec["label"]) / len(records)
        result = {"id": prompt_id, "kind": kind, "taskParameters": n * job["model"]["hiddenSize"] if soft else 0, **metrics}
        predictions = []
        for r, rec, p, g in zip(rows, records, predicted, gold):
            row = {"index": rec["index"], "line": rec["line"], "promptId": prompt_id, "kind": kind, "gold": rec["label"],
                   "prediction": labels[p] if p >= 0 else "", "correct": p == g, "scores": dict(zip(labels, r["scores"]))}
            if generation:
                row.update({"generated": r["generated"], "generatedLabel": r["generatedLabel"], "exactMatch": r["generatedLabel"] == rec["label"]})
            predictions.append(row)
        return result, predictions

    # ---- the run folder ----
    out = os.path.abspath(args.out)
    ckpt_dir = os.path.join(out, "checkpoints")
    last_ckpt = os.path.join(ckpt_dir, "last.pt")
    if main_process:
        os.makedirs(ckpt_dir, exist_ok=True)
    accelerator.wait_for_everyone()
    run_id = os.path.basename(out)
    device_name = f"accelerate: {world} x {device.type}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "") + (" bf16" if bf16 else " fp32")
    if args.resume and os.path.exists(os.path.join(out, "run.json")):
        with open(os.path.join(out, "run.json"), encoding="utf-8") as f:
            record = json.load(f)
    else:
        record = {"schemaVersion": 1, "id": run_id, "name": job["name"], "specFile": job["specFile"], "spec": job["spec"], "engine": "accelerate",
                  "model": {"id": job["model"]["id"], "folder": source, "revision": job["model"]["revision"], "files": {}},
                  "seed": tr["seed"], "device": device_name, "status": "running", "createdAt": now(), "updatedAt": now(),
                  "step": 0, "steps": tr["steps"], "bestStep": None, "bestDevAccuracy": None}

    def update_record(**change):
        record.update(change, updatedAt=now())
        if main_process:
            write_json(os.path.join(out, "run.json"), record)

    update_record(device=device_name, status="running")
    dev = job["data"]["dev"]
    held_out = job["data"][job["evaluation"]["split"]]
    soft_text = lambda r: r["text"]

    start, best_acc, best_step, since_best, metrics = 0, None, None, 0, []
    best_prompt = None
    if args.resume:
        if not os.path.exists(last_ckpt):
            sys.exit(f"{last_ckpt}: no checkpoint to resume from")
        state = torch.load(last_ckpt, map_location=device, weights_only=False)
        with torch.no_grad():
            embedding.weight.copy_(state["prompt"])
        optimizer.load_state_dict(state["optimizer"])
        start, best_acc, best_step, since_best, metrics = state["step"], state["bestAccuracy"], state["bestStep"], state["sinceBest"], state["metrics"]
        best_prompt = state["bestPrompt"]
        accelerator.print(f"resuming at step {start} of {tr['steps']}")

    def checkpoint(step):
        if main_process:
            tmp = f"{last_ckpt}.tmp"
            torch.save({"step": step, "prompt": embedding.weight.detach().cpu(), "optimizer": optimizer.state_dict(), "bestAccuracy": best_acc,
                        "bestStep": best_step, "sinceBest": since_best, "metrics": metrics, "bestPrompt": best_prompt}, tmp)
            os.replace(tmp, last_ckpt)
            write_json_lines(os.path.join(out, "metrics.jsonl"), metrics)
        accelerator.wait_for_everyone()

    def evaluate_dev(step):
        nonlocal best_acc, best_step, since_best, best_prompt
        if not dev:
            return False
        result, _ = evaluate(dev["records"], job["softPrompt"]["id"], "soft", soft_text, True, False)
        better = best_acc is None or result["accuracy"] > best_acc
        if better:
            best_acc, best_step, since_best = result["accuracy"], step, 0
            best_prompt = embedding.weight.detach().cpu().clone()
        else:
            since_best += 1
        metrics.append({"step": step, "split": "dev", "devAccuracy": result["accuracy"], "devNll": result["nll"], "devMacroF1": result["macroF1"]})
        accelerator.print(f"step {step}: dev accuracy {100 * result['accuracy']:.1f}%  dev NLL {result['nll']:.3f}" + ("  (best so far)" if better else ""))
        return tr["patience"] is not None and since_best >= tr["patience"]

    if start == 0:
        evaluate_dev(0)
        checkpoint(0)
    step = start
    stopped_early = False
    while step < tr["steps"]:
        batch = batches[step]
        seqs = [train_seqs[i] for i in batch]
        # the loss is the mean over every target token of the global batch, as the local engine's
        total_targets = sum(len(ids) - start_ for ids, start_ in seqs)
        mine = shard(seqs)
        began = time.time()
        local_loss = torch.zeros((), device=device)
        micro = args.micro_batch or max(1, len(mine))
        for lo in range(0, len(mine), micro):
            part = mine[lo: lo + micro]
            lp = target_log_probs(part, True)
            loss = -torch.cat(lp).sum() / total_targets
            loss.backward()
            local_loss += loss.detach()
        grad = embedding.weight.grad if embedding.weight.grad is not None else torch.zeros_like(embedding.weight)
        grad = accelerator.reduce(grad.contiguous(), reduction="sum")
        loss_value = float(accelerator.reduce(local_loss, reduction="sum"))
        embedding.weight.grad = None
        if not math.isfinite(loss_value):
            update_record(status="failed", error=f"the loss became {loss_value} at step {step + 1}; lower training.learningRate or set training.clipNorm")
            sys.exit(1)
        grad_norm = float(grad.norm())
        if tr["clipNorm"] and grad_norm > tr["clipNorm"]:
            grad = grad * (tr["clipNorm"] / grad_norm)
        lr = learning_rate_at(step, tr["steps"], tr["learningRate"], tr["schedule"], tr["warmupSteps"])
        for group in optimizer.param_groups:
            group["lr"] = lr
        param.grad = grad if factored else grad.reshape(-1)
        optimizer.step()
        param.grad = None
        step += 1
        seconds = max(time.time() - began, 1e-9)
        metrics.append({"step": step, "loss": loss_value, "learningRate": lr, "gradNorm": grad_norm, "examplesPerSecond": tr["globalBatchSize"] / seconds})
        accelerator.print(f"step {step}/{tr['steps']}  loss {loss_value:.4f}  lr {lr:.4f}")
        stop = (step % tr["evalEvery"] == 0 or step == tr["steps"]) and evaluate_dev(step)
        if stop:
            stopped_early = True
            accelerator.print(f"early stop at step {step}: no better dev accuracy in {tr['patience']} evaluations")
            checkpoint(step)
            break
        if step % tr["checkpointEvery"] == 0 or step == tr["steps"]:
            checkpoint(step)
            update_record(step=step, bestStep=best_step, bestDevAccuracy=best_acc)

    # the prompt to keep: the best on dev, else the last
    if best_prompt is not None:
        with torch.no_grad():
            embedding.weight.copy_(best_prompt.to(device))
    results, predictions = [], []
    generation = job["evaluation"]["generation"] or job["evaluation"]["metric"] == "generate"
    for d in job["evaluation"]["discretePrompts"]:
        result, rows = evaluate(held_out["records"], d["id"], "discrete", lambda r, i=d["id"]: r["discrete"][i], False, generation)
        results.append(result)
        predictions += rows
        accelerator.print(f"{job['evaluation']['split']} {d['id']} (discrete): accuracy {100 * result['accuracy']:.1f}%")
    result, rows = evaluate(held_out["records"], job["softPrompt"]["id"], "soft", soft_text, True, generation)
    results.append(result)
    predictions += rows
    accelerator.print(f"{job['evaluation']['split']} {job['softPrompt']['id']} (soft): accuracy {100 * result['accuracy']:.1f}%")
    if main_process:
        write_json(os.path.join(out, "eval.json"), {"schemaVersion": 1, "split": job["evaluation"]["split"], "file": held_out["file"], "labels": labels,
                                                   "verbalizer": job["verbalizer"], "results": results, "truncated": encoder.truncated})
        write_json_lines(os.path.join(out, "predictions.jsonl"), predictions)
        write_json_lines(os.path.join(out, "metrics.jsonl"), metrics)
        # PEFT's own layout: PeftModel.from_pretrained(base, OUT) loads it, and so does ptune
        model.save_pretrained(out, safe_serialization=True)
        readme = os.path.join(out, "README.md")
        if os.path.exists(readme):
            os.remove(readme)
    update_record(status="completed", step=step, bestStep=best_step, bestDevAccuracy=best_acc, stoppedEarly=stopped_early)
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main()
