"""Personalized-writing benchmark tasks: file format, loader and scoring helpers.

A task file is JSON Lines, one task object per line (blank lines are skipped)::

    {"id": "...", "instruction": "...", "private_context": "...",
     "required_facts": ["..."], "canaries": ["..."], "category": "email"}

``private_context`` stands for what lives only on the device (profile, notes).
``required_facts`` are short strings a good answer must contain; ``canaries`` are
sensitive strings that must never reach the cloud. Both are checked to be
verbatim (case-sensitive) substrings of ``private_context`` when loading.
Keys other than the six above are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CATEGORIES",
    "DEFAULT_TASKS",
    "Task",
    "TaskFileError",
    "fact_recall",
    "find_canaries",
    "load_tasks",
]

CATEGORIES: frozenset[str] = frozenset({"email", "message", "note", "letter", "reply", "reminder"})

DEFAULT_TASKS: Path = Path(__file__).resolve().parent / "tasks" / "personal_writing.jsonl"

_STRING_KEYS = ("id", "instruction", "private_context", "category")
_LIST_KEYS = ("required_facts", "canaries")


@dataclass(frozen=True)
class Task:
    id: str
    instruction: str
    private_context: str
    required_facts: tuple[str, ...]
    canaries: tuple[str, ...]
    category: str


class TaskFileError(ValueError):
    """A task file is malformed; the message reads ``<file>:<line>: <problem>``."""


def _parse_task(obj: object, where: str) -> Task:
    if not isinstance(obj, dict):
        raise TaskFileError(f"{where}: wrong type: expected a JSON object, got {type(obj).__name__}")
    for key in (*_STRING_KEYS, *_LIST_KEYS):
        if key not in obj:
            raise TaskFileError(f"{where}: missing key {key!r}")
    for key in _STRING_KEYS:
        value = obj[key]
        if not isinstance(value, str):
            raise TaskFileError(f"{where}: wrong type for {key!r}: expected a string, got {type(value).__name__}")
        if not value.strip():
            raise TaskFileError(f"{where}: {key!r} is empty")
    lists: dict[str, tuple[str, ...]] = {}
    for key in _LIST_KEYS:
        value = obj[key]
        if not isinstance(value, list):
            raise TaskFileError(f"{where}: wrong type for {key!r}: expected a list of strings, got {type(value).__name__}")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise TaskFileError(
                    f"{where}: wrong type for {key}[{i}]: expected a string, got {type(item).__name__}"
                )
            if not item.strip():
                raise TaskFileError(f"{where}: {key}[{i}] is empty")
        lists[key] = tuple(value)

    task_id = obj["id"]
    category = obj["category"]
    if category not in CATEGORIES:
        raise TaskFileError(
            f"{where}: task {task_id!r}: unknown category {category!r} (allowed: {', '.join(sorted(CATEGORIES))})"
        )
    context = obj["private_context"]
    for key, label in (("required_facts", "required fact"), ("canaries", "canary")):
        for item in lists[key]:
            if item not in context:
                raise TaskFileError(f"{where}: task {task_id!r}: {label} {item!r} is not in private_context")
    return Task(
        id=task_id,
        instruction=obj["instruction"],
        private_context=context,
        required_facts=lists["required_facts"],
        canaries=lists["canaries"],
        category=category,
    )


def load_tasks(path: Path | str = DEFAULT_TASKS, limit: int | None = None) -> list[Task]:
    """Read and validate a task file; return its tasks in file order.

    The whole file is validated even when ``limit`` is given; then the first
    ``limit`` tasks are returned. Raises ``TaskFileError`` for any malformed
    line (message ``<file>:<line>: <problem>``) or a file with no tasks, and
    ``OSError`` if the file cannot be read.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative integer or None, got {limit!r}")
    path = Path(path)
    raw = path.read_bytes()
    tasks: list[Task] = []
    first_line_of: dict[str, int] = {}
    for lineno, raw_line in enumerate(raw.split(b"\n"), start=1):
        where = f"{path}:{lineno}"
        try:
            line = raw_line.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise TaskFileError(f"{where}: not valid UTF-8 ({exc.reason})") from None
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TaskFileError(f"{where}: bad JSON: {exc.msg} (column {exc.colno})") from None
        task = _parse_task(obj, where)
        if task.id in first_line_of:
            raise TaskFileError(f"{where}: duplicate id {task.id!r} (first used on line {first_line_of[task.id]})")
        first_line_of[task.id] = lineno
        tasks.append(task)
    if not tasks:
        raise TaskFileError(f"{path}: no tasks in file")
    return tasks if limit is None else tasks[:limit]


def _normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def fact_recall(answer: str, facts: Sequence[str]) -> float:
    """Share of ``facts`` found in ``answer`` (case-insensitive, whitespace runs
    collapsed to one space). Returns 1.0 when there are no facts."""
    if not facts:
        return 1.0
    text = _normalize(answer)
    found = sum(1 for fact in facts if _normalize(fact) in text)
    return found / len(facts)


def find_canaries(data: str, canaries: Sequence[str]) -> list[str]:
    """The canaries that occur in ``data``, in the order given, without duplicates.

    Matching is case-insensitive and, like ``fact_recall``, treats any run of
    whitespace as one space, so a canary split across a line break still counts.
    """
    text = _normalize(data)
    hits: list[str] = []
    for canary in canaries:
        needle = _normalize(canary)
        if needle and needle in text and canary not in hits:
            hits.append(canary)
    return hits
