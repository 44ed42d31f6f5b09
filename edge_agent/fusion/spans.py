"""Which of the edge's generated tokens the cloud may see as token ids.

The edge writes with the private notes, so its answer can contain private details
("Dear Priya,"). Tokens that might be part of one are *held*: the edge decodes them
alone, and when the word is complete the held text is redacted by the privacy guard
and sent as placeholder text (the cloud tokenizes it); text the guard leaves alone
is sent as ids. The decision depends only on the committed text, so speculative and
step-by-step decoding hold exactly the same tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from edge_agent.privacy import PrivacyGuard
from edge_agent.privacy.entities import STOPWORDS

_WORD = re.compile(r"[^\W_]+$")
_WORD_PART = re.compile(r"[^\W_]+")
_CLOSERS = set(",;:!?\n\"')]")  # a token ending with one of these completes the held word


@dataclass
class Release:
    """A held segment leaving hold: the tokens, their text, and what the cloud may see."""

    tokens: list[int]
    text: str
    redacted: str  # what goes up as text (placeholders)
    private: bool  # False: the guard changed nothing, the ids may go up as they are


@dataclass
class SpanWatcher:
    """Tracks held tokens over the committed text of one answer."""

    guard: PrivacyGuard
    entity_words: set[str] = field(default_factory=set)
    held_tokens: list[int] = field(default_factory=list)
    held_text: str = ""
    text: str = ""  # everything committed so far

    def __post_init__(self) -> None:
        for entity in self.guard.entities:
            for part in _WORD_PART.findall(entity.text.casefold()):
                if part not in STOPWORDS:  # "December" of a date is no reason to hold "Dear"
                    self.entity_words.add(part)

    @property
    def holding(self) -> bool:
        return bool(self.held_tokens)

    def would_hold(self, piece: str, after: str | None = None) -> bool:
        """True if appending `piece` to `after` (default: the committed text) would start a held span."""
        return self._suspicious((self.text if after is None else after) + piece, piece)

    def _suspicious(self, text: str, piece: str) -> bool:
        if not _WORD_PART.search(piece):
            return False  # punctuation and spaces only
        match = _WORD.search(text)
        if match is None:
            return False  # the piece ends the word
        word = match.group(0)
        if any(ch.isdigit() for ch in word) or "@" in piece:
            return True
        folded = word.casefold()
        if len(word) < 2 and not word[0].isupper():
            return False
        return any(w.startswith(folded) for w in self.entity_words)

    def commit(self, token: int, piece: str) -> tuple[list[Release], bool]:
        """Record a committed token.

        Returns the segments that leave hold because of it, and whether the token itself
        is public (free to send as an id right after those segments).
        """
        releases: list[Release] = []
        if self.holding:
            if self._numeric_held():
                if piece[:1].isspace() and piece.lstrip()[:1].isalpha():  # a word follows the number
                    releases.append(self._release())
                else:
                    self._hold(token, piece)
                    if "\n" in piece:
                        releases.append(self._release())
                    return releases, False
            elif piece[:1].isspace():
                releases.append(self._release())
            else:
                self._hold(token, piece)
                if piece and piece[-1] in _CLOSERS:
                    releases.append(self._release())
                return releases, False
        public = not self._suspicious(self.text + piece, piece)
        if not public:
            self.held_tokens = [token]
            self.held_text = piece
        self.text += piece
        return releases, public

    def _hold(self, token: int, piece: str) -> None:
        self.held_tokens.append(token)
        self.held_text += piece
        self.text += piece

    def _numeric_held(self) -> bool:
        """Numbers (phones, amounts, ids) stay held through spaces, dashes, dots and brackets
        ("+1 (415) 555-0134"): they end only at a newline or at a following word."""
        return any(ch.isdigit() for ch in self.held_text)

    def _release(self) -> Release:
        redacted = self.guard.redact(self.held_text).text
        release = Release(self.held_tokens, self.held_text, redacted, private=redacted != self.held_text)
        self.held_tokens, self.held_text = [], ""
        return release

    def flush(self) -> Release | None:
        """At the end of the answer: release whatever is held."""
        return self._release() if self.holding else None
