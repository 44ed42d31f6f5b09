"""What an answer depends on, so that a cached benchmark answer cannot outlive a change to it.

Each strategy may declare its dependencies in DEPENDS: the configuration it reads (a whole
section such as "fuse", or one key such as "cloud.sketch_max_tokens"), its inputs (functions
of the configuration returning the prompt texts it uses, rendered on a fixed probe so that a
changed template shows as well as a changed constant, or an artifact's digest), the
strategies it runs (their dependencies become its own), whether the cloud sees the guard's
redaction of the instruction, and a version number to bump when its code changes its
answers in a way nothing else shows. `answer_setup()` hashes all of it (with the task's
redacted instruction) into the `setup` field of the row key; models, max tokens and the
task's content are key fields already.

A strategy in `edge_agent.strategies.STRATEGIES` without an entry here still gets a safe
key (`undeclared`): every setting it could read (the SECTIONS), the source of its module and of
the prompts module, and the redacted instruction if it calls the cloud. Any edit to its code
then makes its answers again; declaring it here narrows that to what it really reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge_agent.config import Config
from edge_agent.context import PrivateContext
from runtime.llm import ChatMessage

Input = Callable[[Config], object]

# A fixed request the prompt builders are rendered on: what they add around it is the prompt version.
PROBE_INSTRUCTION = "Write a short note to [PERSON_1] about Tuesday."
PROBE_CONTEXT = PrivateContext("Name: Probe Person\nMeeting with Ann on Tuesday at 3 pm")
PROBE_OUTLINE = ("First point", "Second point")
# The settings an undeclared strategy is assumed to read (all but daemon, which does not change
# an answer; privacy too, since a strategy may send something the guard shapes beyond the instruction) ...
SECTIONS = ("edge", "cloud", "privacy", "quality", "fuse", "best_of")
# ... less those that say where or how fast, not what: the edge model is a key field, and the
# bench sets the address, the timeout and allow_context on its own copy.
NOT_ANSWERS = frozenset({
    "edge.model", "edge.n_threads", "edge.strategy", "cloud.address", "cloud.timeout_s", "cloud.connect_timeout_s",
    "cloud.allow_context", "cloud.token_file", "cloud.tls", "cloud.ca_file", "cloud.cert_file", "cloud.key_file",
    "cloud.server_name", "privacy.audit_log",
})


@dataclass(frozen=True)
class Depends:
    """Everything besides models, max tokens and the task that changes a strategy's answer."""

    config: tuple[str, ...] = ()  # "section" or "section.key"
    inputs: tuple[Input, ...] = ()  # prompt texts on the probe, artifact digests
    uses: tuple[str, ...] | Callable[[Config], Sequence[str]] = ()  # strategies it runs
    redacts: bool = False  # the cloud sees the instruction as the privacy guard redacts it
    version: int = 1  # bump when the strategy's code changes its answers and nothing above shows it


def _messages(messages: Sequence[ChatMessage]) -> list[list[str]]:
    return [[m.role, m.content] for m in messages]


def edge_prompt(config: Config) -> object:
    """The edge-alone chat rendered on the probe."""
    from edge_agent.strategies import prompts

    return _messages(prompts.edge_messages(PROBE_INSTRUCTION, PROBE_CONTEXT))


def sketch_prompt(config: Config) -> object:
    """The edge's chat around the cloud's outline, rendered on the probe."""
    from edge_agent.strategies import prompts

    return _messages(prompts.sketch_messages(PROBE_INSTRUCTION, PROBE_CONTEXT, PROBE_OUTLINE))


def cloud_sketch_prompt(config: Config) -> object:
    """The outline request the cloud service builds (served in the bench's own cloud process)."""
    from cloud_service import servicer

    return [servicer.SKETCH_SYSTEM, servicer.SKETCH_PROMPT, servicer.DEFAULT_SKETCH_POINTS]


def cloud_public_prompt(config: Config) -> object:
    """The system prompt the cloud writes under without the notes."""
    from edge_agent.strategies import prompts

    return prompts.CLOUD_PUBLIC_SYSTEM


def cloud_context_prompt(config: Config) -> object:
    """The opt-in baseline's system prompt (it carries the notes), rendered on the probe."""
    from edge_agent.strategies import prompts

    return prompts.cloud_context_system(PROBE_CONTEXT)


def fuse_gate(config: Config) -> object:
    """The trained gate's bytes matter when the fuse rule is "gate"."""
    if config.fuse.rule != "gate":
        return None
    path = config.fuse.gate_path()
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def scorer_artifact(config: Config) -> object:
    """The scorer artifact's recorded sha256 (best-of ranks its candidates with it)."""
    from edge_agent.scoring.scorer import ARTIFACT, ScorerInfo, info_path
    from runtime.models import ModelError

    try:
        return ScorerInfo.read(info_path(ARTIFACT)).sha256 if ARTIFACT.is_file() else "missing"
    except ModelError:
        return "unreadable"


