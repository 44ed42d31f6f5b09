"""The notes lines a request needs: profile lines set aside, the rest ranked by MiniLM similarity.

A person's notes mix what a request needs (the landlord's name, the broken radiator, the
date the guests come) with what it does not (the gym renewal, the dentist) and with
profile lines (name, phone, email, ids) that a letter almost never quotes. The edge model
writes better from the few relevant lines than from all of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from edge_agent.privacy.patterns import find_pii

_KEY_VALUE = re.compile(r"^([^\W\d][^:\n\d]{0,29}):\s+(.+)$")
_CONTACT_KINDS = frozenset({"PHONE", "EMAIL", "ADDRESS", "ID", "NUMBER"})
_LETTERS = re.compile(r"[^\W\d_]{2,}")
_NAME_KEYS = frozenset({"name", "my name", "full name"})
# Key words of profile fields that hold contact details or identifiers.
_PROFILE_KEY_WORDS = frozenset(
    {"address", "home", "phone", "mobile", "email", "e-mail", "dob", "birth", "ssn", "passport", "iban",
     "id", "dni", "cpf", "nin", "username", "login", "password", "pin"}
)


class Embedder(Protocol):
    """Anything that embeds texts as L2-normalized rows (edge_agent.retrieval.Embedder)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One normalized vector per text."""
        ...


@dataclass(frozen=True)
class FocusSettings:
    """Keep at most `k` lines: the `keep_top` best always, the others if their cosine similarity
    to the instruction is at least `min_similarity`."""

    k: int = 4
    min_similarity: float = -1.0
    keep_top: int = 1


@dataclass(frozen=True)
class ScoredLine:
    """A notes line, its index in the notes and its similarity to the instruction."""

    index: int
    text: str
    similarity: float


def user_name(lines: Sequence[str]) -> str:
    """The user's own name from a 'Name: ...' line ('' if none), without a bracketed alias."""
    for line in lines:
        m = _KEY_VALUE.match(line.strip())
        if m and m.group(1).strip().casefold() in _NAME_KEYS:
            return re.sub(r"\s*\([^)]*\)\s*", " ", m.group(2)).strip()
    return ""


def is_profile_line(line: str) -> bool:
    """'Name: ...', a contact or id field ('Phone: ...', 'Student ID: ...'), or a 'Key: value'
    line whose value is only contact details or ids."""
    m = _KEY_VALUE.match(line.strip())
    if not m:
        return False
    key = m.group(1).strip().casefold()
    if key in _NAME_KEYS or _PROFILE_KEY_WORDS.intersection(re.findall(r"[\w-]+", key)):
        return True
    value = m.group(2)
    hits = [h for h in find_pii(value) if h.kind in _CONTACT_KINDS]
    rest = value
    for hit in sorted(hits, key=lambda h: -h.start):
        rest = rest[: hit.start] + rest[hit.end :]
    return bool(hits) and not _LETTERS.search(rest)


def rank_lines(embedder: Embedder, instruction: str, lines: Sequence[str]) -> list[ScoredLine]:
    """The non-profile lines, most similar to the instruction first (cosine of MiniLM embeddings)."""
    keep = [i for i, line in enumerate(lines) if line.strip() and not is_profile_line(line)]
    if not keep:
        return []
    vectors = embedder.embed([instruction] + [lines[i] for i in keep])
    similarity = vectors[1:] @ vectors[0]
    order = np.argsort(-similarity, kind="stable")
    return [ScoredLine(keep[j], lines[keep[j]], float(similarity[j])) for j in order]


def relevant_lines(
    embedder: Embedder, instruction: str, lines: Sequence[str], settings: FocusSettings = FocusSettings()
) -> list[str]:
    """The relevant lines under `settings`, in the notes' own order."""
    ranked = [s for i, s in enumerate(rank_lines(embedder, instruction, lines)[: settings.k])
              if i < settings.keep_top or s.similarity >= settings.min_similarity]
    return [s.text for s in sorted(ranked, key=lambda s: s.index)]
