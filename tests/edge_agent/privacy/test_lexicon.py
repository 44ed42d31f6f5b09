"""Sensitive facts that are not names: health, finance, religion, identity (issue 15)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edge_agent.privacy import PrivacyGuard
from edge_agent.privacy.lexicon import Lexicon

NOTES = ["Started sertraline for depression in May", "shellfish allergy", "Knee replacement scheduled for June 3"]
TASKS = Path(__file__).resolve().parents[3] / "bench" / "tasks" / "personal_writing.jsonl"


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon()


def _found(lexicon: Lexicon, text: str) -> list[tuple[str, str]]:
    return [(text[a:b], kind) for a, b, kind in lexicon.find(text)]


def test_the_issue_examples_are_redacted_detail_by_detail() -> None:
    guard = PrivacyGuard(NOTES)
    assert guard.redact("I take sertraline for my depression").text == "I take [MEDICATION_1] for my [CONDITION_1]"
    assert re.fullmatch(r"I have a \[CONDITION_\d+\]", guard.redact("I have a shellfish allergy").text)
    assert re.fullmatch(r"after my \[PROCEDURE_\d+\]", guard.redact("after my knee replacement").text)
    assert guard.leaks("I take sertraline for my depression") == ["sertraline", "depression"]
    assert guard.restore(guard.redact("I take sertraline for my depression").text) == \
        "I take sertraline for my depression"


def test_a_capitalised_first_word_of_a_health_fact_is_no_name() -> None:
    guard = PrivacyGuard(["Knee replacement scheduled for June 3"])
    assert not any(e.kind == "PERSON" for e in guard.entities)
    assert "[PERSON" not in guard.redact("after my knee replacement").text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Dad's blood pressure meds: amlodipine 5 mg",
         [("blood pressure", "CONDITION"), ("amlodipine 5 mg", "MEDICATION")]),
        ("Current meds: levothyroxine 75 mcg", [("levothyroxine 75 mcg", "MEDICATION")]),
        ("Out sick Sept 29 (migraine, saw Dr. Okafor)", [("migraine", "CONDITION")]),
        ("Kofi has tonsil surgery on November 3", [("tonsil surgery", "PROCEDURE")]),
        ("knee brace for hiking (ACL reconstruction last spring)",
         [("knee brace", "PROCEDURE"), ("ACL reconstruction", "PROCEDURE")]),
        ("She is recovering from a hip replacement", [("hip replacement", "PROCEDURE")]),
        ("Cataract surgery follow-up Friday", [("Cataract surgery", "PROCEDURE")]),
        ("Can't meet Wednesdays (physiotherapy for shoulder)", [("physiotherapy", "PROCEDURE")]),
        ("She is allergic to penicillin and latex.", [("penicillin and latex", "CONDITION")]),
        ("He had a tonsillectomy and has tendinitis", [("tonsillectomy", "PROCEDURE"), ("tendinitis", "CONDITION")]),
        ("Sold the condo for $412,000; expected salary USD 140k", [("$412,000", "MONEY"), ("USD 140k", "MONEY")]),
        ("We went bankrupt last year", [("bankrupt", "FINANCE")]),
        ("I fast during Ramadan as a practising Muslim", [("Ramadan", "RELIGION"), ("Muslim", "RELIGION")]),
    ],
)
def test_categories(lexicon: Lexicon, text: str, expected: list[tuple[str, str]]) -> None:
    found = _found(lexicon, text)
    for span in expected:
        assert span in found or (span[1] == "CONDITION" and span[0] in [f for f, _ in found]), (span, found)


@pytest.mark.parametrize(
    "text",
    [
        "Write a blog post about photography and geography.",
        "Dear team, the meeting on Monday in March moved. Please write a short, friendly note.",
        "Replace the battery and book a flight to the conference.",
        "Thanks for the update on the budget and the project plan.",
    ],
)
def test_ordinary_text_has_no_sensitive_span(lexicon: Lexicon, text: str) -> None:
    assert _found(lexicon, text) == []


def test_health_canaries_of_the_benchmark_tasks_are_covered(lexicon: Lexicon) -> None:
    """Every health canary of bench/tasks loses its detail (the phrase no longer appears whole)."""
    health = {"tonsil surgery", "amlodipine 5 mg", "therapy appointment", "levothyroxine 75 mcg", "ACL reconstruction",
              "hip replacement", "Cataract surgery", "physiotherapy for shoulder", "knee surgery recovery", "EpiPen"}
    tasks = [json.loads(line) for line in TASKS.read_text().splitlines()]
    seen = set()
    for task in tasks:
        for canary in task["canaries"]:
            if canary in health:
                seen.add(canary)
                guard = PrivacyGuard(task["private_context"].splitlines())
                line = next(li for li in task["private_context"].splitlines() if canary in li)
                assert canary.lower() not in guard.redact(line).text.lower(), canary
    assert seen == health
