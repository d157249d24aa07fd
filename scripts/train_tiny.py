"""Train the tiny DeepSeek-V3 checkpoint that deepseek-viz ships as its default model.

Steps: build the offline corpus (``tiny_corpus.py``), train a byte-level BPE tokenizer on it,
add the circuit data (facts, repeated sequences) for the model only, train a 4-layer ``DeepseekV3ForCausalLM`` (MLA attention, MoE with a shared expert and
group-limited routing) with AdamW on CPU, evaluate it, save everything with
``save_pretrained`` and write ``metrics.json``. Reproduce with::

    python scripts/train_tiny.py --out src/deepseek_viz/model/assets/deepseek-v3-tiny
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Sleep instead of spin-waiting in OpenMP barriers: with spinning, a CPU shared with other
# processes makes 2-thread training many times slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import math
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tiny_corpus import HEADQUARTERS, TREATMENTS, build_corpus, circuit_docs, common_words
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    DeepseekV3Config,
    DeepseekV3ForCausalLM,
    PreTrainedTokenizerFast,
)

from deepseek_viz.model.generation import R1_CHAT_TEMPLATE

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
PAD = "<｜▁pad▁｜>"
VOCAB_SIZE = 4096
SEQ_LEN = 128
BATCH_SIZE = 16
PEAK_LR = 3e-3
WARMUP_STEPS = 100
EVAL_CHUNKS = 64
OFFSETS_SAMPLE = "你好，世界 🙂 fever"
PROMPT = "Quarterly revenue"
DEFAULT_OUT = Path("src/deepseek_viz/model/assets/deepseek-v3-tiny")


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output checkpoint folder")
    parser.add_argument("--steps", type=int, default=2400, help="optimizer steps")
    parser.add_argument("--seed", type=int, default=0, help="seed for corpus, init and batches")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return parser.parse_args()


def train_tokenizer(docs: list[str]) -> PreTrainedTokenizerFast:
    """Byte-level BPE that prepends BOS and keeps character offsets exact."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=[BOS, EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer)
    tok.post_processor = processors.Sequence(
        [
            processors.ByteLevel(trim_offsets=False),
            processors.TemplateProcessing(
                single=f"{BOS} $A",
                pair=f"{BOS} $A {BOS}:1 $B:1",
                special_tokens=[(BOS, tok.token_to_id(BOS))],
            ),
        ]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, model_max_length=4096
    )


def token_stream(tokenizer: PreTrainedTokenizerFast, docs: list[str]) -> torch.Tensor:
    """Concatenate ``BOS doc EOS`` for every document into one 1-D id tensor."""
    encoded = tokenizer(docs, add_special_tokens=True)["input_ids"]
    eos = tokenizer.eos_token_id
    return torch.tensor([t for ids in encoded for t in [*ids, eos]], dtype=torch.long)


