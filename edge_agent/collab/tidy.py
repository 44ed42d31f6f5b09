"""Small clean-ups of a finished answer: repeated sentences (a small model loops) and an unfinished tail
(an answer cut at its token budget)."""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]+[\"')\]]*|[^.!?\n]+$", re.M)
_ENDS = (".", "!", "?", ":", ")", "]", '"', "*")
# Words a finished line does not end with ("I am writing to", "Thank you for").
_DANGLING = frozenset("a an the to for of and or but with at on in by from will would can could is are was "
                      "were be i we you my our your this that".split())


def drop_repeats(text: str) -> str:
    """Remove every sentence that repeats an earlier one word for word (case-insensitive)."""
    seen: set[str] = set()

    def keep(match: re.Match[str]) -> str:
        sentence = _drop_repeated_clauses(match.group(0))
        key = " ".join(sentence.split()).casefold()
        if len(key) < 12:  # "Thanks!", list markers: repeats are fine
            return sentence
        if key in seen:
            return ""
        seen.add(key)
        return sentence

    out = _SENTENCE.sub(keep, text)
    out = re.sub(r"[ \t]{2,}", " ", out)
    out = re.sub(r"[ \t]+\n", "\n", out)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


_CLAUSE_SPLIT = re.compile(r",\s+(?:and|but|so)\s+|;\s+")


def _drop_repeated_clauses(sentence: str) -> str:
    """'A, and B, and B, and B' -> 'A, and B.': cut a sentence where a clause comes back."""
    starts = [0] + [m.end() for m in _CLAUSE_SPLIT.finditer(sentence)]
    ends = [m.start() for m in _CLAUSE_SPLIT.finditer(sentence)] + [len(sentence)]
    if len(starts) < 3:
        return sentence
    seen: set[str] = set()
    for start, end in zip(starts, ends):
        key = " ".join(re.findall(r"\w+", sentence[start:end].casefold()))
        if key in seen and len(key.split()) >= 4:
            previous_end = max(e for e in ends if e < start)
            return sentence[:previous_end].rstrip(" ,;") + "."
        seen.add(key)
    return sentence


def cut_unfinished(text: str) -> str:
    """Drop a last line that stops mid-sentence (keep short lines such as a name or a sign-off)."""
    lines = text.rstrip().split("\n")
    last = lines[-1].strip()
    words = last.split()
    if not last or last.endswith(_ENDS + (",",)):
        return text.rstrip()
    if len(words) <= 4 and words[-1].casefold() not in _DANGLING:  # a name or a sign-off
        return text.rstrip()
    cut = max(last.rfind(c) for c in ".!?")
    if cut > 0:
        lines[-1] = lines[-1][: lines[-1].find(last) + cut + 1]
    elif any(line.strip() for line in lines[:-1]):
        lines.pop()
    else:
        return text.rstrip()  # the whole answer is one unfinished line: a cut answer beats none
    return "\n".join(lines).rstrip()


def tidy(text: str) -> str:
    """Drop repeated sentences, then an unfinished last line."""
    return cut_unfinished(drop_repeats(text))
