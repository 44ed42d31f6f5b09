"""The CloudModel service: Info, Generate, Sketch and Fuse over a backend (validation and gRPC only)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import grpc

from cloud_service.backends import Append, Backend, BackendError, Prompt
from cloud_service.sessions import FuseRequestError
from cloud_service.validation import (
    MAX_PROMPT_CHARS,
    BadRequest,
    check_fits,
    check_fuse_open,
    check_generate,
    check_sketch,
)
from protos import tandem_pb2 as pb
from runtime.decode import FINISH_CONTEXT, FINISH_LENGTH, FINISH_STOP, DecodeResult

log = logging.getLogger(__name__)

_FINISH = {
    FINISH_STOP: pb.FINISH_REASON_STOP,
    FINISH_LENGTH: pb.FINISH_REASON_LENGTH,
    FINISH_CONTEXT: pb.FINISH_REASON_CONTEXT,
}

SKETCH_SYSTEM = "You are a planning assistant. You write short outlines, never the final text."
SKETCH_PROMPT = (
    "Write an outline for a response to the instruction below: {n} short points, one per line, "
    "each starting with '- '. Points only, no introduction and no final text. Keep bracketed "
    "placeholders such as [PERSON_1] exactly as written.\n\nInstruction: {instruction}"
)
DEFAULT_SKETCH_POINTS = 15
DEFAULT_SKETCH_TOKENS = 256
_POINT = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.*\S)\s*$")


@dataclass(frozen=True)
class Undecodable:
    """Stands in for a request whose bytes did not parse (e.g. a string field with invalid UTF-8)."""

    message_type: str
    error: str


class CloudModelServicer:
    """Implements tandem.v1.CloudModel on one backend."""

    def __init__(
        self, backend: Backend, max_tokens_limit: int, session_idle_s: float = 300.0,
        max_prompt_chars: int = MAX_PROMPT_CHARS,
    ) -> None:
        self.backend = backend
        self.max_tokens_limit = max_tokens_limit
        self.session_idle_s = session_idle_s
        self.max_prompt_chars = max_prompt_chars  # server.max_prompt_chars
        self.draining = False  # set on shutdown: new calls are refused, running ones finish
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.contextmanager
    def _in_flight(self) -> Iterator[None]:
        self._active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    async def drain(self, grace: float) -> bool:
        """Refuse new calls and wait up to `grace` seconds for running ones; True if all finished."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
            return True
        except TimeoutError:
            return False

    async def _precheck(self, request, context: grpc.aio.ServicerContext) -> None:
        if self.draining:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the service is shutting down; retry on another replica")
        if isinstance(request, Undecodable):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"request is not a valid {request.message_type}: {request.error} "
                "(string fields must be valid UTF-8)",
            )
        if not self.backend.ready:
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, "the model is still loading; retry in a few seconds"
            )

    def _check_fits(self, prompt: Prompt, max_tokens: int) -> None:
        """Prompt + output must fit the context (unknown token counts are left to the backend)."""
        n_tokens = self.backend.count_tokens(prompt)
        if n_tokens is not None:
            check_fits(n_tokens, max_tokens, self.backend.info.n_ctx)

    async def Info(self, request, context: grpc.aio.ServicerContext) -> pb.InfoResponse:
        """The model, its vocabulary fingerprint, context and limits, and what this backend can do."""
        await self._precheck(request, context)
        with self._in_flight():
            return self._info()

    def _info(self) -> pb.InfoResponse:
        info = self.backend.info
        return pb.InfoResponse(
            model_id=info.model_id,
            vocab_fingerprint=info.vocab_fingerprint,
            n_vocab=info.n_vocab,
            n_ctx=info.n_ctx,
            capabilities=list(self.backend.capabilities),
            backend=self.backend.name,
            max_tokens_limit=self.max_tokens_limit,
        )

    async def Generate(self, request, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.GenerateChunk]:
        """Stream the completion as it is generated; the last chunk carries the finish reason and counts."""
        await self._precheck(request, context)
        with self._in_flight():
            async for chunk in self._generate(request, context):
                yield chunk

    async def _generate(self, request, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.GenerateChunk]:
        prompt = Prompt(request.prompt, raw=request.raw, system=request.system, history=_history(request.history))
        try:
            check_generate(request, self.max_tokens_limit, self.max_prompt_chars)
            self._check_fits(prompt, request.max_tokens)
        except BadRequest as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        result = DecodeResult()
        stream = self.backend.stream(prompt, request.max_tokens, request.temperature, request.seed,
                                     list(request.stop), result)
        async with _backend_errors(context), contextlib.aclosing(stream):
            async for piece in stream:
                yield pb.GenerateChunk(text=piece.text, token_ids=piece.token_ids)
        yield pb.GenerateChunk(
            finish_reason=_FINISH.get(result.finish, pb.FINISH_REASON_UNSPECIFIED),
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
        )
        log.info("Generate: %d prompt tokens, %d completion tokens, %s",
                 result.prompt_tokens, result.completion_tokens, result.finish)

    async def Sketch(self, request, context: grpc.aio.ServicerContext) -> pb.SketchResponse:
        """An outline of the answer to the instruction, as points."""
        await self._precheck(request, context)
        with self._in_flight():
            return await self._sketch(request, context)

    async def _sketch(self, request, context: grpc.aio.ServicerContext) -> pb.SketchResponse:
        try:
            check_sketch(request, self.max_tokens_limit, self.max_prompt_chars)
            n_points = request.max_points or DEFAULT_SKETCH_POINTS
            prompt = SKETCH_PROMPT.format(n=f"8 to {max(8, n_points)}" if n_points >= 8 else n_points,
                                          instruction=request.instruction.strip())
            sketch_prompt = Prompt(prompt, raw=False, system=SKETCH_SYSTEM, history=_history(request.history))
            max_tokens = request.max_tokens or min(DEFAULT_SKETCH_TOKENS, self.max_tokens_limit)
            self._check_fits(sketch_prompt, max_tokens)
        except BadRequest as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        result = DecodeResult()
        parts: list[str] = []
        stream = self.backend.stream(sketch_prompt, max_tokens, 0.0, request.seed, [], result)
        async with _backend_errors(context), contextlib.aclosing(stream):
            async for piece in stream:
                parts.append(piece.text)
        text = "".join(parts).strip()
        log.info("Sketch: %d prompt tokens, %d completion tokens", result.prompt_tokens, result.completion_tokens)
        return pb.SketchResponse(
            points=parse_points(text, n_points),
            text=text,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
        )

    async def Fuse(self, request_iterator, context: grpc.aio.ServicerContext) -> AsyncIterator[pb.FuseResponse]:
        """One stream = one session: `open` first, then `step`s; closing the stream frees the session."""
        requests = request_iterator.__aiter__()
        # Read the opening message before refusing the call: aborting while a grpc.aio client
        # is still writing it reaches that client as INTERNAL instead of our status.
        first = await self._next_fuse(requests, context)
        await self._precheck(None, context)
        if first is None:
            return
        with self._in_flight():
            if not first.HasField("open") or first.HasField("step"):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                    "the first FuseRequest must carry `open` (and no `step`)")
            opening = first.open
            try:
                check_fuse_open(opening, self.max_prompt_chars)
            except BadRequest as exc:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
            if "fuse" not in self.backend.capabilities:
                await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                    f"this cloud's {self.backend.name} backend cannot fuse (no vocabulary configured); "
                                    "use the sketch strategy")
            if opening.vocab_fingerprint != self.backend.info.vocab_fingerprint:
                await context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"vocabulary mismatch: the cloud model {self.backend.info.model_id} has fingerprint "
                    f"{self.backend.info.vocab_fingerprint[:12]}..., the edge sent {opening.vocab_fingerprint[:12]}...; "
                    "logit fusion needs models with the same vocabulary (use the sketch strategy instead)",
                )
            try:
                session = self.backend.new_session(opening.top_k)
            except OverflowError as exc:
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
            try:
                prompt = Prompt(opening.prompt, raw=False, system=opening.system, history=_history(opening.history))
                async with _backend_errors(context):
                    rows = await self.backend.fuse_open(session, prompt)
                yield _fuse_response(rows, len(session.tokens))
                while True:
                    request = await self._next_fuse(requests, context)
                    if request is None:
                        return
                    if not request.HasField("step") or request.HasField("open"):
                        await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                            "after the first message every FuseRequest must carry `step` only")
                    step = request.step
                    appends = [Append(tuple(a.ids), a.text) for a in step.append]
                    async with _backend_errors(context):
                        rows = await self.backend.fuse_step(session, step.keep, appends, list(step.draft_ids))
                    yield _fuse_response(rows, len(session.tokens))
            finally:
                self.backend.close_session(session)
                log.info("Fuse session %d closed (%d tokens)", session.id, len(session.tokens))

    async def _next_fuse(self, requests, context: grpc.aio.ServicerContext):
        """The next message, None at the end of the stream; aborts on garbage or a long silence."""
        try:
            request = await asyncio.wait_for(requests.__anext__(), self.session_idle_s)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            await context.abort(grpc.StatusCode.DEADLINE_EXCEEDED,
                                f"fuse session expired after {self.session_idle_s:g}s without a message")
        if isinstance(request, Undecodable):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"request is not a valid {request.message_type}: {request.error}")
        return request


@contextlib.asynccontextmanager
async def _backend_errors(context: grpc.aio.ServicerContext):
    """Backend and request errors inside a call become gRPC statuses with their messages."""
    try:
        yield
    except FuseRequestError as exc:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
    except BackendError as exc:
        await context.abort(exc.code, str(exc))


def _fuse_response(rows, session_tokens: int) -> pb.FuseResponse:
    return pb.FuseResponse(
        positions=[pb.TopK(ids=row.ids, logprobs=row.logprobs) for row in rows],
        session_tokens=session_tokens,
    )


def parse_points(text: str, limit: int) -> list[str]:
    """The bullet or numbered lines of an outline; plain lines if the model used no bullets."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    points = [m.group(1) for line in lines if (m := _POINT.match(line))]
    if not points:
        points = [line for line in lines if not line.endswith(":")]
    return points[:limit]


def _history(turns) -> tuple[tuple[str, str], ...]:
    """A request's earlier turns (already checked by `validation.check_history`) for the backend."""
    return tuple((turn.instruction, turn.answer) for turn in turns)
