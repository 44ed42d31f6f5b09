"""The edge's prompts with a conversation: each turn's prompt extends the previous prompt and answer,
so the KV state an answer leaves is a prefix of the next prompt; a first turn is as it always was."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.context import PrivateContext
from edge_agent.local_model import EdgeModel
from edge_agent.strategies import AskRequest
from edge_agent.strategies.base import HistoryTurn
from edge_agent.strategies.prompts import EDGE_SYSTEM, MORE_NOTES, OUTLINE, request_messages, sketch_messages
from runtime.llm import ChatMessage

NOTES = PrivateContext("Landlord: Mrs Alvarez, flat 3B.")


def test_a_first_turn_is_laid_out_as_before_history_existed() -> None:
    system = EDGE_SYSTEM + "\n\nThe user's private notes:\n" + NOTES.text
    assert request_messages(AskRequest("Email my landlord", NOTES)) == [
        ChatMessage("system", system), ChatMessage("user", "Email my landlord")]
    assert sketch_messages("Email my landlord", NOTES, ["greet", "ask"]) == [
        ChatMessage("system", system + "\n\n" + OUTLINE + "- greet\n- ask"), ChatMessage("user", "Email my landlord")]


def test_what_changes_per_turn_comes_after_the_history() -> None:
    history = (HistoryTurn("Email my landlord", "Dear Mrs Alvarez, ..."),
               HistoryTurn("Mention the dentist", "... and Friday I am at the dentist.", notes="Dentist Friday 10am"))
    request = AskRequest("Shorter", NOTES, history=history, turn_notes="Flat 3B has a boiler.")
    roles = [(m.role, m.content[:12]) for m in request_messages(request, outline=["one line"])]
    assert roles == [("system", EDGE_SYSTEM[:12]), ("user", "Email my lan"), ("assistant", "Dear Mrs Alv"),
                     ("system", MORE_NOTES[:12]), ("user", "Mention the "), ("assistant", "... and Frid"),
                     ("system", MORE_NOTES[:12]), ("system", OUTLINE[:12]), ("user", "Shorter")]
    assert request_messages(request)[0] == request_messages(AskRequest("x", NOTES))[0]  # the same system message


@pytest.fixture(scope="module")
def model(smol_path: Path) -> EdgeModel:
    edge = EdgeModel(smol_path, n_ctx=2048, n_threads=1)
    yield edge
    edge.close()


def test_the_next_prompt_starts_with_the_previous_prompt_answer_and_turn_separator(model: EdgeModel) -> None:
    answer = "Dear Mrs Alvarez, the heating in flat 3B is broken."
    first = AskRequest("Email my landlord", NOTES)
    second = AskRequest("Make it one line.", NOTES, history=(HistoryTurn(first.instruction, answer),))
    before = model.prompt_tokens(request_messages(first)) + model.llm.tokenize(
        answer.encode(), add_bos=False, special=False) + model.next_turn_tokens
    after = model.prompt_tokens(request_messages(second))
    assert after[:len(before)] == before
    assert model.llm.detokenize(model.next_turn_tokens, special=True) == b"<|im_end|>\n<|im_start|>user\n"
