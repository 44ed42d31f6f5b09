"""Slot drafts: the cloud writes the whole text with a bracketed slot for each detail it cannot know;
the edge fills each slot from the notes with a short extraction prompt (one value per prompt),
drops what the notes cannot fill, and signs with the user's name.

The cloud sees only the (redacted) instruction and `SLOT_SYSTEM`; the notes stay on the edge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from edge_agent.collab import CloudCall, Generate, details
from edge_agent.collab.focus import Embedder, FocusSettings, is_profile_line, relevant_lines
from edge_agent.privacy.vault import TOKEN_RE as GUARD_PLACEHOLDER
from edge_agent.privacy.words import STOPWORDS
from runtime.llm import ChatMessage

SLOT_SYSTEM = """You are a writing assistant. You cannot see the user's personal details. Write the complete text the user asks for, ready to send. Wherever it needs a detail only the user knows (a name, date, time, place, amount, or what happened), write a short description of that detail in square brackets instead, like [landlord's name] or [date the guests arrive]. Never make such details up. Keep placeholders such as [PERSON_1] exactly as written.

Example request: Write a message to my friend asking to borrow her car this weekend.
Example answer:
Hi [friend's name],

Could I borrow your car this weekend? I need it for [reason] on [day], and I would pick it up at [pickup time] and bring it back by [return time] with a full tank.

Thanks so much,
[your name]"""

FILL_SYSTEM = (
    "You fill in one blank in a text the user is writing, using only the user's notes below. "
    "Reply with the words that go in the blank, copied exactly from the notes (a name, date, time, "
    "place, amount or a few words), and nothing else. If the notes do not say, reply NONE.\n\n"
    "The user's notes:\n{notes}"
)
FILL_USER = 'The user asked: {instruction}\nThe text says: "{sentence}"\nWhat goes in {slot}?'

_SLOT = re.compile(r"\[([^\[\]\n]{2,60})\]")
_SELF = re.compile(r"\b(your|my|sender'?s?|user'?s?)\b.*\bname\b|^name$|^signature$", re.I)
_NONE = re.compile(r"^\W*(none|n/?a|unknown|not (?:given|specified|mentioned|stated|available)|no\b)", re.I)
_SENTENCE = re.compile(r"[^.!?\n]*\[[^\[\]\n]+\][^.!?\n]*[.!?]?")
_GREETING = re.compile(r"^(\s*(?:dear|hi|hello|hey)\b)[^\n]*$", re.I)


@dataclass(frozen=True)
class Slot:
    """One bracketed detail of a draft: its text with brackets, and the sentence around it."""

    text: str
    label: str
    sentence: str


@dataclass
class FilledDraft:
    """A text with its slots filled or dropped."""

    text: str
    values: dict[str, str] = field(default_factory=dict)  # slot text -> value
    dropped: list[str] = field(default_factory=list)  # slot texts the notes could not fill


def draft(cloud: CloudCall, instruction: str, max_tokens: int = 160) -> str:
    """The cloud's slot draft for the instruction (the CloudCall redacts it)."""
    return cloud(instruction, SLOT_SYSTEM, max_tokens)


def find_slots(text: str) -> list[Slot]:
    """The distinct slots of a draft in order of appearance.

    Call it on restored text: a guard placeholder still there is one the guard never issued
    (the cloud made it up), and it is a slot too (one that only `drop_slot` can handle).
    """
    slots: dict[str, Slot] = {}
    for m in _SLOT.finditer(text):
        whole = m.group(0)
        if whole not in slots:
            slots[whole] = Slot(whole, m.group(1).strip(), _sentence_around(text, m.start(), m.end()))
    return list(slots.values())


def is_placeholder(slot: Slot) -> bool:
    """A guard-style placeholder ([PRIVATE_5]) or a bare [PLACEHOLDER]: nothing to fill it from."""
    return bool(GUARD_PLACEHOLDER.fullmatch(slot.text)) or slot.label.casefold() in {"placeholder", "redacted"}


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence (or line) that holds text[start:end]."""
    left = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    rights = [i for i in (text.find(c, end) for c in ".!?\n") if i >= 0]
    right = min(rights) + 1 if rights else len(text)
    return text[left:right].strip()


_KIND_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (details.TIME, re.compile(r"\btimes?\b|\bhour|o'clock", re.I)),
    (details.DATE, re.compile(r"\bdates?\b|\bday\b|deadline|\bwhen\b|\bmonth\b", re.I)),
    (details.MONEY, re.compile(r"amount|cost|price|\bfee|total|\bsum\b|share|deposit|payment|salary|money", re.I)),
    (details.PERCENT, re.compile(r"percent|discount|\brate\b", re.I)),
    (details.COUNT, re.compile(r"number of|how many|\bcount\b", re.I)),
    (details.NAME, re.compile(
        r"name|\bwho\b|place|location|venue|city|destination|company|organi[sz]ation|hospital|clinic|school|"
        r"hotel|restaurant|airline|employer", re.I)),
)
_LABEL_FILLER = frozenset({"name", "names", "full", "first", "last", "s", "the", "of", "your", "my", "a", "an", "to",
                           "for", "and", "or", "specific", "new", "current"})


def slot_kind(label: str) -> str | None:
    """The kind of detail a slot asks for, from its label ("landlord's name" -> NAME), or None."""
    for kind, cue in _KIND_CUES:
        if cue.search(label):
            return kind
    return None


def role_words(label: str, keep_cues: bool = False) -> list[str]:
    """The label's words that may name the detail's owner in the notes ("teacher" of "[Teacher's Name]"),
    the head noun (last) first; `keep_cues` keeps kind words such as "clinic" too."""
    words = [w for w in re.findall(r"[^\W\d_]+", label.casefold()) if w not in _LABEL_FILLER]
    if not keep_cues:
        words = [w for w in words if not any(cue.fullmatch(w) for _, cue in _KIND_CUES)]
    return [w for w in reversed(words) if len(w) >= 3]


def _find_word(word: str, line: str) -> re.Match[str] | None:
    stem = re.escape(word[:5]) if len(word) > 5 else re.escape(word)  # neighbour / neighbor
    return re.search(rf"\b{stem}\w*", line, re.I)


def typed_value(embedder: Embedder, slot: Slot, lines: Sequence[str]) -> str | None:
    """Fill a name, date, time, amount, percentage or count slot from the notes without a model.

    Names: the first capitalized name after the slot's role word ("teacher Ms. Delacroix",
    "Landlord: Mr. Holm"). Other kinds: the first detail of that kind in the notes line most
    similar to the slot and its sentence (after the role word when the line has it).
    """
    kind = slot_kind(slot.label)
    if kind is None:
        return None
    lines = [line for line in lines if line.strip() and not is_profile_line(line)]
    if not lines:
        return None
    roles = role_words(slot.label)
    if kind == details.NAME:
        for role in roles or role_words(slot.label, keep_cues=True):
            for line in lines:
                m = _find_word(role, line)
                if m:
                    name = _name_at(line, m.start()) or _first_name_after(line, m.end())
                    if name:
                        return name
        return None
    query = f"{slot.label}: {slot.sentence}"
    vectors = embedder.embed([query] + list(lines))
    order = np.argsort(-(vectors[1:] @ vectors[0]), kind="stable")
    for i in order:
        line = lines[int(i)]
        found = [d for d in details.line_details(line, lines) if d.kind == kind]
        if kind == details.DATE and not found:
            found = details.weekdays(line)
        if found:
            anchor = next((m.end() for m in (_find_word(r, line) for r in roles) if m), 0)
            after = [d for d in found if d.start >= anchor]
            return (after or found)[0].text
    return None


def _name_at(line: str, position: int) -> str | None:
    """A capitalized multi-word name that contains `position` ("Sandton Clinic" for "clinic")."""
    for m in details.NAME_RE.finditer(line):
        if m.start() <= position < m.end() and " " in m.group(0) and line[position].isupper():
            return m.group(0)
    return None


def _first_name_after(line: str, position: int) -> str | None:
    """The first capitalized name after `position` that is not an ordinary word ("Saturday")."""
    for m in details.NAME_RE.finditer(line, position):
        text = re.sub(r"['’]s$", "", m.group(0).rstrip("'’"))
        first = text.split()[0].rstrip(".").casefold()
        if first not in STOPWORDS or (" " in text and first in {"mr", "mrs", "ms", "dr", "prof"}):
            return text
    return None


def fill_messages(notes: Sequence[str], instruction: str, slot: Slot) -> list[ChatMessage]:
    """One extraction prompt; the notes come first so consecutive prompts share a cached prefix."""
    system = FILL_SYSTEM.format(notes="\n".join(f"- {line}" for line in notes))
    user = FILL_USER.format(instruction=instruction, sentence=slot.sentence, slot=slot.text)
    return [ChatMessage("system", system), ChatMessage("user", user)]


def slot_lines(embedder: Embedder, slot: Slot, notes: Sequence[str], k: int = 3) -> list[str]:
    """The k non-profile notes lines most similar to the slot and its sentence, in notes order."""
    return relevant_lines(embedder, f"{slot.label}: {slot.sentence}", notes, FocusSettings(k=k))


def clean_value(raw: str, notes: Sequence[str]) -> str | None:
    """The extracted value, or None when the model said NONE or wrote something not in the notes."""
    value = raw.strip().splitlines()[0].strip() if raw.strip() else ""
    value = value.strip(" \"'`*").rstrip(".,;:")
    value = re.sub(r"^\[|\]$", "", value).strip()
    if not value or _NONE.match(value) or len(value) > 80:
        return None
    return value if _grounded(value, notes) else None


def _grounded(value: str, notes: Sequence[str]) -> bool:
    """Most of the value's words occur in the notes (a small model may paraphrase a little)."""
    words = re.findall(r"[^\W_]+", value.casefold())
    if not words:
        return False
    text = " ".join(notes).casefold()
    found = sum(1 for w in words if w in text)
    return found / len(words) >= 0.6


