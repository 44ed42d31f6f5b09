"""The privacy guard: redact what goes up, restore what comes back.

One guard serves one request. It is a facade over two parts with one job each:
- the span finder (`spans.py`) says which spans of a text are private: known entities of
  the private context, PII patterns, the sensitive-category lexicon and, when the settings
  turn it on, the entity recognizer (presidio with spaCy);
- the placeholder vault (`vault.py`) gives each private entity a stable typed placeholder
  (`[PERSON_1]`, `[PHONE_2]`, `[PERSON_1_LAST]` for "Alvarez" of "Miguel Alvarez") and
  restores them, tolerating `person_1` or `PERSON_1`.
`private_spans()` is the one notion of private: redaction, `leaks()` (the door's last check)
and the fuse decoder all ask it.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from edge_agent.privacy.entities import Entity
from edge_agent.privacy.settings import BASIC, PrivacySettings, span_sources
from edge_agent.privacy.spans import Span, SpanFinder, resolve
from edge_agent.privacy.vault import PlaceholderVault, token_spans

_MAX_PASSES = 4


@dataclass(frozen=True)
class Redaction:
    """A redacted text and the placeholders it uses (placeholder -> original span)."""

    text: str
    placeholders: dict[str, str]


@dataclass(frozen=True)
class PrivateSpan:
    """A private span of a text: where it is, its kind and where it was found
    (known, pattern, lexicon or recognizer)."""

    start: int
    end: int
    kind: str
    source: str
    text: str


class PrivacyGuard:
    """One guard per request: placeholders are stable within it (same entity -> same placeholder).

    `settings` choose the span sources: `BASIC` (the default) is the context, the patterns and
    the lexicon; `PrivacySettings()` adds the recognizer and the allow-list, as the app uses.
    """

    def __init__(self, private_texts: Iterable[str] = (), settings: PrivacySettings = BASIC) -> None:
        if isinstance(private_texts, str):
            private_texts = [private_texts]
        texts = [str(t) for t in private_texts]
        self.settings = settings
        self._finder = SpanFinder(texts, span_sources(settings), settings.allowed_names())
        self._vault = PlaceholderVault(self._finder.index.family)
        self._lock = threading.RLock()  # a request may fan out over threads (best-of)
        for text in texts:  # placeholder-like text in the notes must never meet a real placeholder
            self._vault.reserve(text)

    # -- public API ----------------------------------------------------------------------

    def redact(self, text: str, recognize: bool = True) -> Redaction:
        """Replace every private span in `text` with its placeholder.

        The recognizer reads the text once, as the user wrote it; what it finds becomes a known
        entity of the request, so later passes (and later strings, and `leaks()`) match it
        wherever it occurs without asking the recognizer again. `recognize=False` skips it (our
        own constant system prompts; fragments a decoder releases, which lack their context)."""
        text = unicodedata.normalize("NFC", text)
        with self._lock:
            for attempt in range(_MAX_PASSES):
                text = self._redact_once(text, recognize=recognize and attempt == 0)
                if not self._finder.private_spans(text, recognize=False):
                    break  # replacing can expose a span (digits glued to a name): go again
            return Redaction(text, self._vault.used(text))

    def restore(self, text: str) -> str:
        """Replace the placeholders this guard issued with their originals; leave the rest."""
        return self._vault.restore(text)

    def private_spans(self, text: str, recognize: bool = True) -> list[PrivateSpan]:
        """The private spans of `text` outside placeholders, in order: the one notion of private.

        `recognize=False` asks only the context-free sources (known entities, including
        everything redacted so far in this request, patterns, lexicon): the same answer for a
        fragment as for the whole text, which is what `leaks()` and a streaming decoder need."""
        text = unicodedata.normalize("NFC", text)
        return [PrivateSpan(s.start, s.end, s.kind, s.source, text[s.start:s.end])
                for s in self._finder.private_spans(text, recognize)]

    def leaks(self, text: str) -> list[str]:
        """Private spans that still occur in `text`, each once, in order (known ones in their
        canonical form from the context). Context-free (see `private_spans`): every outbound
        string was redacted first, and what the recognizer found there is known by now."""
        text = unicodedata.normalize("NFC", text)
        found: dict[str, None] = {}
        for span in self._finder.private_spans(text, recognize=False):
            entity = span.entity or self._finder.entity_for(text[span.start:span.end], span.kind, register=False)
            found[entity.text] = None
        return list(found)

    def conceal(self, text: str, kind: str = "PRIVATE") -> str:
        """The placeholder for a whole span the caller knows is private (fuse: text the edge
        copied from the notes); the span is remembered for the rest of the request."""
        return self._vault.issue(self._finder.entity_for(text.strip(), kind))

    @property
    def mapping(self) -> dict[str, str]:
        """Every placeholder issued so far -> its original."""
        return self._vault.issued

    @property
    def entities(self) -> tuple[Entity, ...]:
        """The private entities the guard knows (from the context and from what it redacted)."""
        return self._finder.index.entities

    # -- replacing -------------------------------------------------------------------------

    def _redact_once(self, text: str, recognize: bool) -> str:
        self._vault.reserve(text)
        pieces: list[str] = []
        position = 0
        for span in resolve(self._finder.candidates(text, recognize)):
            pieces.append(text[position:span.start])
            pieces.append(self._replacement(text[span.start:span.end], span))
            position = span.end
        pieces.append(text[position:])
        return "".join(pieces)

    def _replacement(self, span: str, found: Span) -> str:
        if found.source == "token":
            return self._vault.escape(span)
        if found.entity is not None:
            return self._vault.issue(found.entity)
        # "Baker St." at the end of a sentence: the full stop stays outside the placeholder
        core = span.rstrip(" \t\n.,;:!?")
        if not core.strip():
            return span
        lead = core[: len(core) - len(core.lstrip())]
        return lead + self._vault.issue(self._finder.entity_for(core.strip(), found.kind)) + span[len(core):]


__all__ = ["PrivacyGuard", "PrivateSpan", "Redaction", "token_spans"]
