"""Which of the edge's generated tokens the cloud may see, and as what.

One notion of private: the guard's `private_spans(text, recognize=False)` (the function the
door's `leaks()` asks) and the copy detector (runs of the answer copied from the notes) say
what is private; this module makes the decoder hold exactly that on the edge.

A committed token is *held* while it may still become part of a private detail:
- a number being written (a phone, an amount, an address), through spaces, dashes, brackets
  and commas, until a word or a new line follows;
- a word that is the start of a word of a known private entity ("Pri" of "Priya"), or a chunk
  holding an "@";
- a private span that reaches the end of the text (it may go on: "March 14" -> "March 14, 2026");
- a run that may be copying the notes (`CopyDetector.pending`, and a copied run still open);
- a word the edge's own next token would continue ("meth" of "methimazole"): the cloud never
  sees part of a word, so no private word leaks by its first tokens.
When the hold ends, the held tokens go up: as ids where nothing private overlaps them, else as
text in which every private part is the guard's placeholder (`guard.conceal`). The decision
depends only on the committed text, so speculative and step-by-step decoding hold the same
tokens, and a draft is offered to the cloud only if committing it would release it as ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edge_agent.privacy import CopyDetector, PrivacyGuard
from edge_agent.privacy.words import STOPWORDS

_WORD_PART = re.compile(r"[^\W_]+")
_TRAILING_WORD = re.compile(r"[^\W_]+$")
_TRAILING_CHUNK = re.compile(r"\S+$")
# A number still being written: digits and the separators of phones, dates and amounts up to
# the end of the text ("+1 (415) 555-", "Storgatan 17, lgh 12"); a letter or a new line ends it.
_TRAILING_NUMBER = re.compile(r"[+(]?\d[\d \t().\-/:,]*$")
WINDOW = 200  # characters of text before a token that the span finder reads


@dataclass
class Release:
    """Held tokens leaving hold: their ids and text, and what the cloud may see of them."""

    tokens: list[int]
    text: str
    redacted: str | None = None  # None: the ids may go up as they are; else this text (placeholders) goes up

    @property
    def private(self) -> bool:
        return self.redacted is not None


@dataclass
class _Token:
    id: int
    start: int
    end: int


def window_start(text: str, at: int) -> int:
    """Where the span finder starts reading for a token at `at`: WINDOW characters back, at a word start."""
    start = max(0, at - WINDOW)
    if start == 0:
        return 0
    space = re.search(r"\s", text[start:at])
    return start + space.end() if space else at


def _reaches_end(text: str, end: int) -> bool:
    """A span ending at `end` may still go on: only spaces (no new line) follow it."""
    tail = text[end:]
    return not tail or (tail.isspace() and "\n" not in tail)


class SpanWatcher:
    """Tracks held tokens over the committed text of one answer.

    `copies` (the notes and the instruction of the request) makes copied runs private too.
    """

    def __init__(self, guard: PrivacyGuard, copies: CopyDetector | None = None) -> None:
        self.guard = guard
        self.copies = copies
        self.text = ""  # everything committed so far
        self.released = 0  # characters of `text` that have left hold
        self.held: list[_Token] = []
        self._entity_words: set[str] = set()
        self._entities_seen = -1

    @property
    def holding(self) -> bool:
        return bool(self.held)

    @property
    def held_text(self) -> str:
        return self.text[self.released:]

    # -- deciding -----------------------------------------------------------------------

    def hold_from(self, text: str, continues: bool = False) -> int:
        """The offset from which `text` (a committed text, maybe with drafts) must stay on the edge;
        len(text) when nothing need be held. `continues`: the edge's next token goes on with the
        text's last word."""
        cut = len(text)
        number = _TRAILING_NUMBER.search(text)
        if number:
            cut = number.start()
        word = _TRAILING_WORD.search(text)
        if word and (continues or self._starts_private_word(word.group())):
            cut = min(cut, word.start())
        chunk = _TRAILING_CHUNK.search(text)
        if chunk and "@" in chunk.group():
            cut = min(cut, chunk.start())
        start = window_start(text, cut)
        for span in self.guard.private_spans(text[start:], recognize=False):
            if _reaches_end(text, start + span.end):
                cut = min(cut, start + span.start)
        if self.copies is not None:
            pending = self.copies.pending(text)
            if pending is not None:
                cut = min(cut, pending)
            for run in self.copies.runs(text):
                if run.open:
                    cut = min(cut, run.start)
        return cut

    def private_parts(self, text: str, start: int, end: int) -> list[tuple[int, int, str]]:
        """(start, end, kind) of every private span or copied run of `text` overlapping [start, end)."""
        parts: list[tuple[int, int, str]] = []
        origin = window_start(text, start)
        for span in self.guard.private_spans(text[origin:], recognize=False):
            s, e = origin + span.start, origin + span.end
            if s < end and e > start:
                parts.append((s, e, span.kind))
        if self.copies is not None:
            parts.extend((run.start, run.end, "PRIVATE") for run in self.copies.runs(text)
                         if run.start < end and run.end > start)
        return sorted(parts)

    def would_hold(self, piece: str, after: str | None = None, continues: bool = False) -> bool:
        """True unless committing `piece` after `after` (default: the committed text) would send it
        up at once as ids: the test a draft must pass before the cloud may score it."""
        text = (self.text if after is None else after) + piece
        start = len(text) - len(piece)
        if self.hold_from(text, continues) < len(text):
            return True
        return bool(self.private_parts(text, start, len(text)))

    def _starts_private_word(self, word: str) -> bool:
        if any(ch.isdigit() for ch in word):
            return True
        if len(word) < 2 and not word[0].isupper():
            return False
        folded = word.casefold()
        return any(w.startswith(folded) for w in self._words())

    def _words(self) -> set[str]:
        entities = self.guard.entities
        if len(entities) != self._entities_seen:  # the guard learns entities as it redacts and conceals
            self._entities_seen = len(entities)
            self._entity_words = {part for entity in entities for part in _WORD_PART.findall(entity.text.casefold())
                                  if part not in STOPWORDS}  # "December" of a date is no reason to hold "Dear"
        return self._entity_words

    # -- committing ---------------------------------------------------------------------

    def commit(self, token: int, piece: str, continues: bool = False) -> list[Release]:
        """Record a committed token; return the held tokens that leave hold because of it
        (the token itself included when it goes up at once), in order."""
        start = len(self.text)
        self.text += piece
        self.held.append(_Token(token, start, len(self.text)))
        cut = max(self.hold_from(self.text, continues), self.released)
        ready = [t for t in self.held if t.end <= cut]
        if not ready:
            return []
        self.held = self.held[len(ready):]
        self.released = ready[-1].end
        return self._release(ready)

    def _release(self, tokens: list[_Token]) -> list[Release]:
        parts = self.private_parts(self.text, tokens[0].start, tokens[-1].end)
        groups: list[tuple[bool, list[_Token]]] = []
        for token in tokens:
            private = any(s < token.end and e > token.start for s, e, _ in parts)
            if groups and groups[-1][0] == private:
                groups[-1][1].append(token)
            else:
                groups.append((private, [token]))
        releases = []
        for private, group in groups:
            start, end = group[0].start, group[-1].end
            text = self.text[start:end]
            release = Release([t.id for t in group], text)
            if private:
                release.redacted = self._conceal(start, end, parts)
            releases.append(release)
        return releases

    def _conceal(self, start: int, end: int, parts: list[tuple[int, int, str]]) -> str:
        """The text [start, end) with every private part in it replaced by the guard's placeholder."""
        merged: list[list] = []
        for s, e, kind in parts:
            s, e = max(s, start), min(e, end)
            if s >= e:
                continue
            if merged and s < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e, kind])
        pieces, position = [], start
        for s, e, kind in merged:
            pieces.append(self.text[position:s])
            pieces.append(self._placeholder(self.text[s:e], kind))
            position = e
        pieces.append(self.text[position:end])
        redacted = "".join(pieces)
        if self.guard.leaks(redacted):  # what is left spells a span on its own: all of it goes as one
            redacted = self._placeholder(self.text[start:end], "PRIVATE")
        return redacted

    def _placeholder(self, part: str, kind: str) -> str:
        """`part` as the guard's placeholder, the spaces around it kept."""
        core = part.strip()
        if not core:
            return part
        lead, trail = part[: len(part) - len(part.lstrip())], part[len(part.rstrip()):]
        return lead + self.guard.conceal(core, kind) + trail
