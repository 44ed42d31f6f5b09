"""Bearer-token authentication for tandem.v1.CloudModel; health and reflection stay open."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

import grpc

from protos import tandem_pb2 as pb

PROTECTED = "/" + pb.DESCRIPTOR.services_by_name["CloudModel"].full_name + "/"

MISSING = "missing bearer token: set cloud.token_file on the edge"
INVALID = "invalid bearer token"


def bearer_token(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    """The token of an `authorization: Bearer <token>` entry, or None."""
    for key, value in metadata or ():
        if key.lower() != "authorization":
            continue
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        scheme, _, token = text.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


_HANDLER_KINDS = {  # (request streaming, response streaming) -> the handler constructor
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def same_kind(handler: grpc.RpcMethodHandler, behavior) -> grpc.RpcMethodHandler:
    """A handler of the same kind (unary or streaming, both ways) as `handler` that runs `behavior`."""
    kind = _HANDLER_KINDS[(handler.request_streaming, handler.response_streaming)]
    return kind(behavior, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer)


def denied(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, details: str) -> grpc.RpcMethodHandler:
    """A handler of the same kind as `handler` that only aborts with `code`."""

    async def abort(_request, context: grpc.aio.ServicerContext) -> None:
        await context.abort(code, details)

    return same_kind(handler, abort)


class CloudModelInterceptor(grpc.aio.ServerInterceptor):
    """Passes tandem.v1.CloudModel handlers through `wrap`; health and reflection go by untouched."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        """The CloudModel handler passed through `wrap`; any other service's as it is."""
        handler = await continuation(handler_call_details)
        if handler is None or not handler_call_details.method.startswith(PROTECTED):
            return handler
        return self.wrap(handler, handler_call_details)

    def wrap(self, handler: grpc.RpcMethodHandler, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        """The handler to run instead of `handler` (subclasses decide)."""
        raise NotImplementedError


class TokenAuth(CloudModelInterceptor):
    """Every CloudModel call must carry one of the allowed tokens (compared in constant time)."""

    def __init__(self, tokens: Sequence[str]) -> None:
        if not tokens:
            raise ValueError("TokenAuth needs at least one token")
        self._tokens = [t.encode() for t in tokens]

    def allows(self, token: str) -> bool:
        """Whether `token` is one of the allowed tokens."""
        given = token.encode("utf-8", "surrogateescape")
        ok = False
        for allowed in self._tokens:  # no early exit: the time does not tell which token matched
            ok |= hmac.compare_digest(allowed, given)
        return ok

    def wrap(self, handler: grpc.RpcMethodHandler, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        """The handler if the call carries an allowed token, else one that answers UNAUTHENTICATED."""
        token = bearer_token(details.invocation_metadata)
        if token is None:
            return denied(handler, grpc.StatusCode.UNAUTHENTICATED, MISSING)
        if not self.allows(token):
            return denied(handler, grpc.StatusCode.UNAUTHENTICATED, INVALID)
        return handler
