"""Which generated tokens are held back from the cloud (text-level; token ids are arbitrary here)."""

from edge_agent.fusion.spans import SpanWatcher
from edge_agent.privacy import PrivacyGuard

NOTES = ["Name: Priya Raman", "Phone: +1 (415) 555-0134", "Dentist: Dr. Okafor"]


def feed(pieces: list[str]):
    watcher = SpanWatcher(PrivacyGuard(NOTES))
    sent: list[tuple[str, str]] = []  # ("ids" | "text", what the cloud may see)
    for i, piece in enumerate(pieces):
        releases, public = watcher.commit(i, piece)
        for release in releases:
            sent.append(("text", release.redacted) if release.private else ("ids", release.text))
        if public:
            sent.append(("ids", piece))
    return watcher, sent


def test_a_private_name_is_held_then_sent_as_a_placeholder() -> None:
    watcher, sent = feed(["Dear", " Pri", "ya", ",", " see", " you"])
    assert ("ids", "Dear") in sent and ("ids", " see") in sent
    texts = "".join(t for _, t in sent)
    assert "Priya" not in texts and "Pri" not in texts and "[PERSON_1" in texts
    assert not watcher.holding


def test_a_phone_number_is_held_across_spaces_and_dashes() -> None:
    watcher, sent = feed([" call", " +", "1", " (", "4", "1", "5", ")", " ", "5", "5", "5", "-", "0", "1", "3", "4", "\n"])
    texts = "".join(t for _, t in sent)
    assert "415" not in texts and "0134" not in texts and "5550134" not in texts.replace("-", "")


def test_ordinary_words_flow_as_ids() -> None:
    watcher, sent = feed([" I", " will", " be", " late", "."])
    assert all(kind == "ids" for kind, _ in sent) and len(sent) == 5


def test_a_word_that_only_starts_like_a_name_is_released_as_ids() -> None:
    watcher, sent = feed([" Pr", "ice", " is", " fine"])
    assert ("ids", " Price") in [(k, t) for k, t in sent] or ("ids", " Pr" + "ice") in sent
    assert not any(kind == "text" for kind, _ in sent)


def test_flush_releases_what_is_left() -> None:
    watcher, _ = feed([" Pri", "ya"])
    assert watcher.holding
    release = watcher.flush()
    assert release is not None and release.private and "Priya" not in release.redacted
