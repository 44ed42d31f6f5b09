"""Typed configuration: one TOML file, environment overrides, clear errors.

Precedence (lowest to highest): built-in defaults, the TOML file
(`--config`, `$TANDEM_CONFIG` or `~/.config/tandem/config.toml`), environment
variables named `TANDEM_<SECTION>_<KEY>` (e.g. `TANDEM_CLOUD_ADDRESS`), and
finally command-line flags, which the CLI applies on top.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from edge_agent import paths

BACKENDS = ("llama.cpp", "openai")
STRATEGIES = ("edge", "cloud-public", "sketch", "fuse", "best-of", "cloud-with-context")


class ConfigError(ValueError):
    """A config value is wrong; the message names the key and where it came from."""


@dataclass
class EdgeConfig:
    """The local model on the laptop."""

    model: str = "qwen2.5-coder-0.5b"  # catalog name or a path to a .gguf file
    n_ctx: int = 4096
    n_threads: int = 0  # 0 = all cores
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    strategy: str = "edge"


@dataclass
class CloudConfig:
    """How the edge reaches the cloud service."""

    address: str = "127.0.0.1:50051"
    timeout_s: float = 120.0  # deadline for one cloud call
    connect_timeout_s: float = 3.0  # how long to wait for the channel before falling back
    allow_context: bool = False  # opt-in: the cloud-with-context baseline may send private context
    sketch_max_tokens: int = 192  # longest outline the sketch strategy asks for
    token_file: str = ""  # file holding this edge's bearer token for the cloud (empty = none)
    tls: bool = False  # connect with TLS (implied by ca_file / cert_file)
    ca_file: str = ""  # PEM CA that signed the cloud's certificate (empty = system roots)
    cert_file: str = ""  # mTLS: this edge's client certificate (PEM)
    key_file: str = ""  # mTLS: its private key (PEM)
    server_name: str = ""  # TLS: expected name in the cloud's certificate (empty = the address host)


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
class PrivacyConfig:
    """The outbound audit log."""

    audit_log: str = ""  # empty = <data dir>/audit.jsonl

    def audit_path(self) -> Path:
        return Path(self.audit_log).expanduser() if self.audit_log else paths.data_dir() / "audit.jsonl"


@dataclass
class DaemonConfig:
    """`tandem daemon`: the background edge agent, its local socket and the private store."""

    socket: str = ""  # empty = $XDG_RUNTIME_DIR/tandem/daemon.sock, else <data dir>/daemon.sock
    store: str = ""  # empty = <data dir>/store.sqlite3
    retrieval_k: int = 4  # retrieved chunks per request when no --context is given
    probe_interval_s: float = 15.0  # cloud health check while connected
    probe_backoff_max_s: float = 60.0  # longest wait between reconnection attempts while offline

    def socket_path(self) -> Path:
        if self.socket:
            return Path(self.socket).expanduser()
        runtime = os.environ.get("XDG_RUNTIME_DIR", "").strip()
        return Path(runtime) / "tandem" / "daemon.sock" if runtime else paths.data_dir() / "daemon.sock"

    def store_path(self) -> Path:
        return Path(self.store).expanduser() if self.store else paths.data_dir() / "store.sqlite3"


@dataclass
class FuseConfig:
    """The fuse strategy: logit fusion with a cloud session."""

    rule: str = "fixed"  # fixed | entropy | gate | proxy
    cloud_weight: float = 0.5  # the fixed rule's weight of the cloud
    draft: int = 6  # tokens the edge drafts per round trip (0 = one round trip per token)
    top_k: int = 20  # distribution entries the cloud returns per position
    gate_file: str = ""  # empty = <data dir>/fusion_gate.json (`tandem fuse train-gate`)
    base_model: str = ""  # proxy rule: the edge's base (untuned) model
    alpha: float = 1.0  # proxy rule: strength of (tuned - base)

    def gate_path(self) -> Path:
        return Path(self.gate_file).expanduser() if self.gate_file else paths.data_dir() / "fusion_gate.json"


@dataclass
class QualityConfig:
    """Scoring and verification of answers on the device."""

    score: bool = True  # score every answer with the ONNX scorer (milliseconds)
    verify: bool = False  # verify every answer with the edge model (seconds; best-of always verifies)


@dataclass
class BestOfConfig:
    """The best-of strategy."""

    strategies: str = "edge,sketch,fuse"  # comma-separated; unreachable cloud ones fall back to the edge
    samples: int = 1  # extra edge answers sampled at temperature 0.8
    max_verify: int = 2  # candidates verified at most, best-scored first

    def strategy_list(self) -> list[str]:
        return [s.strip() for s in self.strategies.split(",") if s.strip()]


@dataclass
class Config:
    edge: EdgeConfig = field(default_factory=EdgeConfig)
    cloud: CloudConfig = field(default_factory=CloudConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    fuse: FuseConfig = field(default_factory=FuseConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    best_of: BestOfConfig = field(default_factory=BestOfConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    source: str = "defaults"  # where the file part came from, for messages
    origins: dict[str, str] = field(default_factory=dict)  # "section.key" -> file or variable that set it


SECTIONS: dict[str, type] = {
    "edge": EdgeConfig,
    "cloud": CloudConfig,
    "server": ServerConfig,
    "privacy": PrivacyConfig,
    "fuse": FuseConfig,
    "quality": QualityConfig,
    "best_of": BestOfConfig,
    "daemon": DaemonConfig,
}


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load defaults, then the TOML file, then `TANDEM_*` environment overrides.

    `path=None` uses the default location and tolerates its absence; an explicit
    path that does not exist is an error.
    """
    environ = os.environ if environ is None else environ
    explicit = path is not None
    file = Path(path) if explicit else paths.default_config_file()
    config = Config()
    if file.exists():
        _apply_file(config, file)
        config.source = str(file)
    elif explicit:
        raise ConfigError(f"config file {file} does not exist")
    _apply_environ(config, environ)
    validate(config)
    return config


