from edge_agent.collab import slots
from edge_agent.collab.slots import Slot, drop_slot, find_slots, role_words, slot_kind, typed_value

from .conftest import INSTRUCTION, NOTES

DRAFT = """Subject: Heating

Dear [Landlord's Name],

My guests arrive on [arrival date]. Could you fix the heating before then? It is [reason for the fault]. I can pay [PERSON_1] back.

Best regards,
[your name]"""


def test_slots_are_found_once_each_with_their_sentence() -> None:
    found = find_slots(DRAFT + " [arrival date]")
    assert [s.text for s in found] == [
        "[Landlord's Name]", "[arrival date]", "[reason for the fault]", "[PERSON_1]", "[your name]"]
    assert found[1].sentence == "My guests arrive on [arrival date]."
    assert slots.is_placeholder(found[3])  # left over after restore: the guard never issued it


def test_slot_kinds_and_role_words() -> None:
    assert slot_kind("Landlord's Name") == "NAME" and role_words("Landlord's Name") == ["landlord"]
    assert slot_kind("arrival date") == "DATE" and slot_kind("pickup time") == "TIME"
    assert slot_kind("amount owed") == "MONEY" and slot_kind("reason") is None
    assert role_words("Food Bank Coordinator's Name")[0] == "coordinator"  # the head noun first


def test_typed_values_come_from_the_notes_without_a_model(embedder) -> None:
    def value(label: str, sentence: str) -> str | None:
        return typed_value(embedder, Slot(f"[{label}]", label, sentence), NOTES)

    assert value("Landlord's Name", "Dear [Landlord's Name],") == "Mr. Holm"
    assert value("arrival date", "My parents arrive on [arrival date].") == "March 14"
    assert value("teacher's name", "Dear [teacher's name],") is None  # nobody in the notes


def test_an_unfillable_slot_goes_with_its_sentence_or_its_greeting() -> None:
    text = drop_slot(DRAFT, "[reason for the fault]")
    assert "It is" not in text and "Could you fix the heating before then?" in text
    assert drop_slot("Dear [Landlord's Name],\n\nHi.", "[Landlord's Name]").startswith("Hello,")
    assert drop_slot("Items:\n- [item one]\n- milk", "[item one]") == "Items:\n- milk"


def test_fill_uses_the_notes_the_name_and_drops_the_rest(embedder, smol_generate) -> None:
    filled = slots.fill(smol_generate, embedder, DRAFT, NOTES, INSTRUCTION, name="Daniela Ferreira-Lindqvist")
    assert filled.values["[Landlord's Name]"] == "Mr. Holm"
    assert filled.values["[arrival date]"] == "March 14"
    assert filled.values["[your name]"] == "Daniela Ferreira-Lindqvist"
    assert "[" not in filled.text  # every slot is filled or gone
    assert "I can pay" not in filled.text  # the sentence with the made-up placeholder went with it
    assert "Dear Mr. Holm," in filled.text and filled.text.endswith("Daniela Ferreira-Lindqvist")


def test_a_value_must_come_from_the_notes() -> None:
    assert slots.clean_value("Mr. Holm.", NOTES) == "Mr. Holm"
    assert slots.clean_value("NONE", NOTES) is None
    assert slots.clean_value("Ms. Jensen", NOTES) is None  # not in the notes: never written into a letter
