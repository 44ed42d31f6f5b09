"""Checks on incoming requests; each failure is a message a person can act on."""

from __future__ import annotations

from protos import tandem_pb2 as pb
from runtime import limits
from runtime.limits import DEFAULT_TOP_K, MAX_TOP_K

MAX_STOP_STRINGS = 8
MAX_STOP_LENGTH = 64
MAX_PROMPT_CHARS = 32_768  # default of server.max_prompt_chars: a cheap bound before tokenizing
MAX_HISTORY_TURNS = 64


class BadRequest(ValueError):
    """The request cannot be served as sent (maps to INVALID_ARGUMENT)."""


def check_length(field: str, text: str, max_chars: int) -> None:
    """A text field may have at most `max_chars` characters (server.max_prompt_chars)."""
    if len(text) > max_chars:
        raise BadRequest(
            f"{field} has {len(text)} characters; the limit is {max_chars} (server.max_prompt_chars)"
        )


def check_generate(request: pb.GenerateRequest, max_tokens_limit: int, max_chars: int = MAX_PROMPT_CHARS) -> None:
    """Field checks that need no model."""
    if not request.prompt.strip():
        raise BadRequest("prompt is empty: send the instruction to complete in GenerateRequest.prompt")
    check_length("prompt", request.prompt, max_chars)
    check_length("system", request.system, max_chars)
    check_history(request.history, max_chars)
    check_max_tokens(request.max_tokens, max_tokens_limit, "max_tokens")
    if not limits.temperature_ok(request.temperature):
        raise BadRequest(f"temperature must be between {limits.MIN_TEMPERATURE:g} and {limits.MAX_TEMPERATURE:g}, "
                         f"got {request.temperature:g}")
    if len(request.stop) > MAX_STOP_STRINGS:
        raise BadRequest(f"at most {MAX_STOP_STRINGS} stop strings are allowed, got {len(request.stop)}")
    for s in request.stop:
        if not s or len(s) > MAX_STOP_LENGTH:
            raise BadRequest(f"each stop string must have 1 to {MAX_STOP_LENGTH} characters, got {s!r}")


def check_history(history, max_chars: int = MAX_PROMPT_CHARS) -> None:
    """Earlier turns: at most MAX_HISTORY_TURNS, each with an instruction, all of them within `max_chars`."""
    if len(history) > MAX_HISTORY_TURNS:
        raise BadRequest(f"history has {len(history)} turns; at most {MAX_HISTORY_TURNS} are accepted "
                         "(send the latest ones)")
    for index, turn in enumerate(history):
        if not turn.instruction.strip():
            raise BadRequest(f"history[{index}].instruction is empty: each earlier turn needs the instruction")
    check_length("history", "".join(t.instruction + t.answer for t in history), max_chars)


def check_max_tokens(value: int, limit: int, field: str) -> None:
    """`field` is between 1 and `limit`."""
    if not 1 <= value <= limit:
        raise BadRequest(f"{field} must be between 1 and {limit}, got {value}")


def check_sketch(request: pb.SketchRequest, max_tokens_limit: int, max_chars: int = MAX_PROMPT_CHARS) -> None:
    """A SketchRequest the service can run, or BadRequest saying what to fix."""
    if not request.instruction.strip():
        raise BadRequest("instruction is empty: send the (redacted) instruction to outline")
    check_length("instruction", request.instruction, max_chars)
    check_history(request.history, max_chars)
    if request.max_points > 30:
        raise BadRequest(f"max_points must be between 1 and 30 (0 = default 15), got {request.max_points}")
    if request.max_tokens:
        check_max_tokens(request.max_tokens, max_tokens_limit, "max_tokens")


def check_fits(prompt_tokens: int, max_tokens: int, n_ctx: int) -> None:
    """The prompt plus at least one generated token must fit the context window."""
    if prompt_tokens >= n_ctx:
        raise BadRequest(
            f"prompt is {prompt_tokens} tokens but the model's context holds {n_ctx}: shorten the prompt"
        )


def check_fuse_open(request: pb.FuseOpen, max_chars: int = MAX_PROMPT_CHARS) -> None:
    """A FuseOpen the service can run, or BadRequest saying what to fix."""
    if not request.vocab_fingerprint:
        raise BadRequest("vocab_fingerprint is empty: send the edge model's fingerprint (see Info)")
    if not request.prompt.strip():
        raise BadRequest("prompt is empty: send the (redacted) instruction the answer is for")
    check_length("prompt", request.prompt, max_chars)
    check_length("system", request.system, max_chars)
    check_history(request.history, max_chars)
    if request.top_k > MAX_TOP_K:
        raise BadRequest(f"top_k must be between 1 and {MAX_TOP_K} (0 = {DEFAULT_TOP_K}), got {request.top_k}")
