"""Float64 references for the model families added after transformers' own fixtures were made.

Writes, for each family, a tiny random-weight checkpoint (config.json with the real configs'
option values at tiny sizes, model.safetensors in float32) and reference.json: the loss of a
soft prompt and target tokens, its gradient with respect to the prompt (central differences of
the float64 forward), logits with and without the prompt, and greedy continuations. The forward
pass is written here from each architecture's published definition (the modeling files of
Hugging Face transformers: Qwen3, Gemma 3, SmolLM3, OLMo 2, Phi-3), in numpy float64.

These fixtures stand in for transformers' own until a machine with transformers runs
scripts/hf_fixtures.py, which makes the same checkpoints' references with the library itself.

    python3 scripts/numpy_reference.py test/fixtures/numpy-fixtures
"""
import json
import math
import os
import struct
import sys

import numpy as np

V = 96


def tiny(model_type, **fields):
    base = dict(model_type=model_type, vocab_size=V, hidden_size=16, intermediate_size=24, num_hidden_layers=3,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64, bos_token_id=1, eos_token_id=2)
    base.update(fields)
    return base


# Each family's real configs' options (Qwen3-0.6B, Gemma-3-270M, Gemma-2-2B, SmolLM3-3B, OLMo-2-0425-1B, Phi-4-mini) at
# tiny sizes; soft-capping caps small enough to matter for tiny random logits.
FIXTURES = {
    "qwen3-tiny": tiny("qwen3", head_dim=8, rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
                       attention_bias=False, use_sliding_window=False, sliding_window=None, max_window_layers=3, hidden_act="silu"),
    "gemma3-tiny": tiny("gemma3_text", num_key_value_heads=1, head_dim=8, hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
                        rope_theta=1000000.0, rope_local_base_freq=10000.0, rope_scaling=None, query_pre_attn_scalar=12,
                        sliding_window=4, layer_types=["sliding_attention", "sliding_attention", "full_attention"],
                        final_logit_softcapping=3.0, attn_logit_softcapping=None, tie_word_embeddings=True,
                        attention_bias=False, use_bidirectional_attention=False, bos_token_id=2, eos_token_id=1, pad_token_id=0),
    "smollm3-tiny": tiny("smollm3", num_hidden_layers=4, rope_theta=5000000.0, rms_norm_eps=1e-6, no_rope_layers=[1, 1, 1, 0],
                         no_rope_layer_interval=4, use_sliding_window=False, sliding_window=None, tie_word_embeddings=True,
                         attention_bias=False, mlp_bias=False, hidden_act="silu"),
    "olmo2-tiny": tiny("olmo2", num_key_value_heads=4, rope_theta=500000.0, rms_norm_eps=1e-6, tie_word_embeddings=False,
                       attention_bias=False, hidden_act="silu"),
    "phi3-tiny": tiny("phi3", num_attention_heads=2, num_key_value_heads=1, rms_norm_eps=1e-5, rope_theta=10000.0,
                      partial_rotary_factor=0.5, original_max_position_embeddings=16, sliding_window=5,
                      rope_scaling={"type": "longrope", "short_factor": [1.0, 1.5], "long_factor": [2.0, 4.0]},
                      tie_word_embeddings=False, hidden_act="silu"),
    "gemma2-tiny": tiny("gemma2", num_hidden_layers=4, head_dim=8, hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
                        rope_theta=10000.0, query_pre_attn_scalar=12, sliding_window=4, final_logit_softcapping=3.0,
                        attn_logit_softcapping=2.0, tie_word_embeddings=True, attention_bias=False, bos_token_id=2, eos_token_id=1, pad_token_id=0),
}


