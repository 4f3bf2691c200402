# Reference values from Hugging Face transformers (float64) for tiny random models, and a check
# that PEFT loads an adapter written by Prompt Tuning Studio and scores like it.
# The families added later (Qwen3, Gemma 3, Gemma 2, SmolLM3, OLMo 2, Phi-3) take the tiny configs of
# scripts/numpy_reference.py; their folders here replace test/fixtures/numpy-fixtures' in
# test/families.test.ts (copy hf-fixtures/<name> over numpy-fixtures/<name>: same files).
import json, os, sys, tarfile, torch
torch.manual_seed(0)
out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
import transformers
from transformers import (GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM, T5Config, T5ForConditionalGeneration)
report = {"transformers": transformers.__version__, "torch": torch.__version__}

def causal_reference(name, model, vocab, n=3, ids=(1, 5, 9, 17, 33, 2, 40, 61), target_start=2):
    model = model.double().eval()
    d = model.get_input_embeddings().weight.shape[1]
    g = torch.Generator().manual_seed(1)
    prompt = (torch.rand(n, d, generator=g, dtype=torch.float64) - 0.5).requires_grad_(True)
    ids_t = torch.tensor([list(ids)])
    emb = model.get_input_embeddings()(ids_t)
    x = torch.cat([prompt.unsqueeze(0), emb], 1)
    logits = model(inputs_embeds=x).logits[0]
    logp = torch.log_softmax(logits, -1)
    targets = list(range(target_start, len(ids)))
    loss = -torch.stack([logp[n + j - 1, ids[j]] for j in targets]).mean()
    loss.backward()
    folder = os.path.join(out_dir, name)
    model.float().save_pretrained(folder, safe_serialization=True)
    # no prompt: plain logits of the tokens
    with torch.no_grad():
        plain = model.double()(input_ids=ids_t).logits[0]
    json.dump({"ids": list(ids), "targetStart": target_start, "prompt": prompt.detach().tolist(), "loss": loss.item(),
               "grad": prompt.grad.tolist(), "logitsWithPrompt": logits.detach().tolist(), "logits": plain.tolist()},
              open(os.path.join(folder, "reference.json"), "w"))
    return loss.item()

def greedy(model, ids, prompt, new_tokens):
    tokens = list(ids)
    with torch.no_grad():
        for _ in range(new_tokens):
            emb = model.get_input_embeddings()(torch.tensor([tokens]))
            x = torch.cat([prompt.unsqueeze(0), emb], 1) if prompt is not None else emb
            tokens.append(int(model(inputs_embeds=x).logits[0, -1].argmax()))
    return tokens[len(ids):]

