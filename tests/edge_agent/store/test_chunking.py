"""Chunking: every word kept, in order, chunks within the size limit."""

from edge_agent.store.chunking import chunk_text


def _words(text: str) -> list[str]:
    return text.split()


def test_small_paragraphs_are_packed_together() -> None:
    text = "First line.\n\nSecond line.\n\nThird line."
    assert chunk_text(text, max_chars=100) == ["First line.\n\nSecond line.\n\nThird line."]
    assert chunk_text(text, max_chars=25) == ["First line.\n\nSecond line.", "Third line."]


def test_long_text_is_cut_at_sentences_and_keeps_every_word() -> None:
    sentence = "The heating in flat 3B has been broken since Monday and the landlord knows. "
    text = sentence * 30 + "\n\n" + "word " * 400  # a paragraph with no sentence breaks at all
    chunks = chunk_text(text, max_chars=200)
    assert all(0 < len(chunk) <= 200 for chunk in chunks)
    assert _words(" ".join(chunks)) == _words(text)
    assert chunks[0].endswith("knows.")  # cut after a sentence, not inside one


def test_blank_text_has_no_chunks() -> None:
    assert chunk_text("  \n\n \n") == []
