"""`tandem bench models`: load time and speed of each installed model, in process and as served."""

from __future__ import annotations

import time
from dataclasses import dataclass

from edge_agent.cloud_channel import open_channel
from edge_agent.config import CloudConfig
from runtime.decode import DecodeResult, decode_stream
from runtime.llm import load_llama
from runtime.models import CATALOG, model_path
from runtime.models.install import is_installed

PROMPT = "List the numbers from 1 to 300, one per line, with their English names:\n1 one\n2 two\n"
PREFILL_TEXT = "The quick brown fox jumps over the lazy dog. " * 24  # ~240 tokens


@dataclass
class LocalFigures:
    load_s: float
    prefill_tok_s: float
    decode_tok_s: float
    tokens: int


@dataclass
class ServedFigures:
    ready_s: float  # process start to health SERVING
    first_token_s: float
    tok_s: float
    tokens: int


def bench_local(name: str, tokens: int, n_ctx: int = 2048) -> LocalFigures:
    """In-process: load, prefill ~240 tokens, then decode `tokens` greedy tokens."""
    started = time.perf_counter()
    llm = load_llama(model_path(CATALOG[name]), n_ctx=n_ctx)
    load_s = time.perf_counter() - started
    prefill = llm.tokenize(PREFILL_TEXT.encode(), add_bos=True)
    llm.reset()
    started = time.perf_counter()
    llm.eval(prefill)
    prefill_tok_s = len(prefill) / (time.perf_counter() - started)
    prompt = llm.tokenize(PROMPT.encode(), add_bos=True)
    result = DecodeResult()
    started = time.perf_counter()
    first = None
    for _ in decode_stream(llm, prompt, tokens, result=result):
        first = first or time.perf_counter()
    decode_s = time.perf_counter() - (first or started)
    llm.close()
    decoded = max(result.completion_tokens - 1, 1)  # the first token includes the prompt's prefill
    return LocalFigures(load_s, prefill_tok_s, decoded / decode_s if decode_s else 0.0, result.completion_tokens)


def bench_served(name: str, tokens: int) -> ServedFigures:
    """Through `tandem cloud serve` in its own process, over loopback gRPC."""
    from edge_agent.cloud_process import CloudProcess
    from protos import tandem_pb2 as pb
    from protos import tandem_pb2_grpc as pb_grpc

    started = time.perf_counter()
    with CloudProcess(model=name) as cloud:
        ready_s = time.perf_counter() - started
        with open_channel(cloud.address, CloudConfig()) as channel:  # a plaintext loopback child
            stub = pb_grpc.CloudModelStub(channel)
            request = pb.GenerateRequest(prompt=PROMPT, raw=True, max_tokens=tokens)
            sent = time.perf_counter()
            first = None
            count = 0
            for chunk in stub.Generate(request, timeout=300):
                if chunk.token_ids and first is None:
                    first = time.perf_counter()
                count += len(chunk.token_ids)
            done = time.perf_counter()
    first = first or done
    rate = (count - 1) / (done - first) if count > 1 and done > first else 0.0
    return ServedFigures(ready_s, first - sent, rate, count)


def run(tokens: int) -> str:
    """Benchmark every installed catalog model; return the table as text."""
    lines = [
        f"{'model':<22}{'load s':>8}{'prefill tok/s':>15}{'decode tok/s':>14}"
        f"{'served: ready s':>17}{'TTFT s':>8}{'tok/s':>8}",
    ]
    for name, spec in CATALOG.items():
        if not spec.filename.endswith(".gguf"):
            continue  # the embedding/tokenizer files are not language models
        if not is_installed(spec):
            lines.append(f"{name:<22}  not installed (tandem models install {name})")
            continue
        local = bench_local(name, tokens)
        served = bench_served(name, tokens)
        lines.append(
            f"{name:<22}{local.load_s:>8.2f}{local.prefill_tok_s:>15.1f}{local.decode_tok_s:>14.1f}"
            f"{served.ready_s:>17.2f}{served.first_token_s:>8.3f}{served.tok_s:>8.1f}"
        )
    return "\n".join(lines)
