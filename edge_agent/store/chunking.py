"""Split text into retrieval chunks: paragraphs packed up to a size, long ones cut at sentences."""

from __future__ import annotations

import re

MAX_CHARS = 600  # about 150 tokens: inside MiniLM's window, small enough to be specific

_PARAGRAPHS = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")


def chunk_text(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Non-empty chunks of at most `max_chars` characters, in order, covering all the words."""
    pieces: list[str] = []
    for paragraph in _PARAGRAPHS.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
        else:
            pieces.extend(_split_long(paragraph, max_chars))
    return _pack(pieces, max_chars)


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    out: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        sentence = sentence.strip()
        while len(sentence) > max_chars:  # no sentence break: cut at the last space that fits
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            out.append(sentence)
    return out


def _pack(pieces: list[str], max_chars: int) -> list[str]:
    """Join neighbouring small pieces so that chunks are not single short lines."""
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 2 + len(piece) <= max_chars:
            chunks[-1] += "\n\n" + piece
        else:
            chunks.append(piece)
    return chunks
