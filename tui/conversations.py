"""The list of past chats: open, rename, delete (the app does the store calls)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message as TextualMessage
from textual.widgets import Label, ListItem, ListView

from edge_agent.store import Conversation

UNTITLED = "(new chat)"


class ConversationItem(ListItem):
    def __init__(self, conversation: Conversation) -> None:
        super().__init__(Label(conversation.title or UNTITLED, markup=False))
        self.conversation = conversation

    def show(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.query_one(Label).update(conversation.title or UNTITLED)


class ConversationList(ListView):
    """Enter opens a chat; r renames it; Delete removes it."""

    BINDINGS = [
        Binding("r", "rename", "Rename chat"),
        Binding("delete,d", "delete", "Delete chat"),
    ]

    class Open(TextualMessage):
        def __init__(self, conversation: Conversation) -> None:
            super().__init__()
            self.conversation = conversation

    class Rename(Open):
        pass

    class Delete(Open):
        pass

    @property
    def current(self) -> Conversation | None:
        item = self.highlighted_child
        return item.conversation if isinstance(item, ConversationItem) else None

    async def show(self, conversations: Sequence[Conversation], active_id: int | None) -> None:
        """Show these chats; the items are updated in place when the order has not changed (no flicker)."""
        ids = [c.id for c in conversations]
        items = list(self.query(ConversationItem))
        if [item.conversation.id for item in items] == ids:
            for item, conversation in zip(items, conversations):
                item.show(conversation)
        else:
            await self.clear()
            await self.extend(ConversationItem(c) for c in conversations)
        self.index = ids.index(active_id) if active_id in ids else (0 if ids else None)

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        event.stop()
        if isinstance(event.item, ConversationItem):
            self.post_message(self.Open(event.item.conversation))

    def action_rename(self) -> None:
        if self.current is not None:
            self.post_message(self.Rename(self.current))

    def action_delete(self) -> None:
        if self.current is not None:
            self.post_message(self.Delete(self.current))


class Sidebar(Vertical):
    def compose(self) -> ComposeResult:
        yield Label("Chats", classes="pane-title")
        yield ConversationList(id="conversations")