def family_reference(name, model, gemma=False, ids=(1, 5, 9, 17, 33, 2, 40, 61), greedy_from=5, greedy_new=6):
    # weights of the numpy fixtures' scale (transformers' 0.02 init leaves near-ties in greedy decoding)
    torch.manual_seed(len(name))
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("norm.weight"):
                p.copy_((0.0 if gemma else 1.0) + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    loss = causal_reference(name, model, V, ids=ids)
    folder = os.path.join(out_dir, name)
    ref = json.load(open(os.path.join(folder, "reference.json")))
    prompt = torch.tensor(ref["prompt"], dtype=torch.float64)
    model = model.double().eval()
    ref["source"] = f"scripts/hf_fixtures.py (transformers {transformers.__version__}, float64)"
    ref["greedy"] = {"from": list(ids[:greedy_from]), "newTokens": greedy_new, "plain": greedy(model, ids[:greedy_from], None, greedy_new),
                     "withPrompt": greedy(model, ids[:greedy_from], prompt, greedy_new)}
    json.dump(ref, open(os.path.join(folder, "reference.json"), "w"))
    return loss

def t5_reference(name, model, n=3, enc=(4, 8, 15, 16, 23, 42, 1), labels=(7, 12, 1)):
    model = model.double().eval()
    d = model.config.d_model
    g = torch.Generator().manual_seed(1)
    prompt = (torch.rand(n, d, generator=g, dtype=torch.float64) - 0.5).requires_grad_(True)
    emb = model.get_input_embeddings()(torch.tensor([list(enc)]))
    x = torch.cat([prompt.unsqueeze(0), emb], 1)
    out = model(inputs_embeds=x, labels=torch.tensor([list(labels)]))
    out.loss.backward()
    folder = os.path.join(out_dir, name)
    model.float().save_pretrained(folder, safe_serialization=True)
    with torch.no_grad():
        plain = model.double()(input_ids=torch.tensor([list(enc)]), labels=torch.tensor([list(labels)])).logits[0]
    json.dump({"encoderIds": list(enc), "labels": list(labels), "prompt": prompt.detach().tolist(), "loss": out.loss.item(),
               "grad": prompt.grad.tolist(), "logitsWithPrompt": out.logits[0].detach().tolist(), "logits": plain.tolist()},
              open(os.path.join(folder, "reference.json"), "w"))
    return out.loss.item()

V = 96
report["gpt2"] = causal_reference("gpt2-tiny", GPT2LMHeadModel(GPT2Config(vocab_size=V, n_positions=32, n_embd=16, n_layer=2, n_head=4, bos_token_id=1, eos_token_id=2)), V)
report["llama"] = causal_reference("llama-tiny", LlamaForCausalLM(LlamaConfig(vocab_size=V, hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=False, rope_theta=500000.0, rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16}, bos_token_id=1, eos_token_id=2)), V)
report["qwen2"] = causal_reference("qwen2-tiny", Qwen2ForCausalLM(Qwen2Config(vocab_size=V, hidden_size=16, intermediate_size=24, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)), V)
report["t5v11"] = t5_reference("t5-v1_1-tiny", T5ForConditionalGeneration(T5Config(vocab_size=V, d_model=16, d_kv=4, d_ff=24, num_layers=2, num_decoder_layers=2, num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=20, feed_forward_proj="gated-gelu", tie_word_embeddings=False, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)))
report["t5"] = t5_reference("t5-original-tiny", T5ForConditionalGeneration(T5Config(vocab_size=V, d_model=16, d_kv=4, d_ff=24, num_layers=2, num_decoder_layers=2, num_heads=4, relative_attention_num_buckets=8, relative_attention_max_distance=20, feed_forward_proj="relu", tie_word_embeddings=True, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)))

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_reference import FIXTURES
from transformers import AutoConfig, AutoModelForCausalLM
for name, fields in FIXTURES.items():
    try:
        fields = {k: v for k, v in fields.items() if k != "model_type"}
        config = AutoConfig.for_model(FIXTURES[name]["model_type"], **fields)
        config._attn_implementation = "eager"
        report[name] = family_reference(name, AutoModelForCausalLM.from_config(config, attn_implementation="eager"), gemma=FIXTURES[name]["model_type"] in ("gemma3_text", "gemma2"))
    except Exception as e:
        report[name] = {"error": repr(e)}

# PEFT loads our adapter and scores like us
try:
    import peft
    from peft import PeftModel
    report["peft"] = peft.__version__
    base = LlamaForCausalLM.from_pretrained("models/stories260K", torch_dtype=torch.float32).eval()
    m = PeftModel.from_pretrained(base, ".gpu/stage/adapter").eval()
    ours = json.load(open(".gpu/stage/adapter/ours.json"))
    with torch.no_grad():
        logits = m(input_ids=torch.tensor([ours["ids"]])).logits[0]
        last = logits[-1]
        diff = (last - torch.tensor(ours["lastLogits"])).abs().max().item()
        seq = ours["seq"]; ts = ours["targetStart"]
        lg = torch.log_softmax(m(input_ids=torch.tensor([seq])).logits[0], -1)
        lp = sum(lg[j - 1, seq[j]].item() for j in range(ts, len(seq)))
    report["peftCheck"] = {"lastLogitsMaxAbsDiff": diff, "logitsRows": logits.shape[0], "peftLogProb": lp, "ourLogProb": ours["logProb"]}
except Exception as e:
    report["peftCheck"] = {"error": repr(e)}
json.dump(report, open(os.path.join(out_dir, "report.json"), "w"), indent=1)
print("REPORT", json.dumps(report))
with tarfile.open(os.path.join(os.environ.get("OUT", "."), "hf-fixtures.tar.gz"), "w:gz") as t:
    t.add(out_dir, arcname="hf-fixtures")
