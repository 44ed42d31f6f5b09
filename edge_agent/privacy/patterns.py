"""PII patterns: spans that are sensitive wherever they appear, in the context or not.

Each pattern has a placeholder kind (`EMAIL`, `PHONE`, ...). `iter_pii` yields every
raw hit (overlaps included, for the guard to resolve); `find_pii` resolves overlaps
(longest wins, then the order of `PII_PATTERNS`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

KINDS: tuple[str, ...] = (
    "PERSON", "PHONE", "EMAIL", "ADDRESS", "NUMBER", "DATE", "ID", "ORG", "PRIVATE",
    # from the recognizer (names, places, links) and the sensitive-category lexicon
    "PLACE", "NAME", "URL", "MEDICATION", "CONDITION", "PROCEDURE", "MONEY", "FINANCE", "RELIGION", "IDENTITY",
)

_UPPER = "A-ZÀ-ÖØ-ÞĀ-Ž"  # capital letters for street names (Latin scripts)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_STREET_SUFFIX = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl"
    r"|Terrace|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Close|Crescent|Row|Alley|Walk|Gardens|Mews)"
)
_UNIT = r"(?:,?[ \t]+(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl)\.?[ \t]*#?[\w-]+|[ \t]*#[\w-]+)?"


@dataclass(frozen=True)
class PiiHit:
    """One pattern match in a text."""

    start: int
    end: int
    kind: str
    text: str


@dataclass(frozen=True)
class PiiPattern:
    """A named regex with its placeholder kind and an optional validator of the matched text."""

    name: str
    kind: str
    regex: re.Pattern[str]
    valid: Callable[[str], bool] | None = None


def digits_of(text: str) -> str:
    """The digits of `text`, in order ("+1 (415) 555-0134" -> "14155550134")."""
    return "".join(ch for ch in text if ch.isdigit())


def _phone_ok(text: str) -> bool:
    digits = digits_of(text)
    if not 7 <= len(digits) <= 15:
        return False
    groups = re.findall(r"\d+", text)
    if all(re.fullmatch(r"(?:19|20)\d\d", g) for g in groups):
        return False  # "2019 2020 2021" is a list of years
    if len(groups) == 1 and not text.lstrip().startswith("+"):
        return 10 <= len(digits) <= 11  # a bare run is a phone only at phone length
    return True


def _long_number_ok(text: str) -> bool:
    return len(digits_of(text)) >= 5


def _alnum_id_ok(text: str) -> bool:
    return len(re.sub(r"[^A-Z0-9]", "", text)) >= 6 and len(digits_of(text)) >= 4


def _p(name: str, kind: str, pattern: str, flags: int = 0, valid: Callable[[str], bool] | None = None) -> PiiPattern:
    return PiiPattern(name, kind, re.compile(pattern, flags), valid)


PII_PATTERNS: tuple[PiiPattern, ...] = (
    _p("email", "EMAIL", r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"),
    _p("iban", "ID", r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b"),
    _p("card", "ID", r"\b\d{4}(?:[ -]\d{4}){3}(?:[ -]?\d{1,3})?\b"),
    _p("ssn", "ID", r"\b\d{3}-\d{2}-\d{4}\b"),
    _p("ipv4", "ID", r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    _p("date_iso", "DATE", r"\b\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b"),
    _p("date_numeric", "DATE", r"\b\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2})\b|\b\d{1,2}-\d{1,2}-\d{4}\b"),
    _p("date_day_month", "DATE", rf"\b{_DAY}[ \t]+(?:of[ \t]+)?{_MONTH}(?:,?[ \t]+\d{{4}})?(?!\w)", re.IGNORECASE),
    _p("date_month_day", "DATE", rf"\b{_MONTH}[ \t]+{_DAY}(?:,?[ \t]+\d{{4}})?\b(?!:)", re.IGNORECASE),
    _p("date_month_year", "DATE", rf"\b{_MONTH}[ \t]+\d{{4}}\b", re.IGNORECASE),
    _p(
        "phone",
        "PHONE",
        r"(?<![\w+])(?:(?:\+|00)[ \t]?\d{1,3}[ \t.-]?)?(?:\(\d{1,5}\)[ \t.-]?)?\d{2,5}(?:[ \t.-]?\d{2,5}){0,5}(?!\w)",
        valid=_phone_ok,
    ),
    _p(
        "street_address",
        "ADDRESS",
        rf"\b\d{{1,5}}[A-Za-z]?(?:[ \t]+[{_UPPER}][\w'’.-]*){{1,4}}?[ \t]+{_STREET_SUFFIX}\b\.?{_UNIT}",
    ),
    _p(
        "street_address_eu",
        "ADDRESS",
        rf"\b[{_UPPER}][\w-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|damm|straat|laan|gatan|vej|gade)"
        r"[ \t]+\d{1,4}[a-z]?\b",
    ),
    _p(
        "street_address_romance",
        "ADDRESS",
        r"\b\d{1,4}(?:bis|ter)?,?[ \t]+(?:rue|avenue|boulevard|bd|chemin|allée|impasse|quai|calle|avenida|via|rua)"
        rf"[ \t]+(?:[\w'’-]+[ \t]+){{0,3}}?[{_UPPER}][\w'’-]+"
        r"|\b(?:Calle|Avenida|Via|Viale|Rua|Carrer)[ \t]+(?:[\w'’-]+[ \t]+){0,3}?\d{1,4}\b",
    ),
    _p("po_box", "ADDRESS", r"\bP\.?[ \t]?O\.?[ \t]+Box[ \t]+\d+\b", re.IGNORECASE),
    _p("uk_postcode", "ADDRESS", r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}\b"),
    _p(
        "alnum_id",
        "ID",
        r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)*\b",
        valid=_alnum_id_ok,
    ),
    _p("grouped_number", "NUMBER", r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\w]|[.,]\d)", valid=_long_number_ok),
    _p("long_number", "NUMBER", r"(?<!\w)\d{5,}(?!\w)"),
)


def _valid(pattern: PiiPattern, span: str) -> bool:
    return bool(span.strip()) and (pattern.valid is None or pattern.valid(span))


def _longest_valid(pattern: PiiPattern, text: str, start: int, end: int) -> int | None:
    """End of the longest valid match from `start` cut at a word boundary (a greedy match
    such as a phone followed by more digits may fail validation where its prefix would not)."""
    for cut in range(end - 1, start, -1):
        if text[cut - 1].isalnum() and not text[cut].isalnum():
            if pattern.regex.fullmatch(text, start, cut) and _valid(pattern, text[start:cut]):
                return cut
    return None


def _scan(pattern: PiiPattern, text: str) -> Iterator[PiiHit]:
    position = 0
    while (match := pattern.regex.search(text, position)) is not None:
        start, end = match.span()
        if not _valid(pattern, match.group()):
            cut = _longest_valid(pattern, text, start, end)
            if cut is None:
                position = start + 1
                continue
            end = cut
        yield PiiHit(start, end, pattern.kind, text[start:end])
        position = max(end, start + 1)


def iter_pii(text: str) -> Iterator[tuple[int, PiiHit]]:
    """Every raw hit as (pattern priority, hit); hits of different patterns may overlap."""
    for priority, pattern in enumerate(PII_PATTERNS):
        for hit in _scan(pattern, text):
            yield priority, hit


class SpanSet:
    """Disjoint (start, end) spans kept sorted, with a fast overlap test."""

    def __init__(self, spans: Iterable[tuple[int, int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for start, end in sorted(spans):
            if self._ends and start < self._ends[-1]:
                self._ends[-1] = max(self._ends[-1], end)  # merge overlapping spans
            else:
                self._starts.append(start)
                self._ends.append(end)

    def overlaps(self, start: int, end: int) -> bool:
        """Whether [start, end) overlaps a held span (spans that only touch do not overlap)."""
        i = bisect.bisect_left(self._ends, start + 1)  # first span ending after `start`
        return i < len(self._starts) and self._starts[i] < end

    def add(self, start: int, end: int) -> None:
        """Add a span that overlaps none already held."""
        i = bisect.bisect_left(self._starts, start)
        self._starts.insert(i, start)
        self._ends.insert(i, end)


def find_pii(text: str) -> list[PiiHit]:
    """Non-overlapping hits in text order: the longest hit wins, then the earlier pattern."""
    ranked = sorted(iter_pii(text), key=lambda item: (-(item[1].end - item[1].start), item[0], item[1].start))
    chosen: list[PiiHit] = []
    taken = SpanSet()
    for _, hit in ranked:
        if not taken.overlaps(hit.start, hit.end):
            taken.add(hit.start, hit.end)
            chosen.append(hit)
    return sorted(chosen, key=lambda hit: hit.start)
