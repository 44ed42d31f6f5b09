"""The span finder: which spans of a text are private.

One notion of private for the whole edge (redaction, the door's leak check, the fuse decoder):
- placeholder-like tokens (handled by the vault: ours pass, others are escaped);
- known entities: spans of the private context (`entities.py`) and every span redacted
  earlier in the request, matched whatever their case, spacing or digit separators;
- PII patterns (`patterns.py`): emails, phones, addresses, dates, ids, long numbers;
- sensitive categories (`lexicon.py`): medications, conditions, procedures, money, religion;
- the recognizer (`recognizer.py`, optional): people, organisations, places, other proper
  names, URLs and card numbers found by presidio with spaCy.
Overlapping spans are merged (`resolve`), so no part of a private detail is left over.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from edge_agent.privacy.entities import Entity, _parts, entity_key, extract_entities, is_digit_entity
from edge_agent.privacy.patterns import digits_of, iter_pii
from edge_agent.privacy.vault import token_spans

Source = Literal["token", "known", "pattern", "lexicon", "recognizer"]
_PRIORITY: dict[str, int] = {"token": 0, "known": 1, "pattern": 2, "lexicon": 3, "recognizer": 4}

_CHUNK_RE = re.compile(r"[^\W_]+")
_DIGITS_RE = re.compile(r"\d+")
_DIGIT_GAP_RE = re.compile(r"[ \t.\-/(),:]{0,3}")
_WORD_GAP = r"[\W_]{0,10}"  # what may separate the words of a known span ("priya  sharma", "O'Brien")


@dataclass(frozen=True)
class Span:
    """A private span of a text: [start, end), its placeholder kind, where it was found,
    and the known entity it is (for known spans)."""

    start: int
    end: int
    kind: str
    source: Source
    entity: Entity | None = None

    @property
    def priority(self) -> int:
        """Rank of the source when spans cover the same text: lower wins (token 0 ... recognizer 4)."""
        return _PRIORITY[self.source]


class SpanSource(Protocol):
    """Something that finds raw (start, end, kind) spans in a text: the lexicon, the recognizer."""

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Raw (start, end, kind) spans of `text`; they may overlap."""


