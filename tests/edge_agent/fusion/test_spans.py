"""Which generated tokens are held back from the cloud (text-level; token ids are arbitrary here)."""

from edge_agent.fusion.spans import SpanWatcher
from edge_agent.privacy import CopyDetector, PrivacyGuard

NOTES = ["Name: Priya Raman", "Phone: +1 (415) 555-0134", "Dentist: Dr. Okafor"]


def feed(pieces: list[str], notes: list[str] = NOTES, instruction: str = "", continues: set[int] = frozenset()):
    """Commit `pieces`; what the cloud may see, as ("ids" | "text", text). `continues`: indexes after
    which the edge's next token would go on with the word."""
    guard = PrivacyGuard(notes)
    watcher = SpanWatcher(guard, CopyDetector(notes, instruction))
    sent: list[tuple[str, str]] = []
    for i, piece in enumerate(pieces):
        for release in watcher.commit(i, piece, continues=i in continues):
            sent.append(("text", release.redacted) if release.private else ("ids", release.text))
    return watcher, sent


def cloud_text(sent: list[tuple[str, str]]) -> str:
    return "".join(text for _, text in sent)


def test_a_private_name_is_held_then_sent_as_a_placeholder() -> None:
    watcher, sent = feed(["Dear", " Pri", "ya", ",", " see", " you"])
    assert sent[0] == ("ids", "Dear") and sent[-1] == ("ids", " you")
    texts = cloud_text(sent)
    assert "Priya" not in texts and "Pri" not in texts and "[PERSON_1" in texts
    assert not watcher.holding


def test_a_phone_number_is_held_across_spaces_and_dashes() -> None:
    watcher, sent = feed([" call", " +", "1", " (", "4", "1", "5", ")", " ", "5", "5", "5", "-", "0", "1", "3", "4", "\n",
                          "Thanks"])
    texts = cloud_text(sent)
    assert "415" not in texts and "0134" not in texts and "5550134" not in texts.replace("-", "")
    assert "[PHONE_1]" in texts and texts.endswith("\nThanks")


def test_ordinary_words_flow_as_ids() -> None:
    watcher, sent = feed([" I", " will", " be", " late", "."])
    assert all(kind == "ids" for kind, _ in sent) and cloud_text(sent) == " I will be late."


def test_a_word_that_only_starts_like_a_name_is_released_as_ids() -> None:
    watcher, sent = feed([" Pr", "ice", " is", " fine"])
    assert sent[0] == ("ids", " Price") and not any(kind == "text" for kind, _ in sent)


def test_a_health_word_from_the_lexicon_goes_up_as_a_placeholder() -> None:
    """Not in the notes, but the door would refuse it: the decoder must not offer it as ids."""
    _, sent = feed([" She", " has", " diabetes", " and", " asthma", "."])
    texts = cloud_text(sent)
    assert "diabetes" not in texts and "asthma" not in texts and texts.count("[CONDITION_") == 2


def test_a_word_is_held_while_the_edge_would_continue_it() -> None:
    """"meth" of "methimazole": the cloud never sees the start of a word that turns out private."""
    watcher, sent = feed([" takes", " meth", "im", "azole", " daily"], continues={1, 2})
    texts = cloud_text(sent)
    assert "meth" not in texts and "[MEDICATION_1]" in texts and texts.endswith(" daily")


def test_what_the_answer_copies_from_the_notes_is_concealed() -> None:
    notes = ["Biscuit: 14-year-old cat with hyperthyroidism", "Vet: Dr. Lindqvist, Thursdays"]
    instruction = "Write a note to my pet sitter about Biscuit."
    _, sent = feed([" Biscuit", " is", " a", " ", "1", "4", "-year", "-old", " cat", " with", " hyper", "thy",
                    "roid", "ism", ",", " so", " please"], notes, instruction, continues={10, 11, 12})
    texts = cloud_text(sent)
    for secret in ("14", "hyperthyroidism", "cat with"):
        assert secret not in texts, texts
    assert texts.startswith(" Biscuit is a") and texts.endswith(", so please")


def test_would_hold_agrees_with_commit() -> None:
    """A draft is offered to the cloud only if committing it would send it up as ids at once."""
    guard = PrivacyGuard(NOTES)
    watcher = SpanWatcher(guard, CopyDetector(NOTES, ""))
    checked = 0
    for i, piece in enumerate([" Thanks", ",", " Dr", ".", " Ok", "af", "or", " -", " call", " me",
                                   " at", " 4", "1", "5", " now", " or", " later", "."]):
        holding = watcher.holding  # the decoder drafts only when nothing is held
        offered = not watcher.would_hold(piece)
        releases = watcher.commit(i, piece)
        went_up_as_ids = [(r.tokens, r.private) for r in releases] == [([i], False)]
        if not holding:
            assert offered == went_up_as_ids, piece
            checked += 1
    assert checked >= 8
