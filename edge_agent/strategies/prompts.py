"""The prompts the edge model sees. Private context appears only here, on the device.

A conversation's prompt is laid out so that each follow-up extends the previous one:

    system: instructions + the conversation's notes     (the same for every turn)
    [system: notes first needed by turn 1..n-1]  user: turn i  assistant: answer i   (the history)
    [system: notes first needed now] [system: the cloud's outline]  user: the new instruction

Whatever changes from turn to turn (newly retrieved notes, an outline) comes after the history,
so the KV state the previous answer left (prompt + answer) is a prefix of the next prompt and
only the new turn is evaluated. A first turn (no history) is laid out as before history existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from edge_agent.context import PrivateContext
from runtime.llm import ChatMessage

if TYPE_CHECKING:
    from edge_agent.strategies.base import AskRequest, HistoryTurn

EDGE_SYSTEM = (
    "You are tandem, a private writing assistant running on the user's own device. "
    "Write exactly what the user asks for, in their voice, ready to send. "
    "Use the concrete details (names, dates, times, places, amounts) from the user's private notes "
    "that the request needs, copied exactly; leave out notes that are not relevant."
)


def _notes_block(context: PrivateContext) -> str:
    return f"\n\nThe user's private notes:\n{context.text}" if context else ""


MORE_NOTES = "More of the user's private notes, for what follows:\n"
OUTLINE = (
    "A larger model that cannot see the notes suggested this outline. Follow it where it "
    "fits, fill in the real details from the notes, and drop points that do not apply:\n"
)


def _history(history: Sequence[HistoryTurn]) -> list[ChatMessage]:
    messages: list[ChatMessage] = []
    for turn in history:
        if turn.notes:
            messages.append(ChatMessage("system", MORE_NOTES + turn.notes))
        messages += [ChatMessage("user", turn.instruction), ChatMessage("assistant", turn.answer)]
    return messages


def edge_messages(
    instruction: str, context: PrivateContext, history: Sequence[HistoryTurn] = (), turn_notes: str = ""
) -> list[ChatMessage]:
    """The edge model alone: notes in the system message, the history, the instruction as the user turn."""
    messages = [ChatMessage("system", EDGE_SYSTEM + _notes_block(context)), *_history(history)]
    if turn_notes:
        messages.append(ChatMessage("system", MORE_NOTES + turn_notes))
    return messages + [ChatMessage("user", instruction)]


def sketch_messages(
    instruction: str, context: PrivateContext, outline: Sequence[str],
    history: Sequence[HistoryTurn] = (), turn_notes: str = "",
) -> list[ChatMessage]:
    """CoGenesis sketch: the cloud's context-free outline plus the private notes (and the history)."""
    plan = OUTLINE + "\n".join(f"- {point}" for point in outline)
    if not history and not turn_notes:  # a first turn: the outline in the system message, as always
        return [ChatMessage("system", EDGE_SYSTEM + _notes_block(context) + "\n\n" + plan),
                ChatMessage("user", instruction)]
    messages = edge_messages(instruction, context, history, turn_notes)
    return messages[:-1] + [ChatMessage("system", plan), messages[-1]]


def request_messages(request: AskRequest, outline: Sequence[str] = ()) -> list[ChatMessage]:
    """The edge's prompt for a request: its notes, history and instruction (and the outline, if any)."""
    if outline:
        return sketch_messages(request.instruction, request.context, outline, request.history, request.turn_notes)
    return edge_messages(request.instruction, request.context, request.history, request.turn_notes)


def cloud_context_system(context: PrivateContext) -> str:
    """The system message of the opt-in baseline (it carries the notes to the cloud)."""
    return EDGE_SYSTEM + _notes_block(context)


CLOUD_PUBLIC_SYSTEM = (
    "You are a helpful writing assistant. Write exactly what the user asks for, ready to send. "
    "Keep bracketed placeholders such as [PERSON_1] exactly as written."
)
