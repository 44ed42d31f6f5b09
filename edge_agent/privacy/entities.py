"""Sensitive spans of the private context: what the guard must never let leave the device.

`extract_entities` finds, in the user's private texts:
- PII pattern hits (emails, phones, addresses, dates, ids, long numbers);
- values of "key: value" profile lines ("Allergy: penicillin", "Employer: Acme Corp"),
  typed by their key, plus their comma-separated parts;
- names: capitalized word sequences (any cased script: "Zoë Ødegård", "Дмитрий") and
  short words of caseless scripts ("李伟"), minus a built-in stopword list; a multi-word
  name also yields its parts ("Alvarez" of "Miguel Alvarez") as members of its family;
- numbers with 3 or more digits.
Ordinary words (articles, weekdays, months, greetings, common sentence starters) stay.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from edge_agent.privacy import frequency
from edge_agent.privacy.patterns import SpanSet, digits_of, find_pii
from edge_agent.privacy.words import (  # noqa: F401  (re-exported: fusion.spans imports STOPWORDS from here)
    KEY_KINDS,
    NAME_ABBREVIATIONS,
    NAME_CONNECTORS,
    ORG_SUFFIXES,
    PLACE_CUES,
    PLACE_SUFFIXES,
    PUBLIC_NAMES,
    STOPWORDS,
    TITLES,
)


@dataclass(frozen=True)
class Entity:
    """One sensitive span, in its canonical (first seen, context) form.

    `family` is the key of the multi-word name this is a part of ("" for none) and
    `role` its position there (FIRST, MIDDLE, LAST for people; PART<n> otherwise).
    """

    text: str
    kind: str
    family: str = ""
    role: str = ""

    @property
    def key(self) -> str:
        """The span's identity (`entity_key`): its digits for numeric spans, else its casefolded words."""
        return entity_key(self.text)


# -- normalization -----------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})


def normalize(text: str) -> str:
    """NFC with plain apostrophes: the form both the context and outbound text are matched in."""
    return unicodedata.normalize("NFC", text).translate(_APOSTROPHES)


def is_digit_entity(text: str) -> bool:
    """Numbers, phones and numeric ids: matched by their digits, whatever the separators."""
    return len(digits_of(text)) >= 3 and not re.search(r"[^\W\d_]", text)


def entity_key(text: str) -> str:
    """Identity of a span: its digits for numeric spans, else casefolded words."""
    if is_digit_entity(text):
        return "#" + digits_of(text)
    return " ".join(re.findall(r"[^\W_]+", normalize(text).casefold()))


_EMPTY_VALUES: frozenset[str] = frozenset({"yes", "no", "none", "n/a", "na", "-", "unknown", "true", "false", "tbd"})

_WORD_RE = re.compile(r"[^\W\d_]+(?:(?:'(?!s\b)|-)[^\W\d_]+)*")  # "Mary's" -> "Mary"
_KEY_VALUE_RE = re.compile(
    r"^[ \t]*(?:[-*•][ \t]*)?([^\W\d_][\w '/&()-]{0,39}?)[ \t]*(?::[ \t]+|：[ \t]*)(\S[^\n]*?)[ \t]*$", re.M
)
_NUMBER_RE = re.compile(r"(?<![^\W\d_])\d+(?:[.,]\d+)*")
_SENTENCE_END = set(".!?:;\n•*–—>|")

# How much an extraction is trusted when two disagree on a span's kind.
_CONFIDENCE = {"pattern": 3, "key": 2, "cue": 1, "guess": 0}


# -- helpers -----------------------------------------------------------------------------


def _is_caseless(word: str) -> bool:
    """True for words of scripts without letter case (Han, Kana, Hangul, Arabic, ...)."""
    return not any(ch.isupper() or ch.islower() for ch in word)


def _is_name_word(word: str) -> bool:
    """A word that may be (part of) a name: capitalized or caseless, not a stopword or title,
    not a short acronym ("AA", "CSV") nor a well-known public name ("Python")."""
    lowered = word.lower()
    if lowered in STOPWORDS or lowered in TITLES or lowered in PUBLIC_NAMES or len(word) < 2:
        return False
    if word.isupper() and len(word) <= 3:
        return False
    return word[0].isupper() or _is_caseless(word)


def _caseless_kind(word: str) -> str | None:
    """Short caseless words are likely names; longer runs are whole phrases; very long ones are prose."""
    if len(word) <= 4:
        return "PERSON"
    return "PRIVATE" if len(word) <= 20 else None


