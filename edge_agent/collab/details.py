"""The concrete details of a notes line, typed: names, dates, times, amounts, percentages, counts, ids.

These are what a letter must copy exactly and what a reader checks ("Mr. Holm", "March 14",
"7:30 pm", "$75"). Found with patterns (no model): the privacy patterns' dates plus times,
money, percentages, ordinal days ("the 25th"), counts ("40 field surveys"), ids and
capitalized names. A capitalized word that starts a line counts as a name only if the notes
also capitalize it elsewhere mid-line ("Kofi has surgery" with "Son: Kofi").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from edge_agent.privacy.patterns import find_pii
from edge_agent.privacy.words import STOPWORDS

NAME, DATE, TIME, MONEY, PERCENT, COUNT, ID = "NAME", "DATE", "TIME", "MONEY", "PERCENT", "COUNT", "ID"

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (TIME, re.compile(r"\b\d{1,2}(?::\d{2})?\s?(?:[ap]\.?m\.?)(?!\w)|\b\d{1,2}:\d{2}\b", re.I)),
    (MONEY, re.compile(
        r"(?:[$€£¥₹]|\b(?:R\$|RON|USD|EUR|GBP|CHF|SEK|NOK|DKK|PLN|ZAR|INR|JPY)\s?)\s?\d[\d.,]*\d|[$€£¥₹]\s?\d"
        r"|\b\d[\d.,]*\s?(?:€|\$|USD|EUR|kr|RON)(?!\w)", re.I)),
    (PERCENT, re.compile(r"\b\d+(?:[.,]\d+)?\s?%")),
    (DATE, re.compile(r"\bthe \d{1,2}(?:st|nd|rd|th)\b", re.I)),
    (COUNT, re.compile(r"\b\d+(?:[.,]\d+)?\s+[^\W\d_]{3,}")),
    (ID, re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)+\b|\b[A-Z]{1,3}\s?\d{2,}\b")),
)
NAME_RE = re.compile(  # a capitalized name, with a title and joined words
    r"\b(?:(?:Mr|Mrs|Ms|Dr|Prof|St)\.?\s+)?[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’-]*"
    r"(?:\s+(?:[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’-]*|&|de|da|das|do|dos|van|von|and the))*"
)
_WEEKDAY = re.compile(r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b", re.I)
_KEY = re.compile(r"^([^\W\d][^:\n\d]{0,29}):\s+")  # "Landlord: ...", not "7:30"


@dataclass(frozen=True)
class Detail:
    """One concrete detail of a line: its text, kind and where it starts."""

    text: str
    kind: str
    start: int


def line_details(line: str, notes: Sequence[str] = ()) -> list[Detail]:
    """The typed details of `line`, in order, overlaps merged (the earlier, longer span wins)."""
    key = _KEY.match(line)
    body = key.end() if key else 0
    found: list[Detail] = [Detail(h.text, DATE, h.start) for h in find_pii(line) if h.kind == "DATE"]
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(line):
            text = m.group(0)
            if kind == COUNT and text.split()[-1].casefold() in STOPWORDS:  # "19 for", "1 with"
                continue
            found.append(Detail(text, kind, m.start()))
    others = [n for n in notes if n != line]
    for m in NAME_RE.finditer(line):
        text = m.group(0).rstrip("'’")
        first = text.split()[0].rstrip(".")
        if m.start() < body or (first.casefold() in STOPWORDS and " " not in text):
            continue
        if m.start() == body and not key and not _capitalized_inside(first, others):
            continue  # a capital that only starts the sentence
        found.append(Detail(re.sub(r"'s$|’s$", "", text), NAME, m.start()))
    return _merge(found)


def weekdays(line: str) -> list[Detail]:
    """The weekday names of `line` as DATE details (a fallback when a line has no date)."""
    return [Detail(m.group(0), DATE, m.start()) for m in _WEEKDAY.finditer(line)]


def _capitalized_inside(word: str, lines: Sequence[str]) -> bool:
    """The word occurs capitalized somewhere other than at the start of a line."""
    pattern = re.compile(rf"(?<=\S)\s+{re.escape(word)}\b")
    return any(pattern.search(line) for line in lines)


def _merge(found: list[Detail]) -> list[Detail]:
    out: list[Detail] = []
    for d in sorted(found, key=lambda d: (d.start, -len(d.text))):
        text = d.text.strip(" ,;")
        if not text:
            continue
        if out and d.start < out[-1].start + len(out[-1].text):
            continue
        out.append(Detail(text, d.kind, d.start))
    return out
