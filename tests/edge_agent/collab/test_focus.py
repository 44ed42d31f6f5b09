from edge_agent.collab.focus import FocusSettings, is_profile_line, rank_lines, relevant_lines, user_name

from .conftest import INSTRUCTION, NOTES


def test_profile_lines_are_contact_details_and_ids() -> None:
    profile = [line for line in NOTES if is_profile_line(line)]
    assert profile == NOTES[:3]
    assert is_profile_line("Student ID: S20231487")
    assert is_profile_line("Work email: t.wisniewski@example.com")
    assert not is_profile_line("Landlord: Mr. Holm, holm.fastigheter@example.com")  # a person the letter needs
    assert not is_profile_line("Tax return deadline: April 15")
    assert not is_profile_line("Bedroom radiator has been cold since Monday")


def test_user_name_drops_a_bracketed_alias() -> None:
    assert user_name(NOTES) == "Daniela Ferreira-Lindqvist"
    assert user_name(["Name: Hiroshi Tanaka (田中 浩)", "Email: x@example.net"]) == "Hiroshi Tanaka"
    assert user_name(["Bedroom radiator has been cold"]) == ""


def test_ranking_puts_the_lines_the_request_needs_first(embedder) -> None:
    ranked = rank_lines(embedder, INSTRUCTION, NOTES)
    assert {s.text for s in ranked} == set(NOTES[3:])  # profile lines are never candidates
    top3 = {s.text for s in ranked[:3]}
    assert top3 == {NOTES[3], NOTES[4], NOTES[5]}  # landlord, radiator, guests; not the gym or the dentist
    assert [s.similarity for s in ranked] == sorted((s.similarity for s in ranked), reverse=True)


def test_relevant_lines_keep_the_notes_order_and_the_threshold(embedder) -> None:
    lines = relevant_lines(embedder, INSTRUCTION, NOTES, FocusSettings(k=3))
    assert lines == [NOTES[3], NOTES[4], NOTES[5]]
    strict = relevant_lines(embedder, INSTRUCTION, NOTES, FocusSettings(k=5, min_similarity=0.99, keep_top=1))
    assert len(strict) == 1