def _is_sentence_start(text: str, pos: int) -> bool:
    """True when only whitespace, quotes or brackets separate `pos` from a sentence or line start."""
    i = pos - 1
    while i >= 0 and (text[i] in " \t\"'“‘«([" ):
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _parts(words: list[str], kind: str) -> list[tuple[str, str]]:
    """(word, role) for the distinctive words of a multi-word name."""
    keep = [
        (i, w) for i, w in enumerate(words)
        if len(w) >= 2 and w.lower() not in ORG_SUFFIXES | PLACE_SUFFIXES | NAME_CONNECTORS | STOPWORDS
    ]
    if len(words) < 2 or not keep:
        return []
    if kind != "PERSON":  # "Blue Meadow Health": "Meadow" alone still names it, "Blue" and "Health" do not
        return [(w, f"PART{i + 1}") for i, w in keep if not frequency.is_common(w)]
    roles: list[tuple[str, str]] = []
    middle = 0
    for i, w in keep:
        if i == 0:
            roles.append((w, "FIRST"))
        elif i == len(words) - 1:
            roles.append((w, "LAST"))
        else:
            middle += 1
            roles.append((w, "MIDDLE" if middle == 1 else f"MIDDLE{middle}"))
    return roles


def _key_kind(key: str) -> str:
    words = set(re.findall(r"[\w-]+", key.lower()))
    words |= {w[:-1] for w in words if w.endswith("s")}  # "Friends" -> "friend"
    for kind, cues in KEY_KINDS:
        if words & cues:
            return kind
    return "PRIVATE"


def _looks_like_name(value: str) -> bool:
    words = _WORD_RE.findall(value)
    return bool(words) and all(w[0].isupper() or _is_caseless(w) or w.lower() in NAME_CONNECTORS for w in words)


# -- the collector -----------------------------------------------------------------------


class _Collector:
    """Accumulates entities by key; a part of a name family beats a loose word, trust beats guess."""

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self._confidence: dict[str, int] = {}

    def add(self, text: str, kind: str, how: str, family: str = "", role: str = "") -> None:
        text = text.strip(" \t,;.")
        if not text or text.lower() in _EMPTY_VALUES or not re.search(r"[^\W_]", text):
            return
        if not is_digit_entity(text) and all(w.lower() in STOPWORDS for w in re.findall(r"[^\W_]+", text)):
            return
        entity = Entity(text, kind, family, role)
        key, confidence = entity.key, _CONFIDENCE[how]
        old = self.entities.get(key)
        if old is None:
            self.entities[key], self._confidence[key] = entity, confidence
            return
        if confidence > self._confidence[key]:
            old = replace(old, kind=kind)
            self._confidence[key] = confidence
        if family and not old.family:
            old = replace(old, family=family, role=role)
        self.entities[key] = old

    def add_name(self, words: list[str], kind: str, how: str, text: str) -> None:
        """A name and its parts (the parts point back to the whole as their family)."""
        self.add(text, kind, how)
        family = entity_key(text)
        for word, role in _parts(words, kind):
            self.add(word, kind, how, family=family, role=role)


def _add_key_values(text: str, out: _Collector) -> list[tuple[int, int]]:
    """Values of profile lines, typed by their key; returns the key spans (labels, not names)."""
    keys: list[tuple[int, int]] = []
    for match in _KEY_VALUE_RE.finditer(text):
        key, value = match.group(1), match.group(2)
        if len(key.split()) > 4:
            continue
        keys.append(match.span(1))
        if len(value) > 80 or len(value.split()) > 10:
            continue  # prose, not a profile value: names in it are found by the name pass
        kind = _key_kind(key)
        if is_digit_entity(value) and kind == "PRIVATE":
            kind = "NUMBER"
        separators = r",(?!\d)|;" if kind in {"ADDRESS", "PERSON", "ORG"} else r",(?!\d)|[;/]|\band\b|&"
        pieces = [p.strip() for p in re.split(separators, value) if p.strip()]
        if len(pieces) > 1:
            out.add(value, kind, "key")  # the whole list, then each item
            for piece in pieces:
                _add_value(piece, kind, out)
        else:
            _add_value(value, kind, out)
    return keys


def _add_value(value: str, kind: str, out: _Collector) -> None:
    hits = find_pii(value)
    if len(hits) == 1 and hits[0].text.strip() == value.strip():
        kind = hits[0].kind  # "Contact: priya@example.com" is an EMAIL whatever the key says
    elif kind == "PRIVATE" and _is_caseless(value) and _caseless_kind(value) == "PERSON":
        kind = "PERSON"  # "同事：李伟"
    if kind in {"PERSON", "ORG", "PRIVATE"} and _looks_like_name(value):
        out.add_name(_WORD_RE.findall(value), kind, "key", value)
    else:
        out.add(value, kind, "key")


def _add_names(text: str, skip: SpanSet, lower_words: set[str], mid_caps: set[str], out: _Collector) -> None:
    words = [
        m for m in _WORD_RE.finditer(text)
        if not skip.overlaps(m.start(), m.end()) and not (m.group() == "s" and text[m.start() - 1] == "'")
    ]
    i = 0
    while i < len(words):
        if not _is_name_word(words[i].group()) and not _starts_name(text, words, i):
            i += 1
            continue
        j = i + 1
        while j < len(words) and _joins(text, words[j - 1], words[j]):
            if _is_name_word(words[j].group()):
                j += 1
            elif (
                words[j].group() in NAME_CONNECTORS and j + 1 < len(words)
                and _joins(text, words[j], words[j + 1]) and _is_name_word(words[j + 1].group())
            ):
                j += 2
            else:
                break
        _emit_name(text, words, i, j, lower_words, mid_caps, out)
        i = j


