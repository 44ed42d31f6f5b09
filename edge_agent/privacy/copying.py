"""Copy detection for fuse: runs of the edge's answer copied from the private notes.

The edge writes with the notes, so its answer repeats them ("I take sertraline for my
depression", "confirmation ZT-88412"), and some of what it repeats is no name, number or
known category. Whatever the edge learned from the notes must not go up as token ids: the
decoder holds such a run on the edge and sends it as a placeholder (`PrivacyGuard.conceal`).

A run is a maximal sequence of answer words that occurs, word for word (case, spacing and
punctuation aside), in one notes text. It counts as copied when it says more than the
instruction does: it is not itself a phrase of the instruction, and either
- it holds a distinctive word (a number, a word rare in English, or one the notes capitalise
  in mid-sentence) that the instruction does not use, or
- it is `min_words` words or longer with a content word the instruction does not use.
Runs of stop words alone ("on the") never count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from edge_agent.privacy import frequency
from edge_agent.privacy.entities import normalize
from edge_agent.privacy.words import STOPWORDS

_WORD = re.compile(r"[^\W_]+")
# Words too common to start holding on ("the", "my"): a tail of only these is never pending.
_FUNCTION_WORDS = frozenset("a an the and or but of in on at to for with by from as my your our his her their its "
                            "i we you he she it they is are was were be been this that these those".split())


@dataclass(frozen=True)
class CopiedRun:
    """Answer text [start, end) copied from the notes; `open` when it reaches the end of the
    answer and the notes go on, so the next tokens may extend it (keep holding)."""

    start: int
    end: int
    text: str
    open: bool


def _words(text: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(text))


class CopyDetector:
    """Finds what an answer copies from the notes; built once per request."""

    def __init__(self, notes: Iterable[str], instruction: str = "", min_words: int = 3, rare_zipf: float = 4.0) -> None:
        self.min_words = min_words
        self.rare_zipf = rare_zipf
        self._lines: list[list[str]] = []
        self._at: dict[str, list[tuple[int, int]]] = {}  # word -> (line, position) in the notes
        self._capitalised: set[str] = set()
        for text in notes:
            text = normalize(text)
            words = _words(text)
            line = [w.group().casefold() for w in words]
            for k, w in enumerate(words):
                self._at.setdefault(line[k], []).append((len(self._lines), k))
                if w.group()[:1].isupper() and k > 0 and not re.search(r"[.!?:\n]\s*$", text[:w.start()]):
                    self._capitalised.add(line[k])
            self._lines.append(line)
        self._instruction = [w.group().casefold() for w in _words(normalize(instruction))]
        self._instruction_words = set(self._instruction)

    # -- public API ---------------------------------------------------------------------------

    def runs(self, answer: str) -> list[CopiedRun]:
        """The copied runs of `answer`, in order."""
        answer = normalize(answer)
        words = _words(answer)
        keys = [w.group().casefold() for w in words]
        found: list[CopiedRun] = []
        i = 0
        while i < len(keys):
            length, continues = self._longest(keys, i)
            if length and self._copied(keys[i:i + length]):
                start, end = words[i].start(), words[i + length - 1].end()
                is_open = i + length == len(keys) and continues and end == len(answer.rstrip()) == len(answer)
                found.append(CopiedRun(start, end, answer[start:end], is_open))
                i += length
            else:
                i += 1
        return found

    def pending(self, answer: str) -> int | None:
        """Where a copy may be starting at the end of `answer` (a character offset), or None.

        The longest tail of the answer that the notes contain (its last word may be a word
        still being written: "sertral"), if it is more than function words and the run, as the
        notes go on for up to three more words, would count as copied. The decoder holds from
        there until the run ends."""
        answer = normalize(answer)
        words = _words(answer)
        keys = [w.group().casefold() for w in words]
        partial = bool(words) and words[-1].end() == len(answer)
        for i in range(max(0, len(keys) - 12), len(keys)):
            tail = keys[i:]
            if all(k in _FUNCTION_WORDS for k in tail):
                continue
            for line, pos in self._at.get(tail[0], ()) if len(tail) > 1 or not partial else self._prefixed(tail[0]):
                notes = self._lines[line]
                end = pos + len(tail)
                if end > len(notes) or notes[pos:end - 1] != tail[:-1]:
                    continue
                last = notes[end - 1]
                if (last == tail[-1] or (partial and last.startswith(tail[-1]))) and self._copied(notes[pos:end + 3]):
                    return words[i].start()
        return None

    def _prefixed(self, prefix: str) -> list[tuple[int, int]]:
        return [at for word, places in self._at.items() if word.startswith(prefix) for at in places]

    # -- matching -------------------------------------------------------------------------------

    def _longest(self, keys: list[str], i: int) -> tuple[int, bool]:
        """(length of the longest run of keys from i found in one notes line, whether the notes go on)."""
        best, continues = 0, False
        for line, pos in self._at.get(keys[i], ()):
            notes = self._lines[line]
            n = 0
            while i + n < len(keys) and pos + n < len(notes) and keys[i + n] == notes[pos + n]:
                n += 1
            if n > best or (n == best and pos + n < len(notes)):
                best, continues = n, pos + n < len(notes)
        return best, continues

    def _distinctive(self, word: str) -> bool:
        if word in STOPWORDS or word in self._instruction_words:
            return False
        return (any(ch.isdigit() for ch in word) or word in self._capitalised
                or (frequency.available() and frequency.zipf_any_form(word) < self.rare_zipf))

    def _copied(self, run: list[str]) -> bool:
        if not run or self._in_instruction(run):
            return False
        if any(self._distinctive(w) for w in run):
            return True
        new_content = [w for w in run if w not in STOPWORDS and w not in self._instruction_words]
        return len(run) >= self.min_words and bool(new_content)

    def _in_instruction(self, run: list[str]) -> bool:
        n = len(run)
        return any(self._instruction[k:k + n] == run for k in range(len(self._instruction) - n + 1))


def copied_runs(notes: Iterable[str], instruction: str, answer: str, min_words: int = 3) -> list[CopiedRun]:
    """The runs of `answer` copied from `notes` beyond what `instruction` says (see `CopyDetector`)."""
    return CopyDetector(notes, instruction, min_words).runs(answer)