def options(cfg):
    """The architecture's options, from its config as the family's config class reads it."""
    t = cfg["model_type"]
    d, H, KV, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["num_hidden_layers"]
    hd = cfg.get("head_dim") or d // H
    o = dict(d=d, H=H, KV=KV, L=L, hd=hd, f=cfg["intermediate_size"], eps=cfg["rms_norm_eps"], theta=cfg["rope_theta"],
             rot=hd, norm_offset=0.0, qk_norm=None, embed_scale=1.0, input_scale=1.0, act="silu", scale=hd ** -0.5, softcap=None, attn_softcap=None,
             rope=["global"] * L, window=[None] * L, local_theta=None, rope_factors=None, rope_attention=1.0,
             norms=("before_attention", "before_mlp"), fused=False, tied=cfg.get("tie_word_embeddings", False))
    if t == "qwen3":
        o["qk_norm"] = "head"
    elif t == "gemma3_text":
        o.update(norm_offset=1.0, qk_norm="head", embed_scale=math.sqrt(d), act="gelu_tanh", scale=cfg["query_pre_attn_scalar"] ** -0.5,
                 softcap=cfg.get("final_logit_softcapping"), local_theta=cfg["rope_local_base_freq"],
                 norms=("before_attention", "after_attention", "before_mlp", "after_mlp"))
        sliding = [k == "sliding_attention" for k in cfg["layer_types"]]
        o["rope"] = ["local" if s else "global" for s in sliding]
        o["window"] = [cfg["sliding_window"] if s else None for s in sliding]
    elif t == "gemma2":
        # the whole input, soft prompt included, is scaled in the model's forward; every other layer slides, from the first
        o.update(norm_offset=1.0, input_scale=math.sqrt(d), act="gelu_tanh", scale=cfg["query_pre_attn_scalar"] ** -0.5,
                 softcap=cfg["final_logit_softcapping"], attn_softcap=cfg["attn_logit_softcapping"],
                 norms=("before_attention", "after_attention", "before_mlp", "after_mlp"))
        o["window"] = [cfg["sliding_window"] if i % 2 == 0 else None for i in range(L)]
    elif t == "smollm3":
        o["rope"] = ["global" if use else None for use in cfg["no_rope_layers"]]
    elif t == "olmo2":
        o.update(qk_norm="projection", norms=("after_attention", "after_mlp"))
    elif t == "phi3":
        rs = cfg["rope_scaling"]
        o.update(fused=True, rot=int(hd * cfg["partial_rotary_factor"]), window=[cfg["sliding_window"]] * L)
        original = cfg["original_max_position_embeddings"]
        factor = cfg["max_position_embeddings"] / original
        o["rope_factors"] = np.array(rs["short_factor"], dtype=np.float64)
        o["rope_attention"] = math.sqrt(1 + math.log(factor) / math.log(original)) if factor > 1 else 1.0
    return o


def weight_shapes(cfg, o):
    d, H, KV, hd, f = o["d"], o["H"], o["KV"], o["hd"], o["f"]
    norm_names = {"before_attention": "input_layernorm", "before_mlp": "post_attention_layernorm"}
    if cfg["model_type"] in ("gemma3_text", "gemma2"):
        norm_names = {"before_attention": "input_layernorm", "after_attention": "post_attention_layernorm",
                      "before_mlp": "pre_feedforward_layernorm", "after_mlp": "post_feedforward_layernorm"}
    if cfg["model_type"] == "olmo2":
        norm_names = {"after_attention": "post_attention_layernorm", "after_mlp": "post_feedforward_layernorm"}
    shapes = {"model.embed_tokens.weight": (V, d)}
    for i in range(o["L"]):
        p = f"model.layers.{i}"
        for role in o["norms"]:
            shapes[f"{p}.{norm_names[role]}.weight"] = (d,)
        if o["fused"]:
            shapes[f"{p}.self_attn.qkv_proj.weight"] = ((H + 2 * KV) * hd, d)
        else:
            shapes[f"{p}.self_attn.q_proj.weight"] = (H * hd, d)
            shapes[f"{p}.self_attn.k_proj.weight"] = (KV * hd, d)
            shapes[f"{p}.self_attn.v_proj.weight"] = (KV * hd, d)
        shapes[f"{p}.self_attn.o_proj.weight"] = (d, H * hd)
        if o["qk_norm"] == "head":
            shapes[f"{p}.self_attn.q_norm.weight"] = (hd,)
            shapes[f"{p}.self_attn.k_norm.weight"] = (hd,)
        elif o["qk_norm"] == "projection":
            shapes[f"{p}.self_attn.q_norm.weight"] = (H * hd,)
            shapes[f"{p}.self_attn.k_norm.weight"] = (KV * hd,)
        if o["fused"]:
            shapes[f"{p}.mlp.gate_up_proj.weight"] = (2 * f, d)
        else:
            shapes[f"{p}.mlp.gate_proj.weight"] = (f, d)
            shapes[f"{p}.mlp.up_proj.weight"] = (f, d)
        shapes[f"{p}.mlp.down_proj.weight"] = (d, f)
    shapes["model.norm.weight"] = (d,)
    if not o["tied"]:
        shapes["lm_head.weight"] = (V, d)
    return shapes, norm_names


