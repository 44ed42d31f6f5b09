from edge_agent.collab import repair

from .conftest import NOTES

LETTER = """Dear Mr. Holm,

Could you please fix the heating before my guests arrive?

Thank you for your help.

Best regards,
Daniela"""


def test_coverage_needs_the_details_and_half_the_words() -> None:
    assert repair.coverage(LETTER, NOTES[3], NOTES).covered  # "Mr. Holm" is there
    radiator = repair.coverage(LETTER, NOTES[4], NOTES)
    assert not radiator.covered and radiator.word_share < 0.5
    guests = repair.coverage(LETTER, NOTES[5], NOTES)
    assert guests.missing_details == ("Porto", "March 14", "5 nights")


def test_additions_go_before_the_closing_or_after_the_last_item() -> None:
    fixed = repair.insert(LETTER, ["It is cold.", "It is late."], as_items=False)
    assert "arrive?\n\nIt is cold. It is late.\n\nThank you for your help." in fixed
    listed = repair.insert("Bring:\n- milk\n- bread\n\nDone.", ["eggs"], as_items=True)
    assert listed == "Bring:\n- milk\n- bread\n- eggs\n\nDone."
    numbered = repair.insert("1. milk\n2. bread", ["eggs"], as_items=True)
    assert numbered.endswith("3. eggs")


def test_repair_always_carries_the_missing_details(smol_generate) -> None:
    """Whatever the model writes, a sentence that loses a detail is replaced by the line itself."""
    fixed = repair.repair(smol_generate, LETTER, NOTES[3:6], NOTES)
    assert fixed.lines == [NOTES[4], NOTES[5]]
    for line in fixed.lines:
        assert repair.coverage(fixed.text, line, NOTES).covered
    assert fixed.text.rstrip().endswith("Best regards,\nDaniela")


def test_the_edge_rewrites_a_note_as_a_sentence(edge_generate_05) -> None:
    sentence = repair.as_sentence(edge_generate_05, "Parents visiting from Porto on March 14, staying 5 nights", NOTES)
    assert sentence != "Parents visiting from Porto on March 14, staying 5 nights."  # not the fallback
    assert "March 14" in sentence and "Porto" in sentence


def test_coverage_score_counts_the_covered_lines() -> None:
    assert repair.coverage_score(LETTER, NOTES[3:6], NOTES) == 1 / 3
    assert repair.coverage_score(LETTER, [], NOTES) == 1.0
