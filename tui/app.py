"""`tandem chat`: the terminal chat.

Layout (fits 80x24): chats on the left, the conversation on the right with the prompt
under it, a status line (cloud, edge model, strategy, backend) and the key bar. The
privacy pane, the context pane and the help are screens pushed over it (Esc returns).
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Footer, Input, Markdown

from edge_agent.store import Conversation
from edge_agent.store.util import short_title
from tui.backend import ChatBackend, ChatTurn, ModelState
from tui.badges import wire
from tui.chat_view import AnswerView, ChatLog
from tui.context_pane import ContextScreen
from tui.conversations import ConversationList, Sidebar
from tui.dialogs import Confirm, StrategyPicker, TextPrompt
from tui.help_screen import HelpScreen
from tui.privacy_pane import PrivacyScreen
from tui.status_bar import StatusBar
from tui.streaming import ThreadedIterator

PROMPT_PLACEHOLDER = "Ask tandem to write something… (Enter sends)"


class TandemChat(App):
    """Chat with the edge agent; see what each answer sent to the cloud."""

    CSS_PATH = "chat.tcss"
    TITLE = "tandem"
    ENABLE_COMMAND_PALETTE = False  # Ctrl+P is the privacy pane; F1 lists every key
    AUTO_FOCUS = "#prompt"

    # The description shows in the key bar; the tooltip is the longer line in the help (F1).
    BINDINGS = [
        Binding("escape", "stop", "Stop",
                tooltip="Stop the answer being written (the text so far is kept), or cancel an edit"),
        Binding("ctrl+n", "new_chat", "New", tooltip="Start a new chat"),
        Binding("ctrl+t", "pick_strategy", "Strategy", tooltip="Pick how answers are made (what the cloud gets)"),
        Binding("ctrl+p", "privacy", "Privacy", tooltip="What left this device for the selected answer"),
        Binding("ctrl+o", "context", "Context", tooltip="Your private notes and documents"),
        Binding("ctrl+l", "chats", "Chats", tooltip="Go to the list of chats (Enter opens one)"),
        Binding("ctrl+r", "edit_turn", "Edit turn", show=False,
                tooltip="Edit the selected answer's instruction and ask again: the chat forks there "
                        "(the old branch is kept; Esc cancels the edit)"),
        Binding("ctrl+up", "select_step(-1)", "Previous answer", show=False,
                tooltip="Select the previous answer (for Ctrl+P and Ctrl+R)"),
        Binding("ctrl+down", "select_step(1)", "Next answer", show=False, tooltip="Select the next answer"),
        Binding("ctrl+b", "toggle_sidebar", "Show/hide chats", show=False),
        Binding("pageup", "scroll_log(-1)", "Scroll the chat up", show=False),
        Binding("pagedown", "scroll_log(1)", "Scroll the chat down", show=False),
        Binding("f1", "help", "Help", tooltip="This list of keys"),
        Binding("ctrl+q", "quit", "Quit", priority=True, tooltip="Quit (stops an answer being written)"),
    ]

    generating: reactive[bool] = reactive(False, bindings=True)

    def __init__(self, backend: ChatBackend, strategy: str | None = None, cloud_probe_s: float = 5.0,
                 browse_root: Path | None = None, conversation_id: int | None = None) -> None:
        super().__init__()
        self.backend = backend
        self.store = backend.store
        names = [info.name for info in backend.strategies()]
        self.strategy = strategy or backend.config.edge.strategy
        if self.strategy not in names:
            self.strategy = names[0]
        self.cloud_probe_s = cloud_probe_s
        self.browse_root = browse_root
        self.conversation_id: int | None = None  # None: a new chat, created on the first question
        self.initial_conversation = conversation_id  # opened on start (`tandem chat --continue`)
        self.editing: AnswerView | None = None  # the turn whose instruction is being edited (Ctrl+R)
        self.turn: ChatTurn | None = None  # the answer being written, and where it is shown
        self.turn_view: AnswerView | None = None
        self.selected: AnswerView | None = None
        self._producer: ThreadedIterator | None = None

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Sidebar(id="sidebar")
            with Vertical(id="chat"):
                yield ChatLog(id="log")
                yield Input(placeholder=PROMPT_PLACEHOLDER, id="prompt")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def log_view(self) -> ChatLog:
        return self.query_one("#log", ChatLog)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    @property
    def conversations(self) -> ConversationList:
        return self.query_one("#conversations", ConversationList)

    async def on_mount(self) -> None:
        self.status.mode = self.backend.mode
        self.status.strategy = self.strategy
        self.status.model = self.backend.model_state()
        if self.initial_conversation is not None:
            await self.open_conversation(self.initial_conversation)
        else:
            await self.log_view.show_messages([])
        await self.refresh_conversations()
        self.query_one("#prompt", Input).focus()
        self.load_models()
        self.probe_cloud()
        self.set_interval(self.cloud_probe_s, self.probe_cloud)

    CHAT_ACTIONS = {"new_chat", "pick_strategy", "privacy", "context", "chats", "toggle_sidebar", "scroll_log",
                    "edit_turn", "select_step"}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":  # Esc shows (and works) only while an answer is written or a turn edited
            return self.generating or (self.editing is not None and len(self.screen_stack) == 1)
        if action in self.CHAT_ACTIONS:
            return len(self.screen_stack) == 1  # not from inside a pane or dialog: Esc first
        return True

    # -- background work --------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="load")
    def load_models(self) -> None:
        try:
            self.backend.load_models(on_state=lambda state: self.call_from_thread(self.show_model_state, state))
        except Exception as exc:  # shown in the status bar; the context and chats stay usable
            self.call_from_thread(self.notify, f"The edge model did not load: {exc}", severity="error", timeout=15,
                                  markup=False)

    def show_model_state(self, state: ModelState) -> None:
        self.status.model = state

    @work(thread=True, exclusive=True, exit_on_error=False, group="probe")
    def probe_cloud(self) -> None:
        status = self.backend.cloud_status()
        self.call_from_thread(self.show_cloud_state, status)

    def show_cloud_state(self, cloud: str) -> None:
        self.status.cloud = cloud
        if self.backend.model_state() != self.status.model:  # e.g. the daemon went away or came back
            self.status.model = self.backend.model_state()

    # -- asking --------------------------------------------------------------------------------

    @on(Input.Submitted, "#prompt")
    async def submit(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        if self.generating:
            self.notify("An answer is still being written: wait for it, or press Esc to stop it.",
                        severity="warning")
            return
        self.generating = True  # before any await: a second Enter must not start a second answer
        edit_of = self.editing.question_id if self.editing is not None and self.conversation_id is not None else None
        try:
            if self.conversation_id is None:
                self.conversation_id = self.store.create_conversation(short_title(question)).id
            turn = self.backend.ask(self.conversation_id, question, self.strategy, edit_of=edit_of)
        except Exception as exc:  # e.g. the store cannot be written
            self.generating = False
            self.notify(f"Cannot ask: {exc}", severity="error", timeout=10, markup=False)
            return
        event.input.value = ""
        if edit_of is not None:  # the log shows the new branch: the turns before the edited one
            self.end_edit()
            edited = self.store.get_message(edit_of)
            await self.log_view.show_messages(self.store.branch(edited.parent_id) if edited.parent_id else [])
        view = await self.log_view.add_turn(question, self.strategy)
        self.select_answer(view)
        self.stream_answer(turn, view)
        await self.refresh_conversations()

    @work(exclusive=True, group="answer")
    async def stream_answer(self, turn: ChatTurn, view: AnswerView) -> None:
        """Stream the answer into its Markdown widget; the prompt stays live meanwhile."""
        self.turn, self.turn_view = turn, view
        loading = self.backend.model_state().state != "ready"
        if loading:
            view.waiting("waiting for the edge model to load…")
        stream = Markdown.get_stream(view.body)
        self._producer = ThreadedIterator(turn.pieces())
        error = ""
        try:
            async for piece in self._producer:
                if loading:
                    view.waiting("writing…")
                    loading = False
                await stream.write(piece)
        except Exception as exc:  # a refused strategy, a prompt too long, a cloud error: shown on the answer
            error = str(exc) or type(exc).__name__
        finally:
            await stream.stop()
            self.turn, self.turn_view, self.generating = None, None, False
        meta = dict(turn.meta)
        if error and not meta.get("error"):
            meta["error"] = error
        view.question_id = turn.user_message_id
        view.finish(meta, complete=turn.complete and not error)
        if wire(meta)[0] or meta.get("fallback"):
            self.probe_cloud()
        await self.refresh_conversations()

    def action_stop(self) -> None:
        if self.turn is None and self.editing is not None:
            self.end_edit()
            self.query_one("#prompt", Input).value = ""
            return
        if self.turn is not None:
            self.turn.cancel()
            if self.turn_view is not None:
                self.turn_view.waiting("stopping…")

    # -- answers and panes ---------------------------------------------------------------------

    def select_answer(self, view: AnswerView) -> None:
        if self.selected is not None:
            self.selected.remove_class("selected")
        self.selected = view
        view.add_class("selected")

    @on(AnswerView.Selected)
    def answer_clicked(self, event: AnswerView.Selected) -> None:
        self.select_answer(event.answer)

    def action_select_step(self, delta: int) -> None:
        """Select the answer `delta` steps from the selected one (Ctrl+Up/Down)."""
        answers = self.log_view.answers
        if not answers:
            return
        index = answers.index(self.selected) if self.selected in answers else len(answers)
        view = answers[max(0, min(len(answers) - 1, index + delta))]
        self.select_answer(view)
        self.log_view.scroll_to_widget(view, animate=False)

    # -- editing an earlier turn -----------------------------------------------------------------

    def action_edit_turn(self) -> None:
        """Put the selected turn's instruction in the prompt; Enter asks it again on a new branch."""
        if self._busy():
            return
        view = self.selected
        if view is None or not view.question_id:
            self.notify("Select an answer first (click it, or Ctrl+↑/↓), then Ctrl+R edits its instruction.",
                        severity="warning")
            return
        self.editing = view
        prompt = self.query_one("#prompt", Input)
        prompt.value = view.question
        prompt.placeholder = "Edit the instruction; Enter asks again from there (a new branch), Esc cancels"
        prompt.add_class("editing")
        prompt.focus()
        self.refresh_bindings()

    def end_edit(self) -> None:
        """Leave editing: the prompt asks a new turn again."""
        self.editing = None
        prompt = self.query_one("#prompt", Input)
        prompt.placeholder = PROMPT_PLACEHOLDER
        prompt.remove_class("editing")
        self.refresh_bindings()

    def action_privacy(self) -> None:
        answers = self.log_view.answers
        index = answers.index(self.selected) if self.selected in answers else len(answers) - 1
        self.push_screen(PrivacyScreen(answers, max(index, 0), self.backend.audit_entries))

    def action_context(self) -> None:
        self.push_screen(ContextScreen(self.store, self.browse_root))

    def action_help(self) -> None:
        self.push_screen(HelpScreen([
            ("Anywhere in the chat", self.BINDINGS),
            ("Chats list", ConversationList.BINDINGS),
            ("Privacy pane (Ctrl+P)", PrivacyScreen.BINDINGS),
            ("Context pane (Ctrl+O)", ContextScreen.BINDINGS),
        ]))

    # Dialogs are pushed at once (not from a worker) so that keys typed right after go to them.

    def action_pick_strategy(self) -> None:
        def picked(name: str | None) -> None:
            if name:
                self.strategy = self.status.strategy = name

        self.push_screen(StrategyPicker(self.backend.strategies(), self.strategy), picked)

    def action_scroll_log(self, pages: int) -> None:
        if pages < 0:
            self.log_view.scroll_page_up()
        else:
            self.log_view.scroll_page_down()

    # -- conversations ---------------------------------------------------------------------------

    async def refresh_conversations(self) -> None:
        await self.conversations.show(self.store.list_conversations(), self.conversation_id)

    def _busy(self) -> bool:
        if self.generating:
            self.notify("An answer is being written: wait, or press Esc to stop it first.", severity="warning")
        return self.generating

    async def open_conversation(self, conversation_id: int | None) -> None:
        if self.editing is not None:
            self.end_edit()
        self.conversation_id = conversation_id
        self.selected = None
        messages = self.store.messages(conversation_id) if conversation_id is not None else []
        await self.log_view.show_messages(messages)
        answers = self.log_view.answers
        if answers:
            self.select_answer(answers[-1])
        self.query_one("#prompt", Input).focus()

    async def action_new_chat(self) -> None:
        if not self._busy():
            await self.open_conversation(None)
            await self.refresh_conversations()

    def action_chats(self) -> None:
        self.query_one("#sidebar").display = True
        self.conversations.focus()

    def action_toggle_sidebar(self) -> None:
        sidebar = self.query_one("#sidebar")
        sidebar.display = not sidebar.display
        if not sidebar.display:
            self.query_one("#prompt", Input).focus()

    @on(ConversationList.Open)
    async def resume(self, event: ConversationList.Open) -> None:
        if not self._busy():
            await self.open_conversation(event.conversation.id)

    @on(ConversationList.Rename)
    def rename(self, event: ConversationList.Rename) -> None:
        conversation: Conversation = event.conversation

        async def renamed(title: str | None) -> None:
            if title is not None and title.strip():
                self.store.rename_conversation(conversation.id, title.strip())
                await self.refresh_conversations()

        self.push_screen(TextPrompt("Rename chat", conversation.title, "a short title"), renamed)

    @on(ConversationList.Delete)
    def delete(self, event: ConversationList.Delete) -> None:
        conversation: Conversation = event.conversation
        if conversation.id == self.conversation_id and self._busy():
            return
        name = conversation.title or "this chat"

        async def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            self.store.delete_conversation(conversation.id)
            if conversation.id == self.conversation_id:
                await self.open_conversation(None)
            await self.refresh_conversations()
            self.notify(f"Deleted '{name}'.", markup=False)

        self.push_screen(Confirm(f"Delete '{name}' and all its messages?"), confirmed)

    # -- shutting down -------------------------------------------------------------------------

    async def action_quit(self) -> None:
        if self.turn is not None:
            self.turn.cancel()
        self.exit()

    def on_unmount(self) -> None:
        if self.turn is not None:
            self.turn.cancel()
        if self._producer is not None:
            self._producer.join(timeout=30)  # the model must not be freed mid-token
        self.backend.close()