def random_weights(shapes, o, seed):
    rng = np.random.default_rng(seed)
    w = {}
    for name, shape in shapes.items():
        if name.endswith("norm.weight"):
            # Gemma's norms scale by (1 + w), trained around 0; the others by w, around 1
            centre = 0.0 if o["norm_offset"] == 1.0 else 1.0
            values = centre + 0.1 * rng.standard_normal(shape)
        else:
            values = 0.3 * rng.standard_normal(shape)
        # the checkpoint is float32: the reference computes on exactly those values
        w[name] = values.astype(np.float32).astype(np.float64)
    return w


def rms_norm(x, weight, eps, offset):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * (offset + weight)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1 + np.exp(-x))


def rope(x, positions, theta, rot, factors, attention_scale):
    """Rotates the first `rot` dimensions of x [heads, S, hd]: pairs (i, i + rot/2) by position * inv_freq[i]."""
    inv = 1.0 / (theta ** (np.arange(0, rot, 2, dtype=np.float64) / rot))
    if factors is not None:
        inv = inv / factors
    angles = positions[:, None] * inv[None, :]
    cos = np.cos(np.concatenate([angles, angles], -1)) * attention_scale
    sin = np.sin(np.concatenate([angles, angles], -1)) * attention_scale
    part, rest = x[..., :rot], x[..., rot:]
    half = rot // 2
    turned = np.concatenate([-part[..., half:], part[..., :half]], -1)
    return np.concatenate([part * cos + turned * sin, rest], -1)


def forward(cfg, o, w, norm_names, x):
    """Logits [S, V] of input embeddings x [S, d] (one unpadded sequence at positions 0..S-1)."""
    S = x.shape[0]
    H, KV, hd, d, f = o["H"], o["KV"], o["hd"], o["d"], o["f"]
    positions = np.arange(S, dtype=np.float64)
    norm = lambda v, name: rms_norm(v, w[name], o["eps"], o["norm_offset"])
    x = x * o["input_scale"]
    for i in range(o["L"]):
        p = f"model.layers.{i}"
        n = {role: f"{p}.{norm_names[role]}.weight" for role in o["norms"]}
        h = norm(x, n["before_attention"]) if "before_attention" in n else x
        if o["fused"]:
            qkv = h @ w[f"{p}.self_attn.qkv_proj.weight"].T
            q, k, v = qkv[:, :H * hd], qkv[:, H * hd:(H + KV) * hd], qkv[:, (H + KV) * hd:]
        else:
            q = h @ w[f"{p}.self_attn.q_proj.weight"].T
            k = h @ w[f"{p}.self_attn.k_proj.weight"].T
            v = h @ w[f"{p}.self_attn.v_proj.weight"].T
        if o["qk_norm"] == "projection":
            q, k = norm(q, f"{p}.self_attn.q_norm.weight"), norm(k, f"{p}.self_attn.k_norm.weight")
        q = q.reshape(S, H, hd).transpose(1, 0, 2)
        k = k.reshape(S, KV, hd).transpose(1, 0, 2)
        v = v.reshape(S, KV, hd).transpose(1, 0, 2)
        if o["qk_norm"] == "head":
            q, k = norm(q, f"{p}.self_attn.q_norm.weight"), norm(k, f"{p}.self_attn.k_norm.weight")
        kind = o["rope"][i]
        if kind is not None:
            theta = o["local_theta"] if kind == "local" else o["theta"]
            factors = None if kind == "local" else o["rope_factors"]
            scale = 1.0 if kind == "local" else o["rope_attention"]
            q = rope(q, positions, theta, o["rot"], factors, scale)
            k = rope(k, positions, theta, o["rot"], factors, scale)
        allowed = np.tril(np.ones((S, S), dtype=bool))
        if o["window"][i] is not None:
            qi, kj = np.meshgrid(np.arange(S), np.arange(S), indexing="ij")
            allowed &= (qi - kj) < o["window"][i]
        out = np.zeros((H, S, hd))
        for head in range(H):
            kv = head // (H // KV)
            scores = q[head] @ k[kv].T * o["scale"]
            if o["attn_softcap"] is not None:
                scores = o["attn_softcap"] * np.tanh(scores / o["attn_softcap"])
            scores = np.where(allowed, scores, -np.inf)
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            out[head] = probs @ v[kv]
        attended = out.transpose(1, 0, 2).reshape(S, H * hd) @ w[f"{p}.self_attn.o_proj.weight"].T
        if "after_attention" in n:
            attended = norm(attended, n["after_attention"])
        x = x + attended
        h = norm(x, n["before_mlp"]) if "before_mlp" in n else x
        if o["fused"]:
            gate_up = h @ w[f"{p}.mlp.gate_up_proj.weight"].T
            gate, up = gate_up[:, :f], gate_up[:, f:]
        else:
            gate, up = h @ w[f"{p}.mlp.gate_proj.weight"].T, h @ w[f"{p}.mlp.up_proj.weight"].T
        act = gelu_tanh(gate) if o["act"] == "gelu_tanh" else silu(gate)
        mlp = (act * up) @ w[f"{p}.mlp.down_proj.weight"].T
        if "after_mlp" in n:
            mlp = norm(mlp, n["after_mlp"])
        x = x + mlp
    x = norm(x, "model.norm.weight")
    head = w["model.embed_tokens.weight"] if o["tied"] else w["lm_head.weight"]
    logits = x @ head.T
    if o["softcap"] is not None:
        logits = o["softcap"] * np.tanh(logits / o["softcap"])
    return logits


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def write_safetensors(path, tensors):
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, value in tensors.items():
        data = value.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header)
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text.encode())
        for blob in blobs:
            out.write(blob)