def _apply_file(config: Config, file: Path) -> None:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"{file}: unknown section [{section}] (known: {', '.join(SECTIONS)})"
            )
        if not isinstance(values, dict):
            raise ConfigError(f"{file}: '{section}' must be a table like [{section}]")
        target = getattr(config, section)
        for key, value in values.items():
            _set(target, section, key, value, where=str(file))
            config.origins[f"{section}.{key}"] = str(file)


def _apply_environ(config: Config, environ: Mapping[str, str]) -> None:
    for section in SECTIONS:
        target = getattr(config, section)
        for f in dataclasses.fields(target):
            var = f"TANDEM_{section}_{f.name}".upper()
            if var in environ:
                _set(target, section, f.name, environ[var], where=f"environment variable {var}", from_text=True)
                config.origins[f"{section}.{f.name}"] = f"environment variable {var}"


def _set(target: Any, section: str, key: str, value: Any, where: str, from_text: bool = False) -> None:
    fields = {f.name: f for f in dataclasses.fields(target)}
    if key not in fields:
        raise ConfigError(
            f"{where}: unknown key '{section}.{key}' (known: {', '.join(fields)})"
        )
    kind = type(getattr(type(target)(), key))
    try:
        setattr(target, key, _coerce(value, kind, from_text))
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: '{section}.{key}' must be {_KIND_NAMES[kind]}, got {value!r}"
        ) from None


_KIND_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}


