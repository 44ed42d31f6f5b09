"""The privacy guard: redact what goes up, restore what comes back.

One guard serves one request. It knows the sensitive spans of the private context
(see `entities.py`) and every PII pattern (see `patterns.py`). `redact()` replaces each
occurrence, whatever its case, spacing or digit separators, with a typed placeholder
that stays the same for the same entity across calls (`[PERSON_1]`, `[PHONE_2]`); parts
of a known name keep their family's number (`[PERSON_1_LAST]` for "Alvarez" of "Miguel
Alvarez"). `restore()` puts the originals back, tolerating `person_1` or `PERSON_1`.

Text that already looks like a placeholder is never confused with one: a token this
guard issued passes through (cloud output may be sent up again); any other is escaped
as a `[PRIVATE_n]` placeholder of its own and its number is never issued.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Literal

from edge_agent.privacy.entities import Entity, entity_key, extract_entities, is_digit_entity
from edge_agent.privacy.patterns import KINDS, digits_of, iter_pii

_KIND = "|".join(KINDS)
_ROLE = r"FIRST|LAST|MIDDLE\d*|PART\d+"
# A placeholder as a model may write it back: bracketed (spaces and case tolerated) or bare.
_TOKEN_RE = re.compile(
    rf"\[[ \t]*({_KIND})[_ \t-]?(\d{{1,6}})(?:[_ \t-]({_ROLE}))?[ \t]*\]"
    rf"|\[?(?<![A-Za-z0-9_])({_KIND})_(\d{{1,6}})(?:_({_ROLE}))?(?![A-Za-z0-9_])\]?",
    re.IGNORECASE,
)
_CHUNK_RE = re.compile(r"[^\W_]+")
_DIGITS_RE = re.compile(r"\d+")
_DIGIT_GAP_RE = re.compile(r"[ \t.\-/(),:]{0,3}")
_WORD_GAP = r"[\W_]{0,10}"  # what may separate the words of a known span ("priya  sharma", "O'Brien")
_MAX_PASSES = 3

Source = Literal["token", "known", "pii"]


@dataclass(frozen=True)
class Redaction:
    """A redacted text and the placeholders it uses (placeholder -> original span)."""

    text: str
    placeholders: dict[str, str]


@dataclass(frozen=True)
class _Candidate:
    """A span that must be replaced; `entity` is set for spans of known entities."""

    start: int
    end: int
    source: Source
    kind: str
    entity: Entity | None = None

    @property
    def priority(self) -> int:
        return ("token", "known", "pii").index(self.source)


def _canonical(match: re.Match[str]) -> str:
    """The placeholder a token stands for: "[person_1]", "PERSON_1" -> "[PERSON_1]"."""
    kind, number, role = match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6)
    suffix = f"_{role.upper()}" if role else ""
    return f"[{kind.upper()}_{int(number)}{suffix}]"


def _has_caseless_letters(text: str) -> bool:
    return any(ch.isalpha() and not (ch.isupper() or ch.islower()) for ch in text)


def _resolve(candidates: list[_Candidate]) -> list[tuple[int, int, _Candidate]]:
    """Non-overlapping spans to replace, in text order.

    Overlapping candidates form a cluster. A candidate covering the whole cluster wins
    (the longest match; on a tie, tokens, then known entities, then patterns). Otherwise
    the whole cluster becomes one new span, typed as its longest member, so no part leaks.
    """
    ordered = sorted(candidates, key=lambda c: (c.start, -c.end))
    spans: list[tuple[int, int, _Candidate]] = []
    cluster: list[_Candidate] = []
    for candidate in ordered + [None]:  # type: ignore[list-item]
        if cluster and (candidate is None or candidate.start >= max(c.end for c in cluster)):
            start, end = cluster[0].start, max(c.end for c in cluster)
            full = [c for c in cluster if c.start == start and c.end == end]
            if full:
                spans.append((start, end, min(full, key=lambda c: c.priority)))
            else:
                longest = max(cluster, key=lambda c: c.end - c.start)
                spans.append((start, end, _Candidate(start, end, "pii", longest.kind)))
            cluster = []
        if candidate is not None:
            cluster.append(candidate)
    return spans


class PrivacyGuard:
    """One guard per request: placeholders are stable within it (same entity -> same placeholder)."""

    def __init__(self, private_texts: Iterable[str] = ()) -> None:
        if isinstance(private_texts, str):
            private_texts = [private_texts]
        self._entities: dict[str, Entity] = {}
        self._by_first_word: dict[str, list[tuple[Entity, re.Pattern[str]]]] = {}
        self._unbounded: list[tuple[Entity, re.Pattern[str]]] = []  # caseless scripts: no word boundaries
        self._by_digits: dict[str, Entity] = {}
        self._phones: dict[str, Entity] = {}  # digits without leading zeros -> phone
        self._phone_tails: dict[str, Entity] = {}  # the same without an international prefix
        self._families: dict[str, list[Entity]] = {}
        self._family_number: dict[str, int] = {}
        self._placeholder: dict[str, str] = {}  # entity key -> placeholder
        self._known: dict[str, str] = {}  # every placeholder allocated -> original
        self._issued: dict[str, str] = {}  # placeholders that went out -> original
        self._literals: dict[str, str] = {}  # user text that looked like a placeholder -> its escape
        self._last_number: dict[str, int] = {}
        self._reserved: set[tuple[str, int]] = set()
        self._lock = threading.RLock()  # a request may fan out over threads (best-of)
        texts = [str(t) for t in private_texts]
        for text in texts:  # placeholder-like text in the notes must never meet a real placeholder
            self._reserve_tokens(text)
        for entity in extract_entities(texts):
            self._register(entity)

    # -- public API ----------------------------------------------------------------------

    def redact(self, text: str) -> Redaction:
        """Replace every sensitive span and PII pattern in `text` with its placeholder."""
        text = unicodedata.normalize("NFC", text)
        with self._lock:
            for _ in range(_MAX_PASSES):
                text = self._redact_once(text)
                if not self._leftovers(text):
                    break  # replacing can expose a pattern (digits glued to a name): go again
            used = {ph for ph in map(_canonical, _TOKEN_RE.finditer(text)) if ph in self._known}
            return Redaction(text, {ph: self._known[ph] for ph in sorted(used)})

    def restore(self, text: str) -> str:
        """Replace the placeholders this guard knows with their originals; leave the rest."""

        def original(match: re.Match[str]) -> str:
            return self._known.get(_canonical(match), match.group())

        with self._lock:
            return _TOKEN_RE.sub(original, text)

    @property
    def mapping(self) -> dict[str, str]:
        """Every placeholder issued so far -> its original."""
        with self._lock:
            return dict(self._issued)

    @property
    def entities(self) -> tuple[Entity, ...]:
        """The sensitive spans the guard knows (from the context and from what it redacted)."""
        with self._lock:
            return tuple(self._entities.values())

    def leaks(self, text: str) -> list[str]:
        """Sensitive spans known to the guard that still occur in `text` (each once, in order)."""
        text = unicodedata.normalize("NFC", text)
        tokens = [m.span() for m in _TOKEN_RE.finditer(text)]
        found: dict[str, None] = {}
        with self._lock:
            candidates = self._known_candidates(text)
        for c in sorted(candidates, key=lambda c: c.start):
            if c.entity is not None and not any(s <= c.start and c.end <= e for s, e in tokens):
                found[c.entity.text] = None
        return list(found)

    # -- registering entities --------------------------------------------------------------

    def _register(self, entity: Entity) -> None:
        key = entity.key
        if not key or key in self._entities:
            return
        self._entities[key] = entity
        if entity.family:
            self._families.setdefault(entity.family, []).append(entity)
        if is_digit_entity(entity.text):
            self._register_digits(entity)
            return
        words = _CHUNK_RE.findall(entity.text)
        if not words:
            return
        body = _WORD_GAP.join(re.escape(w) for w in words)
        if _has_caseless_letters(entity.text):
            self._unbounded.append((entity, re.compile(body, re.IGNORECASE)))
        else:
            pattern = re.compile(body + r"(?![^\W_])", re.IGNORECASE)
            self._by_first_word.setdefault(words[0].lower(), []).append((entity, pattern))

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

    def _digit_entity(self, digits: str) -> Entity | None:
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

    # -- finding candidates ----------------------------------------------------------------

    def _known_candidates(self, text: str) -> list[_Candidate]:
        found: list[_Candidate] = []
        for chunk in _CHUNK_RE.finditer(text):
            for entity, pattern in self._by_first_word.get(chunk.group().lower(), ()):
                hit = pattern.match(text, chunk.start())
                if hit:
                    found.append(_Candidate(hit.start(), hit.end(), "known", entity.kind, entity))
        for entity, pattern in self._unbounded:
            found.extend(_Candidate(h.start(), h.end(), "known", entity.kind, entity) for h in pattern.finditer(text))
        found.extend(self._digit_candidates(text))
        return found

    def _digit_candidates(self, text: str) -> list[_Candidate]:
        """Runs of digit groups ("+1 (415) 555-0134"): every sub-run whose digits are known."""
        found: list[_Candidate] = []
        for run in self._digit_runs(text):
            for i in range(len(run)):
                for j in range(i, min(len(run), i + 8)):
                    digits = "".join(g.group() for g in run[i:j + 1])
                    entity = self._digit_entity(digits) if len(digits) >= 3 else None
                    if entity is not None:
                        start, end = _widen(text, run[i].start(), run[j].end())
                        found.append(_Candidate(start, end, "known", entity.kind, entity))
        return found

    @staticmethod
    def _digit_runs(text: str) -> list[list[re.Match[str]]]:
        runs: list[list[re.Match[str]]] = []
        for group in _DIGITS_RE.finditer(text):
            if runs and _DIGIT_GAP_RE.fullmatch(text, runs[-1][-1].end(), group.start()):
                runs[-1].append(group)
            else:
                runs.append([group])
        return runs

    @staticmethod
    def _token_candidates(text: str) -> list[_Candidate]:
        return [_Candidate(m.start(), m.end(), "token", "PRIVATE") for m in _TOKEN_RE.finditer(text)]

    @staticmethod
    def _pii_candidates(text: str) -> list[_Candidate]:
        return [_Candidate(hit.start, hit.end, "pii", hit.kind) for _, hit in iter_pii(text)]

    def _leftovers(self, text: str) -> bool:
        """True if `text` still holds a known span or a PII pattern outside placeholders."""
        tokens = [m.span() for m in _TOKEN_RE.finditer(text)]
        candidates = self._known_candidates(text) + self._pii_candidates(text)
        return any(not any(s <= c.start and c.end <= e for s, e in tokens) for c in candidates)

    # -- replacing -------------------------------------------------------------------------

    def _reserve_tokens(self, text: str) -> None:
        """Numbers of placeholder-like text we did not issue are never issued."""
        for match in _TOKEN_RE.finditer(text):
            placeholder = _canonical(match)
            if not self._is_ours(match.group()):
                kind, number = placeholder[1:-1].split("_")[:2]
                self._reserved.add((kind, int(number)))

    def _is_ours(self, span: str) -> bool:
        """A placeholder this guard issued, exactly as it issued it (redacting twice is harmless)."""
        return span in self._issued and span not in self._literals

    def _redact_once(self, text: str) -> str:
        self._reserve_tokens(text)
        candidates = self._token_candidates(text) + self._known_candidates(text) + self._pii_candidates(text)
        pieces: list[str] = []
        position = 0
        for start, end, candidate in _resolve(candidates):
            pieces.append(text[position:start])
            pieces.append(self._replacement(text[start:end], candidate))
            position = end
        pieces.append(text[position:])
        return "".join(pieces)

    def _replacement(self, span: str, candidate: _Candidate) -> str:
        if candidate.source == "token":
            return self._token_replacement(span)
        if candidate.entity is not None:
            return self._issue(candidate.entity)
        # "Baker St." at the end of a sentence: the full stop stays outside the placeholder
        core = span.rstrip(" \t\n.,;:!?")
        if not core.strip():
            return span
        lead = core[: len(core) - len(core.lstrip())]
        return lead + self._issue(self._entity_for(core.strip(), candidate.kind)) + span[len(core):]

    def _token_replacement(self, span: str) -> str:
        """Our own placeholder passes through; anything else that looks like one is escaped."""
        if self._is_ours(span):
            return span
        if span not in self._literals:
            escape = f"[PRIVATE_{self._allocate('PRIVATE')}]"
            self._literals[span] = escape
            self._known[escape] = span
        escape = self._literals[span]
        self._issued[escape] = span
        return escape

    def _entity_for(self, span: str, kind: str) -> Entity:
        """The known entity for a pattern hit, or a new one (remembered for the rest of the request)."""
        if is_digit_entity(span):
            known = self._digit_entity(digits_of(span))
            if known is not None:
                return known
        known = self._entities.get(entity_key(span))
        if known is not None:
            return known
        entity = Entity(span, kind)
        self._register(entity)
        return self._entities.get(entity.key, entity)

    def _issue(self, entity: Entity) -> str:
        placeholder = self._placeholder.get(entity.key)
        if placeholder is None:
            if entity.family:
                self._open_family(entity.family, entity.kind)
            elif entity.key in self._families:
                self._open_family(entity.key, entity.kind)
            placeholder = self._placeholder.get(entity.key)
        if placeholder is None:
            placeholder = f"[{entity.kind}_{self._allocate(entity.kind)}]"
            self._placeholder[entity.key] = placeholder
            self._known[placeholder] = entity.text
        self._issued[placeholder] = self._known[placeholder]
        return placeholder

    def _open_family(self, family: str, kind: str) -> None:
        """Give a multi-word name one number for itself and all its parts."""
        if family in self._family_number:
            return
        root = self._entities.get(family)
        kind = root.kind if root is not None else kind
        number = self._allocate(kind)
        self._family_number[family] = number
        if root is not None:
            self._placeholder.setdefault(family, f"[{kind}_{number}]")
            self._known[f"[{kind}_{number}]"] = root.text
        for member in self._families.get(family, ()):
            placeholder = f"[{kind}_{number}_{member.role}]"
            if self._placeholder.setdefault(member.key, placeholder) == placeholder:
                self._known[placeholder] = member.text

    def _allocate(self, kind: str) -> int:
        number = self._last_number.get(kind, 0) + 1
        while (kind, number) in self._reserved:
            number += 1
        self._last_number[kind] = number
        return number


def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Take in the "+" and brackets around a digit run: "+1 (415) 555-0134", "(415)"."""
    if start > 0 and text[start - 1] == "(":
        start -= 1
    if start > 0 and text[start - 1] == "+":
        start -= 1
    if end < len(text) and text[end] == ")" and "(" in text[start:end]:
        end += 1
    return start, end