def resolve(candidates: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans in text order.

    Overlapping candidates form a cluster. A candidate covering the whole cluster wins
    (the longest match; on a tie: tokens, known entities, patterns, lexicon, recognizer).
    Otherwise the whole cluster becomes one new span, typed as its longest member, so no
    part leaks.
    """
    ordered = sorted(candidates, key=lambda c: (c.start, -c.end))
    spans: list[Span] = []
    cluster: list[Span] = []
    for candidate in ordered + [None]:  # type: ignore[list-item]
        if cluster and (candidate is None or candidate.start >= max(c.end for c in cluster)):
            start, end = cluster[0].start, max(c.end for c in cluster)
            full = [c for c in cluster if c.start == start and c.end == end]
            if full:
                spans.append(min(full, key=lambda c: c.priority))
            else:
                longest = max(cluster, key=lambda c: (c.end - c.start, -c.priority))
                spans.append(Span(start, end, longest.kind, "pattern"))
            cluster = []
        if candidate is not None:
            cluster.append(candidate)
    return spans


def _has_caseless_letters(text: str) -> bool:
    return any(ch.isalpha() and not (ch.isupper() or ch.islower()) for ch in text)


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in the "+" and brackets around a digit run: "+1 (415) 555-0134", "(415)"."""
    if start > 0 and text[start - 1] == "(":
        start -= 1
    if start > 0 and text[start - 1] == "+":
        start -= 1
    if end < len(text) and text[end] == ")" and "(" in text[start:end]:
        end += 1
    return start, end


class EntityIndex:
    """Known entities, matched in any text whatever the case, spacing or digit separators."""

    def __init__(self) -> None:
        self._entities: dict[str, Entity] = {}
        self._by_first_word: dict[str, list[tuple[Entity, re.Pattern[str]]]] = {}
        self._unbounded: list[tuple[Entity, re.Pattern[str]]] = []  # caseless scripts: no word boundaries
        self._by_digits: dict[str, Entity] = {}
        self._phones: dict[str, Entity] = {}  # digits without leading zeros -> phone
        self._phone_tails: dict[str, Entity] = {}  # the same without an international prefix
        self._families: dict[str, list[Entity]] = {}
        self._lock = threading.RLock()

    @property
    def entities(self) -> tuple[Entity, ...]:
        """A snapshot of every registered entity."""
        with self._lock:
            return tuple(self._entities.values())

    def get(self, key: str) -> Entity | None:
        """The entity registered under `key` (an `entity_key`), or None."""
        return self._entities.get(key)

    def family(self, key: str) -> tuple[Entity | None, Sequence[Entity]]:
        """(root, members) of the multi-word name with this key."""
        with self._lock:
            return self._entities.get(key), tuple(self._families.get(key, ()))

    def register(self, entity: Entity) -> Entity:
        """Add `entity` (first registration of a key wins); returns the registered one."""
        with self._lock:
            key = entity.key
            if not key:
                return entity
            if key in self._entities:
                return self._entities[key]
            self._entities[key] = entity
            if entity.family:
                self._families.setdefault(entity.family, []).append(entity)
            if is_digit_entity(entity.text):
                self._register_digits(entity)
                return entity
            words = _CHUNK_RE.findall(entity.text)
            if words:
                body = _WORD_GAP.join(re.escape(w) for w in words)
                if _has_caseless_letters(entity.text):
                    self._unbounded.append((entity, re.compile(body, re.IGNORECASE)))
                else:
                    pattern = re.compile(body + r"(?![^\W_])", re.IGNORECASE)
                    self._by_first_word.setdefault(words[0].lower(), []).append((entity, pattern))
            return entity

    def lookup(self, span: str) -> Entity | None:
        """The known entity this text is (same key, or same digits for numbers and phones)."""
        if is_digit_entity(span):
            known = self.digit_entity(digits_of(span))
            if known is not None:
                return known
        return self._entities.get(entity_key(span))

    def _register_digits(self, entity: Entity) -> None:
        digits = digits_of(entity.text)
        if entity.kind != "PHONE":
            self._by_digits.setdefault(digits, entity)
            return
        core = digits.lstrip("0")
        self._phones.setdefault(core, entity)
        if re.match(r"\s*(?:\+|00)", entity.text):
            for cut in (1, 2, 3):  # "+1 415 ..." is also written "415 ..."
                if len(core) - cut >= 7:
                    self._phone_tails.setdefault(core[cut:], entity)

    def digit_entity(self, digits: str) -> Entity | None:
        """The known numeric entity with these digits; phones match with or without a country code."""
        if digits in self._by_digits:
            return self._by_digits[digits]
        core = digits.lstrip("0")
        if len(core) < 7:
            return None
        if core in self._phones or core in self._phone_tails:
            return self._phones.get(core) or self._phone_tails[core]
        for cut in (1, 2, 3):  # "+1 415 ..." when the context has "415 ..."
            if len(core) - cut >= 7 and core[cut:] in self._phones:
                return self._phones[core[cut:]]
        return None

    def candidates(self, text: str) -> list[Span]:
        """Every occurrence of a known entity in `text` (overlaps included)."""
        found: list[Span] = []
        with self._lock:
            for chunk in _CHUNK_RE.finditer(text):
                for entity, pattern in self._by_first_word.get(chunk.group().lower(), ()):
                    hit = pattern.match(text, chunk.start())
                    if hit:
                        found.append(Span(hit.start(), hit.end(), entity.kind, "known", entity))
            for entity, pattern in self._unbounded:
                found.extend(Span(h.start(), h.end(), entity.kind, "known", entity) for h in pattern.finditer(text))
            found.extend(self._digit_candidates(text))
        return found

    def _digit_candidates(self, text: str) -> list[Span]:
        """Runs of digit groups ("+1 (415) 555-0134"): every sub-run whose digits are known."""
        found: list[Span] = []
        for run in _digit_runs(text):
            for i in range(len(run)):
                for j in range(i, min(len(run), i + 8)):
                    digits = "".join(g.group() for g in run[i:j + 1])
                    entity = self.digit_entity(digits) if len(digits) >= 3 else None
                    if entity is not None:
                        start, end = _widen(text, run[i].start(), run[j].end())
                        found.append(Span(start, end, entity.kind, "known", entity))
        return found


def _digit_runs(text: str) -> list[list[re.Match[str]]]:
    runs: list[list[re.Match[str]]] = []
    for group in _DIGITS_RE.finditer(text):
        if runs and _DIGIT_GAP_RE.fullmatch(text, runs[-1][-1].end(), group.start()):
            runs[-1].append(group)
        else:
            runs.append([group])
    return runs


def _outside_tokens(start: int, end: int, kind: str, tokens: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """The parts of [start, end) that no placeholder token covers (a recognizer may tag "[PERSON_1] Smith")."""
    pieces = [(start, end)]
    for s, e in tokens:
        pieces = [p for a, b in pieces for p in ((a, min(b, s)), (max(a, e), b)) if p[0] < p[1]]
    return [(a, b) for a, b in pieces if re.search(r"[^\W_]", text[a:b])]


class SpanFinder:
    """Finds the private spans of any text, for one request.

    `sources` are context-free finders (the lexicon, the recognizer); spans whose text is
    on `allowed` (casefolded keys of public names) are left alone, except pattern hits.
    """

    def __init__(
        self,
        private_texts: Sequence[str] = (),
        sources: Sequence[tuple[Source, SpanSource]] = (),
        allowed: Iterable[str] = (),
    ) -> None:
        self.index = EntityIndex()
        self.sources = list(sources)
        self.allowed = {entity_key(a) for a in allowed if a.strip()}
        lexicon = [s for name, s in self.sources if name == "lexicon"]
        recognizer = [s for name, s in self.sources if name == "recognizer"]
        entities = extract_entities(
            private_texts,
            extra=lexicon[0].find if lexicon else None,
            ordinary=getattr(recognizer[0], "ordinary_starts", None) if recognizer else None,
        )
        for entity in entities:
            if entity.key not in self.allowed and (not entity.family or entity.family not in self.allowed):
                self.index.register(entity)

    def candidates(self, text: str, recognize: bool = True) -> list[Span]:
        """Every raw candidate span (overlapping), placeholder-like tokens included.

        `recognize=False` leaves out the recognizer, whose findings depend on the context
        around a span; what it found before is matched anyway, as known entities."""
        tokens = token_spans(text)
        found = [Span(s, e, "PRIVATE", "token") for s, e in tokens]
        found.extend(self.index.candidates(text))
        found.extend(Span(hit.start, hit.end, hit.kind, "pattern") for _, hit in iter_pii(text))
        for name, source in self.sources:
            if name == "recognizer" and not recognize:
                continue
            for start, end, kind in source.find(text):
                if entity_key(text[start:end]) in self.allowed:
                    continue
                for s, e in _outside_tokens(start, end, kind, tokens, text) if tokens else [(start, end)]:
                    found.append(Span(s, e, kind, name))
        return found

    def private_spans(self, text: str, recognize: bool = True) -> list[Span]:
        """The private spans of `text` outside placeholders, resolved and in text order."""
        tokens = token_spans(text)
        spans = resolve(self.candidates(text, recognize))
        return [s for s in spans if s.source != "token" and not any(a <= s.start and s.end <= b for a, b in tokens)]

    def entity_for(self, span: str, kind: str, register: bool = True) -> Entity:
        """The known entity for a found span, or a new one (registered for the rest of the request,
        with its first and last names as parts when it is a person's name)."""
        known = self.index.lookup(span)
        if known is not None or not register:
            return known or Entity(span, kind)
        entity = Entity(span, kind)
        words = re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", span)
        if kind == "PERSON" and len(words) > 1 and all(w[:1].isupper() for w in words):
            for word, role in _parts(words, kind):
                if entity_key(word) not in self.allowed:
                    self.index.register(Entity(word, kind, family=entity.key, role=role))
        return self.index.register(entity)
