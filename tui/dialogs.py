"""Small modal dialogs: ask for a line of text, confirm, pick a strategy, write a note."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList, TextArea
from textual.widgets.option_list import Option

from tui.backend import StrategyInfo


class TextPrompt(ModalScreen[str | None]):
    """One line of text; Enter accepts, Esc cancels (returns None)."""

    AUTO_FOCUS = "*"  # the app's own AUTO_FOCUS is the chat prompt

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text, self.value, self.placeholder = title, value, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, placeholder=self.placeholder)
            yield Label("Enter to accept · Esc to cancel", classes="dialog-help")
        yield Footer()

    @on(Input.Submitted)
    def accept(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    """y / Enter confirms; n / Esc declines."""

    AUTO_FOCUS = "*"  # the app's own AUTO_FOCUS is the chat prompt

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Yes", key_display="y"),
        Binding("n,escape", "answer(False)", "No", key_display="n"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title", markup=False)
            yield Label("y / Enter: yes · n / Esc: no", classes="dialog-help")
        yield Footer()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def strategy_row(info: StrategyInfo) -> Table:
    """One option: the name, and beside it what the strategy does (and a warning for opt-in ones)."""
    row = Table.grid(padding=(0, 1))
    row.add_column(width=18, no_wrap=True)
    row.add_column(ratio=1)
    about = Text(info.description)
    if info.opt_in:
        about.append("\nOPT-IN: sends your private notes to the cloud", style="bold red")
        if not info.enabled:
            about.append(" (off: set allow_context = true under [cloud])", style="red")
    row.add_row(Text(info.name, style="bold"), about)
    return row


class StrategyPicker(ModalScreen[str | None]):
    """The registered strategies with what each sends to the cloud; Enter picks one."""

    AUTO_FOCUS = "*"  # the app's own AUTO_FOCUS is the chat prompt

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, strategies: Sequence[StrategyInfo], current: str) -> None:
        super().__init__()
        self.strategies = strategies
        self.current = current

    def compose(self) -> ComposeResult:
        options = [Option(strategy_row(info), id=info.name, disabled=not info.enabled) for info in self.strategies]
        with Vertical(classes="dialog wide"):
            yield Label("How should tandem answer?", classes="dialog-title")
            yield OptionList(*options)
            yield Label("↑↓ choose · Enter pick · Esc cancel", classes="dialog-help")
        yield Footer()

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        names = [info.name for info in self.strategies]
        if self.current in names:
            option_list.highlighted = names.index(self.current)

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class NoteEditor(ModalScreen[tuple[str, str] | None]):
    """A private note: a title line and the text. Ctrl+S saves, Esc cancels."""

    AUTO_FOCUS = "*"  # the app's own AUTO_FOCUS is the chat prompt

    BINDINGS = [
        Binding("ctrl+s", "save", "Save note"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("New private note (stays on this device)", classes="dialog-title")
            yield Input(placeholder="title (optional)", id="note-title")
            yield TextArea(id="note-text", soft_wrap=True)
            yield Label("Tab moves to the text · Ctrl+S saves · Esc cancels", classes="dialog-help")
        yield Footer()

    def action_save(self) -> None:
        text = self.query_one("#note-text", TextArea).text
        if not text.strip():
            self.notify("The note is empty: write something first.", severity="warning")
            return
        self.dismiss((self.query_one("#note-title", Input).value.strip(), text))

    def action_cancel(self) -> None:
        self.dismiss(None)
