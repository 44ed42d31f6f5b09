from edge_agent.collab import slots
from edge_agent.collab.finish import FinishSettings, finish_answer
from edge_agent.collab.repair import coverage

from .conftest import INSTRUCTION, NOTES

EDGE_ANSWER = """Subject: Request to Fix Heating

Dear [Landlord's Name],

I am writing to request assistance with the heating in my apartment. I am writing to request assistance with the heating in my apartment.

Thank you for your time and assistance.

Best regards,

[Your Name]"""


def test_finishing_fills_tidies_and_repairs_an_edge_answer(embedder, smol_generate) -> None:
    done = finish_answer(smol_generate, embedder, EDGE_ANSWER, INSTRUCTION, NOTES)
    assert done.values == {"[Landlord's Name]": "Mr. Holm", "[Your Name]": "Daniela Ferreira-Lindqvist"}
    assert not slots.find_slots(done.text)
    assert done.text.count("I am writing to request assistance") == 1
    assert done.relevant[:3] == NOTES[3:6]
    for line in NOTES[3:6]:  # landlord, radiator, guests: all there after the repair
        assert coverage(done.text, line, NOTES).covered
    assert done.text.endswith("Best regards,\n\nDaniela Ferreira-Lindqvist")
    assert done.edge_calls == len(done.added)  # typed slots and the name need no model call


def test_each_step_can_be_turned_off(embedder, smol_generate) -> None:
    off = FinishSettings(fill=False, tidy=False, repair=False)
    assert finish_answer(smol_generate, embedder, EDGE_ANSWER, INSTRUCTION, NOTES, off).text == EDGE_ANSWER
