"""The key bindings, read from the widgets that define them (so this stays true)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

ABOUT = (
    "Answers come from the edge model on this device; strategies that use the cloud send only "
    "redacted, context-free text (see it with Ctrl+P). Esc stops an answer."
)


KEY_NAMES = {"escape": "Esc", "delete": "Del", "pageup": "PgUp", "pagedown": "PgDn", "left": "←",
             "right": "→", "up": "↑", "down": "↓", "enter": "Enter", "tab": "Tab"}


def key_label(keys: str) -> str:
    """'delete,d' -> 'Del / d', 'ctrl+n' -> 'Ctrl+N', 'f1' -> 'F1'."""
    names = []
    for key in keys.split(","):
        *mods, last = key.strip().split("+")
        last = KEY_NAMES.get(last, last.upper() if (mods or len(last) > 1) else last)
        names.append("+".join([m.capitalize() for m in mods] + [last]))
    return " / ".join(names)


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    rows = []
    for binding in bindings:
        if isinstance(binding, Binding) and binding.description:
            rows.append((key_label(binding.key), binding.tooltip or binding.description))
    return rows


class HelpScreen(ModalScreen[None]):
    """Every binding, grouped by where it works."""

    AUTO_FOCUS = "*"  # the app's own AUTO_FOCUS is the chat prompt

    BINDINGS = [Binding("escape,f1,q", "app.pop_screen", "Close", key_display="esc")]

    def __init__(self, sections: Sequence[tuple[str, Iterable[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold #7aa2f7", no_wrap=True)
        table.add_column()
        for title, bindings in self.sections:
            rows = binding_rows(bindings)
            if not rows:
                continue
            table.add_row(Text(title, style="bold underline"), "")
            for key, description in rows:
                table.add_row(key, description)
            table.add_row("", "")
        return table

    def help_text(self, width: int = 80) -> str:
        """The table as plain text."""
        console = Console(width=width, file=io.StringIO(), color_system=None)
        console.print(self.table())
        return console.file.getvalue()

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide tall"):
            yield Label("tandem chat: keys", classes="dialog-title")
            yield Static(ABOUT, classes="help-about")
            yield Static(self.table(), id="help-keys")
        yield Footer()
