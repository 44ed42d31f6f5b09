"""What left the device for one answer: the exact redacted payloads, from the audit log.

This is the product's promise made visible: every string the cloud received, as it was
sent, with the placeholders that stood in for private details highlighted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Label, Static

from edge_agent.privacy import PLACEHOLDER_KINDS, AuditEntry
from tui.badges import cloud_summary, wire
from tui.chat_view import AnswerView

PLACEHOLDER_RE = re.compile(rf"\[(?:{'|'.join(PLACEHOLDER_KINDS)})_\d+(?:_[A-Z]+)?\]")
PLACEHOLDER_STYLE = "bold #1a1b26 on #e0af68"


def highlight_placeholders(text: str) -> Text:
    """The text with every placeholder (e.g. [PERSON_1]) highlighted."""
    rich_text = Text(text)
    rich_text.highlight_regex(PLACEHOLDER_RE, PLACEHOLDER_STYLE)
    return rich_text


def local_clock(stamp: str) -> str:
    """'2025-01-02T10:11:12.345Z' -> '11:11:12' in the local time zone (the stamp itself if unparsable)."""
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return stamp


class EntryView(Vertical):
    """One message that left the device: when, which RPC, to whom, its size, and its payload as sent."""

    def __init__(self, entry: AuditEntry) -> None:
        super().__init__(classes="privacy-entry")
        self.entry = entry

    def compose(self) -> ComposeResult:
        entry = self.entry
        yield Static(Text.assemble(
            (f"{local_clock(entry.time)}  ", "#565f89"), (entry.rpc.rsplit("/", 1)[-1], "bold #bb9af7"),
            (f" → {entry.peer}  {len(entry.payload)} bytes", "#a9b1d6"),
        ), classes="privacy-header")
        yield Static(highlight_placeholders(entry.summary or "(empty message)"), classes="privacy-payload")

    @property
    def payload_text(self) -> Text:
        return self.query_one(".privacy-payload", Static).content

    @property
    def header_text(self) -> Text:
        return self.query_one(".privacy-header", Static).content


class PrivacyScreen(Screen):
    """The payloads behind one answer; ←/→ step through the conversation's answers."""

    AUTO_FOCUS = "*"  # the app's own AUTO_FOCUS is the chat prompt

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("left,[", "step(-1)", "Older answer", key_display="←"),
        Binding("right,]", "step(1)", "Newer answer", key_display="→"),
    ]

    def __init__(self, answers: Sequence[AnswerView], index: int,
                 entries_for: Callable[[str], list[AuditEntry]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.index = index
        self.entries_for = entries_for

    def compose(self) -> ComposeResult:
        yield Label("What left this device", classes="pane-title", id="privacy-title")
        yield Static(id="privacy-answer")
        yield VerticalScroll(id="privacy-entries")
        yield Footer()

    async def on_mount(self) -> None:
        await self.show_answer()

    async def action_step(self, delta: int) -> None:
        if self.answers and 0 <= self.index + delta < len(self.answers):
            self.index += delta
            await self.show_answer()

    async def show_answer(self) -> None:
        entries_view = self.query_one("#privacy-entries", VerticalScroll)
        await entries_view.remove_children()
        title = self.query_one("#privacy-title", Label)
        if not self.answers:
            title.update("What left this device")
            self.query_one("#privacy-answer", Static).update("No answers in this chat yet.")
            return
        answer = self.answers[self.index]
        meta = answer.meta
        title.update(f"What left this device · answer {self.index + 1} of {len(self.answers)}")
        question = answer.question.strip().splitlines()[0] if answer.question.strip() else ""
        about = Text.assemble(("Q: ", "bold"), (question[:200], ""), "\n",
                              (str(meta.get("strategy", "?")), "bold #7aa2f7"), " · ", cloud_summary(meta))
        if meta.get("request_id"):
            about.append(f" · request {meta['request_id']}", style="#565f89")
        self.query_one("#privacy-answer", Static).update(about)
        widgets: list[Widget] = []
        if meta.get("context_sent"):
            widgets.append(Static("OPT-IN BASELINE: this answer sent your private notes to the cloud.",
                                  classes="privacy-danger"))
        if meta.get("fallback"):
            widgets.append(Static(Text(f"Fallback: {meta['fallback']}"), classes="privacy-note"))
        entries = self.entries_for(answer.request_id) if answer.request_id else []
        if entries:
            widgets.extend(EntryView(entry) for entry in entries)
        elif wire(meta)[0]:
            widgets.append(Static("The audit log has no entries for this answer (was it moved or cleared?).",
                                  classes="privacy-danger"))
        else:
            widgets.append(Static("Nothing left the device for this answer: it was written on this device.",
                                  classes="privacy-none"))
        await entries_view.mount_all(widgets)
        entries_view.scroll_home(animate=False)
