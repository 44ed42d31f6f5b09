"""The private context: notes and documents the edge model may use. Nothing here is sent to the cloud."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DirectoryTree, Footer, Input, Label, ListItem, ListView, Static

from edge_agent.store import ContextItem, Store, StoreError
from tui.dialogs import Confirm, NoteEditor


class VisibleFiles(DirectoryTree):
    """A directory tree without hidden files and folders."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [path for path in paths if not path.name.startswith(".")]


class FilePicker(ModalScreen[Path | None]):
    """Type a path, or walk the tree: Enter on a file picks it."""

    AUTO_FOCUS = "*"  # the app's own AUTO_FOCUS is the chat prompt

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide tall"):
            yield Label("Add a document (a text or Markdown file)", classes="dialog-title")
            yield Input(placeholder="path, e.g. ~/notes/landlord.md — or Tab to browse", id="file-path")
            yield VisibleFiles(self.root, id="file-tree")
            yield Label("Enter picks · Tab switches between path and tree · Esc cancels", classes="dialog-help")
        yield Footer()

    @on(Input.Submitted)
    def typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(Path(event.value.strip()).expanduser())

    @on(DirectoryTree.FileSelected)
    def chosen(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(event.path)

    def action_cancel(self) -> None:
        self.dismiss(None)


def item_title(item: ContextItem) -> str:
    """The item's title, else the start of its first line."""
    lines = item.text.strip().splitlines()
    return item.title or (lines[0][:60] if lines else "") or "(untitled)"


class ContextRow(ListItem):
    def __init__(self, item: ContextItem) -> None:
        label = Text.assemble((f"{item.kind:<8} ", "bold #7aa2f7"), (item_title(item), ""),
                              (f"  {item.chunks} chunk{'s' if item.chunks != 1 else ''}", "#565f89"))
        super().__init__(Static(label))
        self.item = item


class ContextScreen(Screen):
    """List, add and remove private notes and documents."""

    AUTO_FOCUS = "*"  # the app's own AUTO_FOCUS is the chat prompt

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "add_note", "Add note"),
        Binding("f", "add_file", "Add file"),
        Binding("delete,d", "remove", "Remove"),
    ]

    def __init__(self, store: Store, browse_root: Path | None = None) -> None:
        super().__init__()
        self.store = store
        self.browse_root = browse_root or Path.cwd()

    def compose(self) -> ComposeResult:
        yield Label("Private context · used on this device only, never sent to the cloud", classes="pane-title")
        yield ListView(id="context-items")
        yield Static(id="context-preview")
        yield Footer()

    async def on_mount(self) -> None:
        await self.refresh_items()

    async def refresh_items(self, select: int | None = None) -> None:
        items = self.store.list_items()
        view = self.query_one("#context-items", ListView)
        await view.clear()
        if not items:
            self.query_one("#context-preview", Static).update(
                "No private context yet. Press a to write a note, f to add a document.")
            return
        await view.extend(ContextRow(item) for item in items)
        ids = [item.id for item in items]
        view.index = ids.index(select) if select in ids else 0
        view.focus()

    @on(ListView.Highlighted, "#context-items")
    def preview(self, event: ListView.Highlighted) -> None:
        if isinstance(event.item, ContextRow):
            item = event.item.item
            where = f"{item.source}\n" if item.source else ""
            self.query_one("#context-preview", Static).update(Text(where + item.text[:600]))

    @property
    def selected(self) -> ContextItem | None:
        row = self.query_one("#context-items", ListView).highlighted_child
        return row.item if isinstance(row, ContextRow) else None

    # Dialogs are pushed at once (not from a worker) so that keys typed right after go to them.

    def action_add_note(self) -> None:
        self.app.push_screen(NoteEditor(), self._note_written)

    async def _note_written(self, note: tuple[str, str] | None) -> None:
        if note is None:
            return
        title, text = note
        try:
            item = self.store.add_note(text, title=title)
        except StoreError as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        self.notify(f"Added note '{item_title(item)}'.", markup=False)
        await self.refresh_items(select=item.id)

    def action_add_file(self) -> None:
        self.app.push_screen(FilePicker(self.browse_root), self._file_picked)

    async def _file_picked(self, path: Path | None) -> None:
        if path is None:
            return
        try:
            item = self.store.add_document(path)
        except (StoreError, OSError) as exc:
            self.notify(str(exc), severity="error", timeout=8, markup=False)
            return
        self.notify(f"Added {path.name} ({item.chunks} chunk{'s' if item.chunks != 1 else ''}).", markup=False)
        await self.refresh_items(select=item.id)

    def action_remove(self) -> None:
        item = self.selected
        if item is None:
            return

        async def confirmed(yes: bool | None) -> None:
            if yes:
                self.store.remove_item(item.id)
                self.notify(f"Removed {item.kind} '{item_title(item)}'.", markup=False)
                await self.refresh_items()

        self.app.push_screen(Confirm(f"Remove {item.kind} '{item_title(item)}' from this device?"), confirmed)
