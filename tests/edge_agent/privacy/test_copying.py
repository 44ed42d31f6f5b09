"""Copy detection for fuse: what an answer copies from the notes, beyond the instruction."""

from __future__ import annotations

from edge_agent.privacy import CopyDetector, PrivacyGuard, copied_runs

NOTES = [
    "Started sertraline for depression in May",
    "Dinner booked at Zaytoon, 7:30 pm, table for 8, confirmation ZT-88412",
    "Meeting with the team on Monday about the budget",
    "Kofi has tonsil surgery at St. Brendan's Hospital on November 3",
]
INSTRUCTION = "Write a note to my manager about the budget meeting on Monday."


def test_copied_details_are_found() -> None:
    runs = copied_runs(NOTES, INSTRUCTION, "Sorry, I started sertraline for depression in May, so I am slow.")
    assert [r.text for r in runs] == ["started sertraline for depression in May"]
    runs = copied_runs(NOTES, INSTRUCTION, "Dinner is booked at Zaytoon, 7:30 pm, with confirmation ZT-88412.")
    assert [r.text for r in runs] == ["booked at Zaytoon, 7:30 pm", "confirmation ZT-88412"]


def test_what_the_instruction_says_and_ordinary_phrases_are_not_copies() -> None:
    assert copied_runs(NOTES, INSTRUCTION, "The meeting on Monday about the budget went well, thanks.") == []
    assert copied_runs(NOTES, "Tell them dinner is booked at Zaytoon.", "Dinner is booked at Zaytoon.") == []
    assert copied_runs(NOTES, INSTRUCTION, "Please find the notes attached.") == []


def test_pending_holds_a_copy_as_it_is_being_written() -> None:
    detector = CopyDetector(NOTES, INSTRUCTION)
    answer = "Hi, I started sertral"
    start = detector.pending(answer)
    assert start is not None and answer[start:] == "started sertral"
    assert detector.pending("Hi, the meeting") is None
    assert detector.pending("Hi, the") is None
    run = detector.runs("Kofi has tonsil surgery")[-1]
    assert run.text == "Kofi has tonsil surgery" and run.open  # the notes go on: keep holding
    assert not detector.runs("Kofi has tonsil surgery.")[-1].open


def test_a_copy_goes_up_as_a_placeholder() -> None:
    guard = PrivacyGuard(NOTES)
    detector = CopyDetector(NOTES, INSTRUCTION)
    answer = "Dinner is booked at Zaytoon, 7:30 pm."
    run = detector.runs(answer)[0]
    placeholder = guard.conceal(run.text)
    assert placeholder.startswith("[PRIVATE_")
    assert guard.restore(placeholder) == run.text
    assert guard.conceal(run.text) == placeholder  # stable within the request