def reference(name, cfg, out_dir, seed, n=3, ids=(1, 5, 9, 17, 33, 2, 40, 61), target_start=2, greedy_from=5, greedy_new=6):
    o = options(cfg)
    shapes, norm_names = weight_shapes(cfg, o)
    w = random_weights(shapes, o, seed)
    embed = lambda tokens: w["model.embed_tokens.weight"][list(tokens)] * o["embed_scale"]
    prompt = np.random.default_rng(1000 + seed).uniform(-0.5, 0.5, (n, o["d"]))

    def loss_of(p):
        logp = log_softmax(forward(cfg, o, w, norm_names, np.concatenate([p, embed(ids)], 0)))
        return -np.mean([logp[n + j - 1, ids[j]] for j in range(target_start, len(ids))])

    h = 1e-5
    grad = np.zeros_like(prompt)
    for index in np.ndindex(*prompt.shape):
        plus, minus = prompt.copy(), prompt.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (loss_of(plus) - loss_of(minus)) / (2 * h)

    def greedy(p):
        tokens = list(ids[:greedy_from])
        for _ in range(greedy_new):
            logits = forward(cfg, o, w, norm_names, np.concatenate([p, embed(tokens)], 0))
            tokens.append(int(np.argmax(logits[-1])))
        return tokens[greedy_from:]

    empty = np.zeros((0, o["d"]))
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    write_safetensors(os.path.join(folder, "model.safetensors"), w)
    with open(os.path.join(folder, "config.json"), "w") as fh:
        json.dump(cfg, fh, indent=2)
        fh.write("\n")
    result = {
        "source": "scripts/numpy_reference.py (numpy float64, written from the published modeling code; gradient by central differences)",
        "ids": list(ids), "targetStart": target_start, "prompt": prompt.tolist(), "loss": float(loss_of(prompt)), "grad": grad.tolist(),
        "logitsWithPrompt": forward(cfg, o, w, norm_names, np.concatenate([prompt, embed(ids)], 0)).tolist(),
        "logits": forward(cfg, o, w, norm_names, embed(ids)).tolist(),
        "greedy": {"from": list(ids[:greedy_from]), "newTokens": greedy_new, "plain": greedy(empty), "withPrompt": greedy(prompt)},
    }
    with open(os.path.join(folder, "reference.json"), "w") as fh:
        json.dump(result, fh)
    return result["loss"]


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/numpy-fixtures"
    wanted = sys.argv[2:] or list(FIXTURES)
    for i, name in enumerate(FIXTURES):
        if name in wanted:
            # seeds by position: a family added later goes last, so the others' fixtures stay as they are
            print(name, "loss", reference(name, FIXTURES[name], out, seed=i + 1))