def fill(
    generate: Generate, embedder: Embedder, text: str, notes: Sequence[str], instruction: str, name: str = "",
    max_slots: int = 8, k: int = 3,
) -> FilledDraft:
    """Fill the slots of `text` from the notes lines `notes`.

    '[your name]'-like slots take the user's own name; names, dates, times, amounts take
    `typed_value`; any other slot is one extraction prompt to the edge over the `k` lines
    most similar to the slot. What cannot be filled is dropped (see `drop_slot`).
    """
    result = FilledDraft(text)
    for slot in find_slots(text)[:max_slots]:
        sentence = slot.sentence
        for done, value in result.values.items():  # earlier values help find the right line
            sentence = sentence.replace(done, value)
        slot = Slot(slot.text, slot.label, sentence)
        if is_placeholder(slot):
            value = None
        elif _SELF.search(slot.label):
            value = name or None
        elif slot_kind(slot.label) is not None:
            value = typed_value(embedder, slot, notes)
        else:
            near = slot_lines(embedder, slot, notes, k)
            value = clean_value(generate(fill_messages(near, instruction, slot), 24), notes) if near else None
        if value:
            result.values[slot.text] = value
        else:
            result.dropped.append(slot.text)
    filled = text
    for slot_text, value in result.values.items():
        filled = filled.replace(slot_text, value)
    for slot_text in result.dropped:
        filled = drop_slot(filled, slot_text)
    for m in list(_SLOT.finditer(filled)):  # slots beyond max_slots
        filled = drop_slot(filled, m.group(0))
    result.text = _close_gaps(filled)
    return result


def drop_slot(text: str, slot_text: str) -> str:
    """Remove an unfillable slot: from a greeting ('Dear [x],' -> 'Hello,'), as a line of its own,
    or with the sentence that holds it."""
    out_lines = []
    for line in text.split("\n"):
        if slot_text not in line:
            out_lines.append(line)
            continue
        greeting = _GREETING.match(line)
        if greeting and len(line) < 60:
            out_lines.append("Hello," if line.rstrip().endswith(",") else "Hello")
            continue
        stripped = line.replace(slot_text, "").strip(" \t-*•:,;0123456789.")
        if not re.search(r"[^\W\d_]{3,}", stripped):  # the line was little more than the slot
            continue
        kept = _SENTENCE.sub(lambda m: "" if slot_text in m.group(0) else m.group(0), line)
        if re.search(r"[^\W\d_]{3,}", kept.strip(" \t-*•")):
            out_lines.append(re.sub(r"[ \t]{2,}", " ", kept).rstrip())
    return "\n".join(out_lines)


def _close_gaps(text: str) -> str:
    """Collapse the blank lines and stray spaces that dropping sentences leaves behind."""
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = re.sub(r" +([,.!?])", r"\1", text)
    return text.strip()