def _starts_name(text: str, words: list[re.Match[str]], i: int) -> bool:
    """An abbreviation that begins a name: "St. Mary's Hospital", "Mt. Hood"."""
    return (
        words[i].group().lower() in NAME_ABBREVIATIONS and i + 1 < len(words)
        and _joins(text, words[i], words[i + 1]) and _is_name_word(words[i + 1].group())
    )


def _joins(text: str, left: re.Match[str], right: re.Match[str]) -> bool:
    """Words of one name: spaces between them, after a possessive ("St Mary's Hospital") or
    after an abbreviation that begins names ("St. Mary", "Mt. Hood")."""
    gap = text[left.end():right.start()]
    if left.group().lower() in NAME_ABBREVIATIONS:
        return re.fullmatch(r"\.?[ \t]+", gap) is not None
    return re.fullmatch(r"(?:'s)?[ \t]+", gap) is not None


def _emit_name(
    text: str, words: list[re.Match[str]], i: int, j: int, lower_words: set[str], mid_caps: set[str], out: _Collector
) -> None:
    before = words[i - 1].group() if i > 0 else ""
    gap = text[words[i - 1].end():words[i].start()] if i > 0 else ""
    titled = before.lower() in TITLES and re.fullmatch(r"\.?[ \t]+", gap) is not None
    place = _after_place_cue(text, words, i)
    if not titled and _is_sentence_start(text, words[i].start()):
        first = words[i].group()
        if first.lower() in lower_words and first not in mid_caps:
            i += 1  # an ordinary word capitalized only because it starts the sentence
            while i < j and not _is_name_word(words[i].group()):
                i += 1
    if i >= j:
        return
    seq = [w.group() for w in words[i:j]]
    span = text[words[i].start():words[j - 1].end()]
    if len(seq) == 1 and _is_caseless(seq[0]):
        kind = _caseless_kind(seq[0])
        if kind:
            out.add(span, kind, "guess")
        return
    if seq[-1].lower() in ORG_SUFFIXES:
        if len(seq) > 1:
            out.add_name(seq, "ORG", "cue", span)
        return
    if titled:
        out.add_name(seq, "PERSON", "cue", span)
    elif place or seq[-1].lower() in PLACE_SUFFIXES:
        out.add_name(seq, "PRIVATE", "guess", span)
    else:
        out.add_name(seq, "PERSON", "guess", span)


def _after_place_cue(text: str, words: list[re.Match[str]], i: int) -> bool:
    """True if the one or two words right before word i are a place cue ("in", "trip to")."""
    cue: list[str] = []
    for k in (i - 1, i - 2):
        if k < 0 or not _joins(text, words[k], words[k + 1]):
            break
        cue.insert(0, words[k].group().lower())
        if " ".join(cue) in PLACE_CUES:
            return True
    return False


def _add_numbers(text: str, skip: SpanSet, out: _Collector) -> None:
    for match in _NUMBER_RE.finditer(text):
        if len(digits_of(match.group())) >= 3 and not skip.overlaps(match.start(), match.end()):
            out.add(match.group(), "NUMBER", "guess")


def _word_stats(texts: list[str]) -> tuple[set[str], set[str]]:
    """Words seen in lowercase, and words seen capitalized in mid-sentence, across all texts."""
    lower_words: set[str] = set()
    mid_caps: set[str] = set()
    for text in texts:
        for m in _WORD_RE.finditer(text):
            word = m.group()
            if word.islower():
                lower_words.add(word)
            elif word[0].isupper() and not _is_sentence_start(text, m.start()):
                mid_caps.add(word)
    return lower_words, mid_caps


def extract_entities(
    texts: Iterable[str],
    extra: Callable[[str], list[tuple[int, int, str]]] | None = None,
    ordinary: Callable[[str], Iterable[str]] | None = None,
) -> list[Entity]:
    """The sensitive spans of the private context, deduplicated by key, in first-seen order.

    `extra` finds more typed spans in each text (the sensitive-category lexicon: "Knee
    replacement" is a procedure, so its capitalised first word is no name); `ordinary` names the
    words of a text that are ordinary words where they begin a sentence ("Study group with
    Minh": the recognizer's tagger says "Study" is no proper noun).
    """
    texts = [normalize(t) for t in texts if t and t.strip()]
    lower_words, mid_caps = _word_stats(texts)
    if ordinary is not None:
        lower_words |= {w.lower() for text in texts for w in ordinary(text)}
    out = _Collector()
    for text in texts:
        hits = find_pii(text)
        for hit in hits:
            out.add(hit.text, hit.kind, "pattern")
        pattern_spans = [(h.start, h.end) for h in hits]
        extra_spans = extra(text) if extra else []
        key_spans = _add_key_values(text, out)
        for start, end, kind in extra_spans:
            out.add(text[start:end], kind, "cue")
        skip = pattern_spans + key_spans + [(s, e) for s, e, _ in extra_spans]
        _add_names(text, SpanSet(skip), lower_words, mid_caps, out)
        _add_numbers(text, SpanSet(pattern_spans), out)
    return list(out.entities.values())