def _coerce(value: Any, kind: type, from_text: bool) -> Any:
    if from_text and kind is not str:
        value = value.strip()
        if kind is bool:
            lowered = value.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        return kind(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(value)
    return value


def validate(config: Config) -> None:
    """Range checks that a type check cannot catch."""
    def need(ok: bool, key: str, what: str) -> None:
        if not ok:
            raise ConfigError(f"{config.origins.get(key, config.source)}: '{key}' {what}")

    need(config.edge.strategy in STRATEGIES, "edge.strategy", f"must be one of {', '.join(STRATEGIES)}")
    need(config.edge.n_ctx >= 256, "edge.n_ctx", "must be at least 256")
    need(config.edge.max_tokens >= 1, "edge.max_tokens", "must be at least 1")
    need(0.0 <= config.edge.temperature <= 2.0, "edge.temperature", "must be between 0 and 2")
    need(config.edge.n_threads >= 0, "edge.n_threads", "must be 0 (all cores) or more")
    need(":" in config.cloud.address, "cloud.address", "must look like HOST:PORT")
    need(config.cloud.timeout_s > 0, "cloud.timeout_s", "must be positive")
    need(config.cloud.sketch_max_tokens >= 16, "cloud.sketch_max_tokens", "must be at least 16")
    need(config.cloud.connect_timeout_s > 0, "cloud.connect_timeout_s", "must be positive")
    need(0 <= config.server.port <= 65535, "server.port", "must be between 0 and 65535")
    need(config.server.n_ctx >= 256, "server.n_ctx", "must be at least 256")
    need(config.server.max_tokens_limit >= 1, "server.max_tokens_limit", "must be at least 1")
    need(config.server.max_concurrent_rpcs >= 1, "server.max_concurrent_rpcs", "must be at least 1")
    need(config.server.grace_s >= 0, "server.grace_s", "must not be negative")
    need(config.fuse.rule in ("fixed", "entropy", "gate", "proxy"), "fuse.rule",
         "must be one of fixed, entropy, gate, proxy")
    need(0.0 <= config.fuse.cloud_weight <= 1.0, "fuse.cloud_weight", "must be between 0 and 1")
    need(0 <= config.fuse.draft <= 32, "fuse.draft", "must be between 0 and 32")
    need(1 <= config.fuse.top_k <= 100, "fuse.top_k", "must be between 1 and 100")
    need(config.fuse.rule != "proxy" or bool(config.fuse.base_model), "fuse.base_model",
         "must name the base model when fuse.rule = \"proxy\"")
    bad = [s for s in config.best_of.strategy_list() if s not in STRATEGIES or s in ("best-of", "cloud-with-context")]
    need(not bad and bool(config.best_of.strategy_list()), "best_of.strategies",
         "must list some of edge, cloud-public, sketch, fuse (comma-separated)")
    need(0 <= config.best_of.samples <= 8, "best_of.samples", "must be between 0 and 8")
    need(config.best_of.max_verify >= 0, "best_of.max_verify", "must be 0 or more")
    need(config.server.max_sessions >= 1, "server.max_sessions", "must be at least 1")
    need(config.server.session_idle_s > 0, "server.session_idle_s", "must be positive")
    need(config.server.n_threads >= 0, "server.n_threads", "must be 0 (all cores) or more")
    need(config.server.backend in BACKENDS, "server.backend", f"must be one of {', '.join(BACKENDS)}")
    need(config.server.backend != "openai" or bool(config.server.upstream_url), "server.backend",
         'is "openai" but server.upstream_url is not set (e.g. "http://127.0.0.1:8000/v1")')
    need(config.server.upstream_timeout_s > 0, "server.upstream_timeout_s", "must be positive")
    need(config.server.upstream_scoring in ("echo", "single"), "server.upstream_scoring", "must be echo or single")
    need(bool(config.server.tls_cert_file) == bool(config.server.tls_key_file), "server.tls_key_file",
         "and server.tls_cert_file must be set together")
    need(not config.server.tls_client_ca_file or bool(config.server.tls_cert_file), "server.tls_client_ca_file",
         "needs server.tls_cert_file and server.tls_key_file (mTLS is TLS with client certificates)")
    need(config.server.max_prompt_chars >= 1, "server.max_prompt_chars", "must be at least 1")
    need(config.server.max_message_bytes >= 1024, "server.max_message_bytes", "must be at least 1024")
    need(config.server.keepalive_s > 0, "server.keepalive_s", "must be positive")
    need(0 <= config.server.metrics_port <= 65535, "server.metrics_port", "must be between 0 (off) and 65535")
    need(bool(config.cloud.cert_file) == bool(config.cloud.key_file), "cloud.key_file",
         "and cloud.cert_file must be set together")
    need(config.daemon.retrieval_k >= 0, "daemon.retrieval_k", "must be 0 (no retrieval) or more")
    need(config.daemon.probe_interval_s > 0, "daemon.probe_interval_s", "must be positive")
    need(config.daemon.probe_backoff_max_s > 0, "daemon.probe_backoff_max_s", "must be positive")
