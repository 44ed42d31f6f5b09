"""Finish any strategy's answer on the edge: fill its bracketed slots from the notes, tidy it, and
repair it with the relevant notes lines it leaves out. Nothing is sent anywhere.

    answer (from edge, sketch, fuse, a slot draft, ...)
      -> slots.fill: "[Landlord's Name]" -> "Mr. Holm", "[your name]" -> the user's name, unknown -> dropped
      -> tidy: repeated sentences and an unfinished last line removed
      -> repair: the relevant lines it misses (names, dates, times, amounts...) added as sentences
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from edge_agent.collab import Generate, focus, repair, slots, tidy
from edge_agent.collab.focus import Embedder, FocusSettings


@dataclass(frozen=True)
class FinishSettings:
    """`focus` picks the lines a repair may add; `max_lines` bounds the repair."""

    focus: FocusSettings = FocusSettings(k=4)
    max_lines: int = 3
    fill: bool = True
    tidy: bool = True
    repair: bool = True


@dataclass
class Finished:
    """The finished answer and what each step did to it."""

    text: str
    relevant: list[str] = field(default_factory=list)  # the notes lines judged relevant (shown as "notes used")
    values: dict[str, str] = field(default_factory=dict)  # slot -> value filled in
    dropped: list[str] = field(default_factory=list)  # slots the notes could not fill
    added: list[str] = field(default_factory=list)  # sentences or items the repair added
    edge_calls: int = 0


def finish_answer(
    generate: Generate, embedder: Embedder, answer: str, instruction: str, notes: Sequence[str],
    settings: FinishSettings = FinishSettings(), relevant: Sequence[str] | None = None,
) -> Finished:
    """Fill, tidy and repair `answer`; `notes` are the notes lines, `relevant` the lines a repair may
    add (computed with `settings.focus` when not given)."""
    calls = 0

    def counted(messages, max_tokens):
        nonlocal calls
        calls += 1
        return generate(messages, max_tokens)

    lines = list(relevant) if relevant is not None else focus.relevant_lines(embedder, instruction, notes, settings.focus)
    result = Finished(answer, relevant=lines)
    text = answer
    if settings.fill and slots.find_slots(text):
        filled = slots.fill(counted, embedder, text, notes, instruction, focus.user_name(notes))
        text, result.values, result.dropped = filled.text, filled.values, filled.dropped
    if settings.tidy:
        text = tidy.tidy(text)
    if settings.repair:
        fixed = repair.repair(counted, text, lines, notes, settings.max_lines)
        text, result.added = fixed.text, fixed.added
    result.text, result.edge_calls = text, calls
    return result
