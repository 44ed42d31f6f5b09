"""The prompts the edge model sees. Private context appears only here, on the device."""

from __future__ import annotations

from collections.abc import Sequence

from edge_agent.context import PrivateContext
from runtime.llm import ChatMessage

EDGE_SYSTEM = (
    "You are tandem, a private writing assistant running on the user's own device. "
    "Write exactly what the user asks for, in their voice, ready to send. "
    "Use the concrete details (names, dates, times, places, amounts) from the user's private notes "
    "that the request needs, copied exactly; leave out notes that are not relevant."
)


def _notes_block(context: PrivateContext) -> str:
    return f"\n\nThe user's private notes:\n{context.text}" if context else ""


def edge_messages(instruction: str, context: PrivateContext) -> list[ChatMessage]:
    """The edge model alone: notes in the system message, the instruction as the user turn."""
    return [ChatMessage("system", EDGE_SYSTEM + _notes_block(context)), ChatMessage("user", instruction)]


def sketch_messages(instruction: str, context: PrivateContext, outline: Sequence[str]) -> list[ChatMessage]:
    """CoGenesis sketch: the cloud's context-free outline plus the private notes."""
    plan = "\n".join(f"- {point}" for point in outline)
    system = (
        EDGE_SYSTEM
        + _notes_block(context)
        + "\n\nA larger model that cannot see the notes suggested this outline. Follow it where it "
        "fits, fill in the real details from the notes, and drop points that do not apply:\n"
        + plan
    )
    return [ChatMessage("system", system), ChatMessage("user", instruction)]


def cloud_context_system(context: PrivateContext) -> str:
    """The system message of the opt-in baseline (it carries the notes to the cloud)."""
    return EDGE_SYSTEM + _notes_block(context)


CLOUD_PUBLIC_SYSTEM = (
    "You are a helpful writing assistant. Write exactly what the user asks for, ready to send. "
    "Keep bracketed placeholders such as [PERSON_1] exactly as written."
)
