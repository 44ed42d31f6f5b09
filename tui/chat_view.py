"""The conversation: the user's turns, and answers that stream in with their badges."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markdown_it import MarkdownIt
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message as TextualMessage
from textual.widget import Widget
from textual.widgets import Markdown, Static

from edge_agent.store import Message
from tui.badges import badge_text


def keep_line_breaks(state) -> None:
    """A markdown-it core rule: every newline inside a paragraph is a line break.

    Answers are letters and notes more often than Markdown documents; "Best regards,\nDana"
    must not become "Best regards, Dana".
    """
    for token in state.tokens:
        for child in token.children or ():
            if child.type == "softbreak":
                child.type = "hardbreak"


def answer_parser() -> MarkdownIt:
    parser = MarkdownIt("gfm-like")
    parser.core.ruler.push("keep_line_breaks", keep_line_breaks)
    return parser


NEW_CHAT_HINT = (
    "New chat. Ask for something to write.\n"
    "Ctrl+O: your private notes (they stay on this device) · Ctrl+T: how answers are made · "
    "Ctrl+P: what left the device · F1: all keys"
)


class UserTurn(Static):
    """What the user asked."""

    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False)


class BadgeLine(Widget):
    """The badges under an answer, wrapped between badges to the width available."""

    DEFAULT_CSS = "BadgeLine { height: auto; }"

    def __init__(self, meta: dict[str, Any], note: str = "") -> None:
        super().__init__()
        self.meta, self.note = meta, note

    def show(self, meta: dict[str, Any], note: str = "") -> None:
        self.meta, self.note = meta, note
        self.refresh(layout=True)

    def _text(self, width: int) -> Text:
        return Text(self.note, style="italic") if self.note else badge_text(self.meta, width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._text(width).wrap(self.app.console, width)) if width else 0

    def render(self) -> Text:
        return self._text(self.content_size.width)


def notes_used_text(meta: dict[str, Any]) -> str:
    """"notes used:" and the notes lines the answer was checked against, one a line ("" if none)."""
    lines = [str(line) for line in meta.get("notes_used") or []]
    return "notes used:\n" + "\n".join(f"  · {line}" for line in lines) if lines else ""


class AnswerView(Vertical):
    """One answer: its text (Markdown, streamed) and a line of badges under it."""

    class Selected(TextualMessage):
        def __init__(self, answer: AnswerView) -> None:
            super().__init__()
            self.answer = answer

    def __init__(self, question: str, text: str = "", meta: dict[str, Any] | None = None,
                 complete: bool = True, streaming: bool = False, question_id: int = 0) -> None:
        super().__init__()
        self.question = question
        self.question_id = question_id  # the instruction's message in the store (0 until it is known)
        self.initial_text = text
        self.meta: dict[str, Any] = dict(meta or {})
        self.complete = complete
        self.streaming = streaming  # True while the answer is being written

    def compose(self) -> ComposeResult:
        yield Markdown(self.initial_text, classes="answer-text", parser_factory=answer_parser)
        if notes_used_text(self.meta):
            yield Static(notes_used_text(self.meta), classes="answer-notes", markup=False)
        yield BadgeLine(self.meta, "writing…" if self.streaming else "")

    @property
    def body(self) -> Markdown:
        return self.query_one(Markdown)

    @property
    def request_id(self) -> str:
        return str(self.meta.get("request_id") or "")

    def waiting(self, note: str) -> None:
        self.query_one(BadgeLine).show(self.meta, note)

    def finish(self, meta: dict[str, Any], complete: bool = True) -> None:
        self.meta = dict(meta)
        self.complete = complete
        self.streaming = False
        self.query_one(BadgeLine).show(self.meta)
        notes = notes_used_text(meta)
        if notes and not self.query(".answer-notes"):
            self.mount(Static(notes, classes="answer-notes", markup=False), before=self.query_one(BadgeLine))
        if meta.get("error"):
            self.mount(Static(f"⚠ {meta['error']}", classes="answer-error", markup=False),
                       before=self.query_one(BadgeLine))

    def on_click(self) -> None:
        self.post_message(self.Selected(self))


class ChatLog(VerticalScroll):
    """The scrolling conversation. Stays anchored to the bottom while answers stream."""

    can_focus = True

    def on_mount(self) -> None:
        self.anchor()

    @property
    def answers(self) -> list[AnswerView]:
        return list(self.query(AnswerView))

    async def show_messages(self, messages: Iterable[Message]) -> None:
        """Replace the log with a stored conversation."""
        await self.remove_children()
        widgets = []
        question, question_id = "", 0
        for message in messages:
            if message.role == "user":
                question, question_id = message.text, message.id
                widgets.append(UserTurn(message.text))
            elif message.role == "assistant":
                widgets.append(AnswerView(question, message.text, message.meta, message.complete, question_id=question_id))
        if not widgets:
            widgets.append(Static(NEW_CHAT_HINT, classes="hint"))
        await self.mount_all(widgets)
        self.anchor()

    async def add_turn(self, question: str, strategy: str) -> AnswerView:
        """Show the user's question and an empty answer to stream into."""
        for hint in self.query(".hint"):
            await hint.remove()
        answer = AnswerView(question, meta={"strategy": strategy}, complete=False, streaming=True)
        await self.mount_all([UserTurn(question), answer])
        self.anchor()
        return answer