def build_model(tokenizer: PreTrainedTokenizerFast) -> DeepseekV3ForCausalLM:
    """A ~4M-parameter DeepSeek-V3: MLA, 1 dense + 3 MoE layers, 8 routed experts in 4 groups."""
    config = DeepseekV3Config(
        vocab_size=VOCAB_SIZE,
        hidden_size=192,
        intermediate_size=512,
        moe_intermediate_size=128,
        num_hidden_layers=4,
        num_attention_heads=6,
        num_key_value_heads=6,
        q_lora_rank=96,
        kv_lora_rank=64,
        qk_rope_head_dim=16,
        qk_nope_head_dim=32,
        v_head_dim=32,
        n_routed_experts=8,
        num_experts_per_tok=2,
        n_group=4,
        topk_group=2,
        n_shared_experts=1,
        first_k_dense_replace=1,
        routed_scaling_factor=1.0,
        norm_topk_prob=True,
        max_position_embeddings=4096,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config.architectures = ["DeepseekV3ForCausalLM"]
    return DeepseekV3ForCausalLM._from_config(config, attn_implementation="sdpa")


def lr_at(step: int, total: int) -> float:
    """Linear warm-up then cosine decay to 10% of the peak."""
    if step < WARMUP_STEPS:
        return PEAK_LR * (step + 1) / WARMUP_STEPS
    progress = (step - WARMUP_STEPS) / max(1, total - WARMUP_STEPS)
    return PEAK_LR * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def train(model: DeepseekV3ForCausalLM, stream: torch.Tensor, bos_id: int, steps: int, seed: int) -> float:
    """AdamW on packed windows that start at a document's BOS; returns wall seconds."""
    starts = (stream[: len(stream) - SEQ_LEN] == bos_id).nonzero().squeeze(1)
    offsets = torch.arange(SEQ_LEN)
    gen = torch.Generator().manual_seed(seed)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=PEAK_LR,
        betas=(0.9, 0.95),
    )
    model.train()
    began = time.perf_counter()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps)
        pick = starts[torch.randint(len(starts), (BATCH_SIZE,), generator=gen)]
        batch = stream[pick[:, None] + offsets]
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % 50 == 0 or step == steps - 1:
            elapsed = time.perf_counter() - began
            lr = lr_at(step, steps)
            print(f"step {step:5d} loss {loss.item():.3f} lr {lr:.2e} {elapsed:6.0f}s", flush=True)
    return time.perf_counter() - began


def eval_chunks(stream: torch.Tensor) -> torch.Tensor:
    """Non-overlapping ``SEQ_LEN`` windows covering the held-out stream."""
    n = len(stream) // SEQ_LEN
    return stream[: n * SEQ_LEN].view(n, SEQ_LEN)


@torch.no_grad()
def heldout_loss(model: DeepseekV3ForCausalLM, chunks: torch.Tensor) -> float:
    """Mean next-token cross-entropy (nats) over all held-out windows."""
    model.eval()
    total = 0.0
    for batch in chunks.split(32):
        logits = model(input_ids=batch).logits[:, :-1]
        targets = batch[:, 1:].reshape(-1)
        total += F.cross_entropy(logits.reshape(-1, VOCAB_SIZE), targets, reduction="sum").item()
    return total / chunks[:, 1:].numel()


def unigram_loss(train_stream: torch.Tensor, chunks: torch.Tensor) -> float:
    """Cross-entropy of add-one-smoothed train unigram frequencies on the same held-out targets."""
    counts = torch.bincount(train_stream, minlength=VOCAB_SIZE).double() + 1.0
    logp = (counts / counts.sum()).log()
    return -logp[chunks[:, 1:].reshape(-1)].mean().item()


@torch.no_grad()
def attention_and_routing(out: Path, chunks: torch.Tensor) -> tuple[list[list[float]], dict[int, list[int]]]:
    """Per layer/head mean previous-token attention and per MoE layer expert slot counts."""
    model = DeepseekV3ForCausalLM.from_pretrained(out, attn_implementation="eager").eval()
    n_experts = model.config.n_routed_experts
    counts: dict[int, torch.Tensor] = {}
    handles = []
    for i, layer in enumerate(model.model.layers):
        if hasattr(layer.mlp, "gate"):
            counts[i] = torch.zeros(n_experts, dtype=torch.long)

            def hook(_module: torch.nn.Module, _inp: object, output: tuple, i: int = i) -> None:
                counts[i] += torch.bincount(output[2].reshape(-1), minlength=n_experts)

            handles.append(layer.mlp.gate.register_forward_hook(hook))
    prev_sum = torch.zeros(model.config.num_hidden_layers, model.config.num_attention_heads)
    for batch in chunks[:EVAL_CHUNKS].split(16):
        attentions = model(input_ids=batch, output_attentions=True).attentions
        for layer_idx, attn in enumerate(attentions):
            prev = attn.diagonal(offset=-1, dim1=-2, dim2=-1)  # [batch, heads, seq-1]: weight on i-1
            prev_sum[layer_idx] += prev.mean(dim=-1).sum(dim=0)
    for handle in handles:
        handle.remove()
    n = min(EVAL_CHUNKS, len(chunks))
    prev_mean = (prev_sum / n).tolist()
    return prev_mean, {i: c.tolist() for i, c in counts.items()}


