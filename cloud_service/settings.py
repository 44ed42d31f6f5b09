"""The cloud service's settings: the `[server]` section of the shared config file.

Loaded by `runtime.settings` (TOML file, `TANDEM_SERVER_<KEY>` environment overrides); the
edge's sections are skipped. `tandem cloud serve` applies its flags on top.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runtime.settings import Checks, ConfigError, load_settings

__all__ = ["BACKENDS", "CloudSettings", "ConfigError", "ServerConfig", "load_cloud_settings", "validate"]

BACKENDS = ("llama.cpp", "openai")
UPSTREAM_SCORING = ("echo", "single")


@dataclass
class ServerConfig:
    """`tandem cloud serve`."""

    host: str = "127.0.0.1"
    port: int = 50051
    model: str = "qwen2.5-coder-1.5b"
    n_ctx: int = 4096
    n_threads: int = 0
    max_tokens_limit: int = 2048  # largest max_tokens a request may ask for
    max_concurrent_rpcs: int = 16
    grace_s: float = 5.0  # graceful shutdown period on SIGTERM
    max_sessions: int = 8  # concurrent Fuse sessions
    session_idle_s: float = 300.0  # a Fuse session silent this long is closed
    capture_file: str = ""  # tests/benchmarks only: record every received request's bytes here
    # backend: "llama.cpp" hosts `model` in this process; "openai" forwards to an
    # OpenAI-compatible server (vLLM, llama.cpp server, TGI) and loads only the
    # vocabulary of `model` (for token counts and Fuse; "" = no tokenizer, no Fuse).
    backend: str = "llama.cpp"
    upstream_url: str = ""  # openai backend: base URL, e.g. http://10.0.0.5:8000/v1
    upstream_model: str = ""  # the upstream's model name (empty = the first of its /v1/models)
    upstream_api_key_file: str = ""  # file holding the upstream's API key (empty = none)
    upstream_timeout_s: float = 120.0  # one upstream HTTP call
    # how Fuse scores drafts: "single" = one call per position, text prompts (any server);
    # "echo" = one call per step, token-id prompts with prompt log-probabilities (vLLM)
    upstream_scoring: str = "single"
    # security and limits
    token_file: str = ""  # allowed bearer tokens, one per line (empty = no authentication)
    tls_cert_file: str = ""  # PEM certificate chain; with tls_key_file, serve TLS
    tls_key_file: str = ""  # PEM private key
    tls_client_ca_file: str = ""  # mTLS: clients must present a certificate signed by this CA
    max_prompt_chars: int = 32768  # longest prompt / instruction / system text accepted
    max_message_bytes: int = 4 * 1024 * 1024  # largest gRPC message received or sent
    keepalive_s: float = 30.0  # HTTP/2 keepalive ping interval
    metrics_port: int = 0  # Prometheus text format on http://host:port/metrics (0 = off)


@dataclass
class CloudSettings:
    """Everything `tandem cloud serve` reads from the config file."""

    server: ServerConfig = field(default_factory=ServerConfig)
    source: str = "defaults"  # the file read, for messages
    origins: dict[str, str] = field(default_factory=dict)  # "server.key" -> file or variable that set it


def load_cloud_settings(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> CloudSettings:
    """Defaults, then `[server]` of the TOML file, then `TANDEM_SERVER_*` variables; validated."""
    settings = load_settings(CloudSettings(), path, environ)
    validate(settings)
    return settings


def validate(settings: CloudSettings) -> None:
    """Range checks that a type check cannot catch; errors name the key and where it was set."""
    need = Checks(settings).need
    server = settings.server
    need(0 <= server.port <= 65535, "server.port", "must be between 0 and 65535")
    need(server.n_ctx >= 256, "server.n_ctx", "must be at least 256")
    need(server.max_tokens_limit >= 1, "server.max_tokens_limit", "must be at least 1")
    need(server.max_concurrent_rpcs >= 1, "server.max_concurrent_rpcs", "must be at least 1")
    need(server.grace_s >= 0, "server.grace_s", "must not be negative")
    need(server.max_sessions >= 1, "server.max_sessions", "must be at least 1")
    need(server.session_idle_s > 0, "server.session_idle_s", "must be positive")
    need(server.n_threads >= 0, "server.n_threads", "must be 0 (all cores) or more")
    need(server.backend in BACKENDS, "server.backend", f"must be one of {', '.join(BACKENDS)}")
    need(server.backend != "openai" or bool(server.upstream_url), "server.backend",
         'is "openai" but server.upstream_url is not set (e.g. "http://127.0.0.1:8000/v1")')
    need(server.upstream_timeout_s > 0, "server.upstream_timeout_s", "must be positive")
    need(server.upstream_scoring in UPSTREAM_SCORING, "server.upstream_scoring",
         f"must be {' or '.join(UPSTREAM_SCORING)}")
    need(bool(server.tls_cert_file) == bool(server.tls_key_file), "server.tls_key_file",
         "and server.tls_cert_file must be set together")
    need(not server.tls_client_ca_file or bool(server.tls_cert_file), "server.tls_client_ca_file",
         "needs server.tls_cert_file and server.tls_key_file (mTLS is TLS with client certificates)")
    need(server.max_prompt_chars >= 1, "server.max_prompt_chars", "must be at least 1")
    need(server.max_message_bytes >= 1024, "server.max_message_bytes", "must be at least 1024")
    need(server.keepalive_s > 0, "server.keepalive_s", "must be positive")
    need(0 <= server.metrics_port <= 65535, "server.metrics_port", "must be between 0 (off) and 65535")