def verifier_prompts(config: Config) -> object:
    """Every wording the verifier asks (best-of verifies its best candidates)."""
    from edge_agent.verify import verifier

    probe = verifier.verdict_messages(PROBE_INSTRUCTION, PROBE_CONTEXT.text, "An answer.", "A wording.")
    return [_messages(probe), verifier.SYSTEM, verifier.WORDINGS, verifier.HELP_QUESTIONS,
            verifier.GROUNDED_QUESTIONS, verifier.CONTENT_FREE]


FINISH_MODULES = ("edge_agent.strategies.finishing", "edge_agent.collab", "edge_agent.collab.details",
                  "edge_agent.collab.finish", "edge_agent.collab.focus", "edge_agent.collab.repair",
                  "edge_agent.collab.slots", "edge_agent.collab.tidy")


def finish_code(config: Config) -> object:
    """The edge's finish (fill, tidy, repair) of checked, slots and fuse: its prompts and rules live in code."""
    return {module: _source_digest(module) for module in FINISH_MODULES}


def slot_prompt(config: Config) -> object:
    """The constant system prompt of the cloud's slot draft."""
    from edge_agent.collab.slots import SLOT_SYSTEM

    return SLOT_SYSTEM


DEPENDS: dict[str, Depends] = {
    "edge": Depends(inputs=(edge_prompt,)),
    "cloud-public": Depends(inputs=(cloud_public_prompt,), redacts=True),
    "sketch": Depends(config=("cloud.sketch_max_tokens",), inputs=(sketch_prompt, cloud_sketch_prompt), redacts=True),
    "fuse": Depends(config=("fuse",), inputs=(edge_prompt, cloud_public_prompt, fuse_gate, finish_code), redacts=True),
    "cloud-with-context": Depends(inputs=(cloud_context_prompt,), redacts=True),
    "checked": Depends(inputs=(edge_prompt, finish_code)),
    "slots": Depends(inputs=(slot_prompt, finish_code), redacts=True, uses=lambda config: ["checked"]),
    "best-of": Depends(config=("best_of",), inputs=(scorer_artifact, verifier_prompts),
                       uses=lambda config: [*config.best_of.strategy_list(), "edge"]),
}


class UndeclaredStrategy(KeyError):
    """A strategy tandem does not have, so its cached answers could not be told apart."""


def _source_digest(module: str) -> str:
    """sha256 prefix of a module's source file ("missing" if it has none)."""
    spec = importlib.util.find_spec(module)
    origin = Path(spec.origin) if spec is not None and spec.origin else None
    if origin is None or not origin.is_file():
        return "missing"
    return hashlib.sha256(origin.read_bytes()).hexdigest()[:16]


def undeclared(name: str) -> Depends:
    """The conservative dependencies of a registered strategy that DEPENDS does not list."""
    from edge_agent.strategies import STRATEGIES

    strategy = STRATEGIES.get(name)
    if strategy is None:
        raise UndeclaredStrategy(f"strategy {name!r} is not in edge_agent.strategies.STRATEGIES and declares no "
                                 "dependencies in bench.answer_key.DEPENDS")
    module = strategy.runner.partition(":")[0]
    sources = {module: _source_digest(module), "edge_agent.strategies.prompts":
               _source_digest("edge_agent.strategies.prompts")}
    return Depends(inputs=(_all_settings, lambda config: [strategy.runner, sources]), redacts=strategy.calls_cloud)


def _all_settings(config: Config) -> object:
    """Every setting in SECTIONS that can change an answer."""
    return {f"{section}.{key}": value for section in SECTIONS
            for key, value in dataclasses.asdict(getattr(config, section)).items()
            if f"{section}.{key}" not in NOT_ANSWERS}


def _depends(name: str) -> Depends:
    return DEPENDS[name] if name in DEPENDS else undeclared(name)


def _config_value(config: Config, name: str) -> object:
    section, _, key = name.partition(".")
    value = getattr(config, section)
    return getattr(value, key) if key else dataclasses.asdict(value)


def _setup(strategy: str, config: Config, seen: frozenset[str]) -> tuple[dict, bool]:
    """The strategy's dependencies as plain data, and whether any part redacts the instruction."""
    depends = _depends(strategy)
    used = depends.uses(config) if callable(depends.uses) else depends.uses
    redacts = depends.redacts
    nested = {}
    for name in sorted(set(used) - seen - {strategy}):
        nested[name], more = _setup(name, config, seen | {strategy})
        redacts = redacts or more
    data = {
        "version": depends.version,
        "config": {name: _config_value(config, name) for name in depends.config},
        "inputs": [f(config) for f in depends.inputs],
        "uses": nested,
    }
    return data, redacts


def answer_setup(strategy: str, config: Config, instruction: str = "", context: PrivateContext | None = None) -> str:
    """A short hash of what `strategy`'s answer to this request depends on (beyond models and max tokens)."""
    data, redacts = _setup(strategy, config, frozenset())
    if redacts:
        from edge_agent.privacy import PrivacyGuard

        guard = PrivacyGuard((context or PrivateContext()).guard_lines, config.privacy.guard_settings())
        data["redacted_instruction"] = guard.redact(instruction).text
    text = json.dumps({"strategy": strategy, **data}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
