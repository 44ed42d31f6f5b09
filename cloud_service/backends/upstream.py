"""The HTTP client of an OpenAI-compatible upstream: requests, server-sent events, errors as gRPC statuses.

Every failure leaves here as a `BackendError` whose code is the status the edge should
see (down: UNAVAILABLE, too slow: DEADLINE_EXCEEDED, a request the upstream rejects:
INVALID_ARGUMENT, a key or model it refuses: FAILED_PRECONDITION) and whose message
names the upstream and repeats what it said.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import httpx
from httpx_sse import SSEError, aconnect_sse

from cloud_service.backends.base import BackendError
from runtime.secret_files import read_tokens


@dataclass(frozen=True)
class UpstreamSettings:
    """Where the upstream is and how to call it (the `server.upstream_*` keys)."""

    url: str  # base URL ending in /v1
    model: str = ""  # "" = the first model the upstream lists
    api_key: str = ""
    timeout_s: float = 120.0
    scoring: str = "single"  # single | echo

    @classmethod
    def from_config(cls, config) -> UpstreamSettings:
        """From a ServerConfig; an unreadable key file is an error naming the key."""
        key_file = config.upstream_api_key_file
        api_key = read_tokens(key_file, "server.upstream_api_key_file")[0] if key_file else ""
        return cls(config.upstream_url.rstrip("/"), config.upstream_model, api_key,
                   config.upstream_timeout_s, config.upstream_scoring)

    @property
    def headers(self) -> dict[str, str]:
        """The upstream's Authorization header, if it has an API key."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


class UpstreamClient:
    """Calls one upstream; the model name is the configured one, else the first the upstream lists."""

    def __init__(self, settings: UpstreamSettings) -> None:
        self.settings = settings
        self.url = settings.url
        self.model = settings.model
        self._client: httpx.AsyncClient | None = None

    def discover_model(self) -> str:
        """Blocking, at start-up: the model to name in requests (GET /models unless configured)."""
        if self.model:
            return self.model
        try:
            response = httpx.get(f"{self.url}/models", headers=self.settings.headers, timeout=5.0)
        except httpx.HTTPError as exc:
            raise BackendError(grpc.StatusCode.UNAVAILABLE, f"the upstream at {self.url} is unreachable: {exc}") from None
        if not response.is_success:
            raise BackendError(grpc.StatusCode.UNAVAILABLE,
                               f"the upstream at {self.url} answered HTTP {response.status_code} to GET /models")
        self.model = _model_from_listing(response.json(), self.url)
        return self.model

    async def model_name(self) -> str:
        """The model to name in requests; asks the upstream if start-up could not."""
        if not self.model:
            response = await self.send("GET", "/models")
            self.model = _model_from_listing(response.json(), self.url)
        return self.model

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a 2xx response, or a BackendError."""
        with http_errors(self.url):
            response = await self._http().request(method, path, **kwargs)
            await check_response(response, self.url)
            return response

    async def events(self, path: str, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """POST `body` and yield the JSON objects of the server-sent event stream, up to `[DONE]`."""
        with http_errors(self.url):
            async with aconnect_sse(self._http(), "POST", path, json=body) as source:
                await check_response(source.response, self.url)
                try:
                    async for event in source.aiter_sse():
                        if event.data == "[DONE]":
                            return
                        try:
                            yield json.loads(event.data)
                        except json.JSONDecodeError:
                            raise BackendError(grpc.StatusCode.UNAVAILABLE,
                                               f"the upstream sent a malformed event: {event.data[:100]!r}") from None
                except SSEError as exc:  # a 2xx answer that is not an event stream
                    raise BackendError(grpc.StatusCode.UNAVAILABLE,
                                       f"the upstream at {self.url} did not stream events: {exc}") from None

    async def aclose(self) -> None:
        """Close the connection pool (from the serving event loop)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:  # created lazily: it belongs to the serving event loop
            self._client = httpx.AsyncClient(base_url=self.url, headers=self.settings.headers,
                                             timeout=httpx.Timeout(self.settings.timeout_s, connect=5.0))
        return self._client


@contextlib.contextmanager
def http_errors(url: str) -> Iterator[None]:
    """httpx failures -> BackendError with the gRPC status that fits."""
    try:
        yield
    except httpx.TimeoutException as exc:
        if isinstance(exc, httpx.ConnectTimeout):
            raise BackendError(grpc.StatusCode.UNAVAILABLE, f"the upstream at {url} is unreachable: {exc}") from None
        raise BackendError(grpc.StatusCode.DEADLINE_EXCEEDED,
                           f"the upstream at {url} did not answer in time ({type(exc).__name__})") from None
    except httpx.ConnectError as exc:
        raise BackendError(grpc.StatusCode.UNAVAILABLE, f"the upstream at {url} is unreachable: {exc}") from None
    except httpx.HTTPError as exc:
        raise BackendError(grpc.StatusCode.UNAVAILABLE,
                           f"the connection to the upstream at {url} failed: {type(exc).__name__}: {exc}") from None


_STATUS_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.FAILED_PRECONDITION,  # the service's API key: an operator's problem
    403: grpc.StatusCode.FAILED_PRECONDITION,
    404: grpc.StatusCode.FAILED_PRECONDITION,  # unknown model or endpoint
    413: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


async def check_response(response: httpx.Response, url: str) -> None:
    """A non-2xx upstream answer -> BackendError carrying the upstream's own message."""
    if response.is_success:
        return
    await response.aread()
    detail = _error_detail(response)
    code = _STATUS_CODES.get(response.status_code,
                             grpc.StatusCode.UNAVAILABLE if response.status_code >= 500 else grpc.StatusCode.FAILED_PRECONDITION)
    raise BackendError(code, f"the upstream at {url} answered HTTP {response.status_code}: {detail}")


def _error_detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error") if "error" in data else data.get("detail", data)
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:300]
    return str(data)[:300]


def _model_from_listing(listing: Any, url: str) -> str:
    try:
        return listing["data"][0]["id"]
    except (KeyError, IndexError, TypeError):
        raise BackendError(grpc.StatusCode.FAILED_PRECONDITION,
                           f"the upstream at {url} lists no model; set server.upstream_model") from None