@torch.no_grad()
def induction_scores(out: Path, words: list[str], texts: int = 16, length: int = 12) -> dict[str, object]:
    """On random ``words`` said twice (``BOS w1…wT ⏎ w1…wT``, the form of the training's repeats):
    each head's mean attention from a token of the second copy to the token after its first
    occurrence, and how often the model predicts that token."""
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = DeepseekV3ForCausalLM.from_pretrained(out, attn_implementation="eager").eval()
    rng = random.Random(1)
    sums, uniform, hits, count, used = None, 0.0, 0, 0, 0
    while used < texts:
        sequence = " ".join(rng.choices(words, k=length))
        ids = tokenizer(f"{sequence}\n{sequence}", return_tensors="pt")["input_ids"]
        T = (ids.shape[1] - 2) // 2
        if ids[0, 1 : T + 1].tolist() != ids[0, T + 2 :].tolist():
            continue  # the two copies tokenise differently
        result = model(input_ids=ids, output_attentions=True)
        queries = torch.arange(T + 2, 2 * T + 1)
        keys = queries - T
        layer_scores = torch.stack([attn[0][:, queries, keys].mean(-1) for attn in result.attentions])
        sums = layer_scores if sums is None else sums + layer_scores
        uniform += float((1 / (queries + 1).double()).mean())
        hits += int((result.logits[0, queries].argmax(-1) == ids[0, queries + 1]).sum())
        count += len(queries)
        used += 1
    assert sums is not None
    table = [[round(float(w) / used, 4) for w in row] for row in sums]
    layer, head = max(
        ((i, j) for i in range(len(table)) for j in range(len(table[i]))), key=lambda lh: table[lh[0]][lh[1]]
    )
    return {
        "attention": table,
        "best_head": {"layer": layer, "head": head, "mean_weight": table[layer][head]},
        "uniform_weight": round(uniform / used, 4),
        "copy_accuracy": round(hits / count, 4),
    }


@torch.no_grad()
def fact_recall(out: Path) -> dict[str, float]:
    """The share of facts whose first token the model predicts top-1 after a fact's prompt."""
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = DeepseekV3ForCausalLM.from_pretrained(out).eval()
    prompts = {
        "headquarters": [(f"{c} is headquartered in", f" {city}") for c, city in HEADQUARTERS.items()],
        "treatment": [(f"The usual treatment for {d} is", f" {t}") for d, t in TREATMENTS.items()],
    }
    shares = {}
    for kind, pairs in prompts.items():
        hits = 0
        for prompt, answer in pairs:
            ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
            first = tokenizer(answer, add_special_tokens=False)["input_ids"][0]
            hits += int(model(input_ids=ids).logits[0, -1].argmax()) == first
        shares[kind] = round(hits / len(pairs), 4)
    return shares


def offsets_check(tokenizer: PreTrainedTokenizerFast, text: str) -> list[str]:
    """Assert each token's byte piece lies inside the characters its offsets point at."""
    enc = tokenizer(text, return_offsets_mapping=True)
    assert enc["input_ids"][0] == tokenizer.bos_token_id, "BOS is not prepended"
    byte_decoder = {v: k for k, v in _bytes_to_unicode().items()}
    rows = []
    for tid, (start, end) in zip(enc["input_ids"][1:], enc["offset_mapping"][1:], strict=True):
        piece = bytes(byte_decoder[c] for c in tokenizer.convert_ids_to_tokens(tid))
        span = text[start:end]
        assert span and piece in span.encode(), f"token {piece!r} mapped to {span!r}"
        rows.append(f"{piece.hex()} -> [{start}:{end}] {span!r}")
    assert enc["offset_mapping"][-1][1] == len(text)
    return rows


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-printable-character table used by the ByteLevel pre-tokenizer."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def folder_bytes(out: Path) -> int:
    """Total size of the files in the checkpoint folder."""
    return sum(p.stat().st_size for p in out.iterdir() if p.is_file())


