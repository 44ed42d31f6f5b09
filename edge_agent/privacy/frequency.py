"""English word frequencies (wordfreq's bundled list), loaded once and shared.

Used to tell ordinary words from rare ones: a registry drug name that is also an everyday
word ("alcohol", "coffee") is dropped from the lexicon, and a rare word in an instruction
("Unigaz", "Caviish") is likely a name. Zipf scale: log10 of occurrences per billion words
(7 for "the", ~4.5 for "depression", ~2 for "sertraline", 0 for unseen words).
"""

from __future__ import annotations

import logging
import math
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_table: dict[str, float] | None = None
_missing = False


def _load() -> dict[str, float] | None:
    global _table, _missing
    with _lock:
        if _table is None and not _missing:
            try:
                import wordfreq
            except ImportError:
                _missing = True
                log.warning("wordfreq is not installed: rare-word checks are off (pip install wordfreq)")
                return None
            _table = wordfreq.get_frequency_dict("en", wordlist="large")
        return _table


def available() -> bool:
    """True if the frequency list can be loaded."""
    return _load() is not None


def is_common(word: str, threshold: float = 4.0) -> bool:
    """True if `word` is an everyday English word; False when no frequency list is installed."""
    return available() and zipf_any_form(word) >= threshold


def zipf(word: str) -> float:
    """The Zipf frequency of a lowercase word (0 if unseen; 7 if no list is installed,
    so that without it every word counts as common)."""
    table = _load()
    if table is None:
        return 7.0
    freq = table.get(word.lower().replace("’", "'"), 0.0)
    return math.log10(freq) + 9 if freq > 0 else 0.0


_SUFFIXES = ("ing", "ed", "es", "s", "ly", "er", "ers", "est", "ness", "ment", "ments")


def zipf_any_form(word: str) -> float:
    """The highest Zipf frequency of `word` and its likely stems ("rescheduling" ->
    "reschedule", "interned" -> "intern"): inflected forms are rarer than their words."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    best = zipf(word)
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            forms = [stem, stem + "e"]
            if len(stem) >= 4 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])  # "planned" -> "plan"
            if stem.endswith("i"):
                forms.append(stem[:-1] + "y")  # "studies" -> "study"
            best = max([best] + [zipf(f) for f in forms])
    return best
