"""Every strategy tandem has, in one table: config validation, the CLI, the TUI picker and the bench read it.

An entry names its runner as "module:function" and imports it on first use, so this table
(and the config that validates against it) loads nothing heavy. To add a strategy, write a
module with a runner `run(ctx, request, report) -> Iterator[str]` (see `strategies.context`)
and add a line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edge_agent.strategies.base import AskRequest
    from edge_agent.strategies.context import StrategyContext
    from edge_agent.strategies.report import AnswerReport

    Runner = Callable[[StrategyContext, AskRequest, AnswerReport], Iterator[str]]


@dataclass(frozen=True)
class Strategy:
    """One way of answering: who writes, and what (if anything) the cloud receives."""

    name: str
    runner: str  # "module:function"
    description: str  # one line, shown in the TUI picker and `--help`
    calls_cloud: bool  # it sends something (redacted) to the cloud
    # The config switch ("section.key") that must be true for it to run, because what it sends
    # is derived from the private notes; "" = always available.
    opt_in: str = ""

    def load(self) -> Runner:
        """The runner function (imported on first use)."""
        module, _, function = self.runner.partition(":")
        return getattr(importlib.import_module(module), function)

    def enabled(self, config: Any) -> bool:
        """Whether `config` lets it run (always, unless it is opt-in and its switch is off)."""
        if not self.opt_in:
            return True
        section, _, key = self.opt_in.partition(".")
        return bool(getattr(getattr(config, section), key))


STRATEGIES: dict[str, Strategy] = {s.name: s for s in (
    Strategy("edge", "edge_agent.strategies.edge:run_edge",
             "the small model alone, with your notes; nothing leaves the device", calls_cloud=False),
    Strategy("cloud-public", "edge_agent.strategies.cloud:run_cloud_public",
             "the cloud model answers the redacted instruction without your notes", calls_cloud=True),
    Strategy("sketch", "edge_agent.strategies.sketch:run_sketch",
             "the cloud outlines the redacted instruction; the edge writes with your notes", calls_cloud=True),
    Strategy("fuse", "edge_agent.strategies.fuse:run_fuse",
             "both models choose each token (logit fusion), then the edge finishes it; private spans stay on the edge",
             calls_cloud=True),
    Strategy("best-of", "edge_agent.strategies.best_of:run_best_of",
             "several candidates, scored and verified on the device; the best is returned", calls_cloud=True),
    Strategy("checked", "edge_agent.strategies.checked:run_checked",
             "the edge answer, checked against your relevant notes and repaired on the device", calls_cloud=False),
    Strategy("slots", "edge_agent.strategies.slots:run_slots",
             "the cloud drafts the redacted instruction with slots; the edge fills them from your notes",
             calls_cloud=True),
    Strategy("cloud-with-context", "edge_agent.strategies.cloud:run_cloud_with_context",
             "OPT-IN baseline: the cloud gets your notes", calls_cloud=True, opt_in="cloud.allow_context"),
)}

NAMES: tuple[str, ...] = tuple(STRATEGIES)