def load_and_generate(out: Path) -> str:
    """Reload with the Auto classes (offline, no remote code) and greedily continue ``PROMPT``."""
    tokenizer = AutoTokenizer.from_pretrained(out, trust_remote_code=False)
    model = AutoModelForCausalLM.from_pretrained(out, trust_remote_code=False).eval()
    assert tokenizer.is_fast and isinstance(model, DeepseekV3ForCausalLM)
    inputs = tokenizer(PROMPT, return_tensors="pt")
    generated = model.generate(**inputs, max_new_tokens=20, do_sample=False)
    return tokenizer.decode(generated[0], skip_special_tokens=True)


def main() -> None:
    """Build corpus and tokenizer, train, save, evaluate and write ``metrics.json``."""
    args = parse_args()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    started = time.perf_counter()

    train_docs, heldout_docs = build_corpus(args.seed)
    tokenizer = train_tokenizer(train_docs)
    tokenizer.chat_template = R1_CHAT_TEMPLATE
    model_docs = train_docs + circuit_docs(args.seed, train_docs)
    random.Random(args.seed).shuffle(model_docs)
    train_stream = token_stream(tokenizer, model_docs)
    heldout_stream = token_stream(tokenizer, heldout_docs)
    print(
        f"docs train={len(train_docs)} heldout={len(heldout_docs)} "
        f"tokens train={len(train_stream)} heldout={len(heldout_stream)}",
        flush=True,
    )

    model = build_model(tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"parameters: {n_params:,}", flush=True)
    train_seconds = train(model, train_stream, tokenizer.bos_token_id, args.steps, args.seed)

    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    for path in args.out.iterdir():
        path.chmod(0o644)  # safetensors writes 0600; installed package data must be world-readable

    chunks = eval_chunks(heldout_stream)
    prev_mean, expert_counts = attention_and_routing(args.out, chunks)
    best_layer, best_head = max(
        ((layer, head) for layer in range(len(prev_mean)) for head in range(len(prev_mean[layer]))),
        key=lambda lh: prev_mean[lh[0]][lh[1]],
    )
    expert_load = {}
    for layer, counts in expert_counts.items():
        frac = torch.tensor(counts, dtype=torch.float64) / sum(counts)
        expert_load[str(layer)] = {
            "fraction": [round(f, 4) for f in frac.tolist()],
            "max_over_min": round((frac.max() / frac.min()).item(), 2) if frac.min() > 0 else None,
            "coefficient_of_variation": round((frac.std(unbiased=False) / frac.mean()).item(), 3),
        }
    metrics = {
        "heldout_loss_nats": round(heldout_loss(model, chunks), 4),
        "unigram_baseline_nats": round(unigram_loss(train_stream, chunks), 4),
        "heldout_tokens": chunks[:, 1:].numel(),
        "train_tokens": len(train_stream),
        "previous_token_attention": [[round(w, 4) for w in row] for row in prev_mean],
        "best_previous_token_head": {
            "layer": best_layer,
            "head": best_head,
            "mean_weight": round(prev_mean[best_layer][best_head], 4),
        },
        "expert_load": expert_load,
        "induction": induction_scores(args.out, common_words(train_docs)),
        "fact_recall": fact_recall(args.out),
        "train_seconds": round(train_seconds, 1),
        "steps": args.steps,
        "batch_size": BATCH_SIZE,
        "seq_len": SEQ_LEN,
        "seed": args.seed,
        "threads": args.threads,
        "parameters": n_params,
        "folder_bytes_without_metrics": folder_bytes(args.out),
    }
    metrics["offsets_check"] = offsets_check(AutoTokenizer.from_pretrained(args.out), OFFSETS_SAMPLE)
    metrics["sample_generation"] = load_and_generate(args.out)
    metrics["total_seconds"] = round(time.perf_counter() - started, 1)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(metrics, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
