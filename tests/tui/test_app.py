"""The chat's flows, driven with Pilot on the real SmolLM2 edge model, a real store and audit log."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Input, OptionList

from edge_agent.strategies import STRATEGIES
from tests.tui.conftest import SIZE, ask, make_config, send, settle, wait_for
from tui.badges import badges, wire
from tui.chat_view import AnswerView
from tui.context_pane import ContextScreen, FilePicker
from tui.dialogs import Confirm, NoteEditor, StrategyPicker, TextPrompt
from tui.help_screen import HelpScreen
from tui.privacy_pane import PLACEHOLDER_STYLE, EntryView, PrivacyScreen

LONG = "Write a long story about a dragon who learns to bake bread. Make it at least 1000 words."
LONG_TOKENS = 1500  # SmolLM2 writes all of them for LONG: far more than a test waits for before Esc


def labels(view: AnswerView) -> list[str]:
    return [label for label, _ in badges(view.meta)]


def plain(renderable) -> str:
    console = Console(width=76, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.file.getvalue()


async def paste(pilot, app, text: str) -> None:
    """Put text in the focused input, as a paste would, and press Enter."""
    app.focused.insert_text_at_cursor(text)
    await pilot.press("enter")


def notifications(app) -> list[str]:
    return [n.message for n in app._notifications]


async def test_an_answer_streams_in_and_is_kept_in_the_store(config, store, make_app):
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.status.mode == "in-process" and app.status.model.state == "ready"
        await ask(pilot, app, "Write a one line thank-you note to my neighbour.")
        view = app.log_view.answers[-1]
        assert view.body.source.strip(), "the answer has text"
        assert app.query_one("#prompt", Input).value == ""
        assert labels(view)[0] == "edge" and "☁ nothing sent" in labels(view)
        assert any(label.endswith("tok/s") for label in labels(view))
        # The conversation was created, titled by its question, and holds both turns as shown.
        [conversation] = store.list_conversations()
        assert conversation.title == "Write a one line thank-you note to my neighbour."
        user, answer = store.messages(conversation.id)
        assert (user.role, answer.role) == ("user", "assistant")
        assert answer.complete and answer.text == view.body.source
        assert answer.meta["request_id"] == view.request_id and answer.meta["pieces"] > 0


async def test_the_prompt_stays_live_while_answering_and_esc_stops_the_answer(tmp_path, smol_path, store, make_app):
    config = make_config(tmp_path, smol_path, max_tokens=LONG_TOKENS)
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await send(pilot, app, LONG)
        await wait_for(pilot, lambda: app.log_view.answers and app.log_view.answers[-1].body.source.strip(),
                       what="the first words")
        await pilot.press(*"hi")
        assert app.query_one("#prompt", Input).value == "hi"
        assert app.generating, "typing went on while the answer was being written"
        await pilot.press("enter")  # a second question has to wait
        assert len(app.log_view.answers) == 1
        assert any("still being written" in message for message in notifications(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.generating, what="the answer to stop")
        view = app.log_view.answers[-1]
        await wait_for(pilot, lambda: not view.streaming, what="the badges")
        assert "cancelled" in labels(view) and not view.complete
        assert 0 < view.meta["edge_tokens"] < LONG_TOKENS
        [conversation] = store.list_conversations()
        stored = store.messages(conversation.id)[-1]
        assert not stored.complete and stored.meta["interrupted"] == "cancelled"
        assert stored.text == view.body.source, "what was written before Esc is kept"
        assert app.query_one("#prompt", Input).value == "hi"


async def test_the_strategy_picker_offers_every_registered_strategy(config, make_app):
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+t")
        assert isinstance(app.screen, StrategyPicker)
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == list(STRATEGIES)
        opt_in = options.get_option("cloud-with-context")
        assert opt_in.disabled, "sending notes to the cloud is off unless the config enables it"
        assert "OPT-IN: sends your private notes to the cloud" in plain(opt_in.prompt)
        await pilot.press("down", "enter")
        assert not isinstance(app.screen, StrategyPicker)
        assert app.strategy == ids[1] and app.status.strategy == ids[1]
        await pilot.press("ctrl+t", "escape")  # Esc keeps the choice
        assert app.strategy == ids[1]


async def test_sketch_with_the_cloud_offline_falls_back_and_says_so(config, store, make_app):
    store.add_note("My landlord is Mr. Okafor and I live in flat 4B.", title="landlord")
    app = make_app(config, strategy="sketch")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.status.cloud == "offline"
        await ask(pilot, app, "Ask Mr. Okafor to fix the heating in flat 4B.")
        view = app.log_view.answers[-1]
        assert view.complete and view.body.source.strip()
        assert "fallback: edge alone" in labels(view) and "☁ nothing sent" in labels(view)
        await pilot.press("ctrl+p")
        screen = app.screen
        assert isinstance(screen, PrivacyScreen)
        assert not screen.query(EntryView)
        shown = "\n".join(str(w.content) for w in screen.query(".privacy-note, .privacy-none"))
        assert "Fallback: the cloud at" in shown and "unreachable" in shown
        assert "Nothing left the device for this answer" in shown


async def test_privacy_pane_shows_the_redacted_payloads_with_placeholders_highlighted(
    tmp_path, smol_path, store, make_app, cloud
):
    config = make_config(tmp_path, smol_path, cloud_address=cloud.address)
    store.add_note("Dana Whitfield lives at 1180 Larkin Street. Her phone is 415-555-0172.", title="me")
    app = make_app(config, strategy="cloud-public")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.status.cloud == "connected"
        await ask(pilot, app, "Write a note from Dana Whitfield asking for a call back at 415-555-0172.")
        view = app.log_view.answers[-1]
        rpcs, up, down = wire(view.meta)
        assert rpcs == ["Generate"] and up > 0 and down > 0
        assert any(label.startswith("☁ 1 RPC (Generate)") for label in labels(view))
        await ask(pilot, app, "Say hello.")  # a second answer, to step back from
        await pilot.press("ctrl+p")
        screen = app.screen
        assert isinstance(screen, PrivacyScreen) and screen.index == 1
        await pilot.press("left")
        assert screen.index == 0
        [entry] = screen.query(EntryView)
        text = entry.payload_text  # the rich Text shown
        assert "Generate" in str(entry.header_text) and f"{up} bytes" in str(entry.header_text)
        assert "Whitfield" not in str(text) and "555-0172" not in str(text)
        highlighted = {str(text)[span.start:span.end] for span in text.spans if span.style == PLACEHOLDER_STYLE}
        assert "[PERSON_1]" in highlighted and any(p.startswith("[PHONE_") for p in highlighted)
        # Exactly what the audit log holds for this answer, nothing more.
        [logged] = app.backend.audit_entries(view.request_id)
        assert logged.summary == str(text)
        await pilot.press("escape")
        assert not isinstance(app.screen, PrivacyScreen)


async def test_esc_stops_a_cloud_answer_too(tmp_path, smol_path, make_app, cloud):
    config = make_config(tmp_path, smol_path, cloud_address=cloud.address, max_tokens=LONG_TOKENS)
    app = make_app(config, strategy="cloud-public")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await send(pilot, app, LONG)
        await wait_for(pilot, lambda: app.log_view.answers and app.log_view.answers[-1].body.source.strip(),
                       what="the first words from the cloud")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.generating, what="the answer to stop")
        view = app.log_view.answers[-1]
        await wait_for(pilot, lambda: not view.streaming, what="the badges")
        assert view.meta["interrupted"] == "cancelled" and view.meta["answered_by"] == "cloud"
        assert 0 < view.meta["pieces"] < LONG_TOKENS
        assert app._producer.join(timeout=5), "the answer's thread (and with it the cloud stream) has ended"


async def test_a_cloud_that_is_up_but_too_slow_shows_as_degraded(tmp_path, smol_path, make_app, cloud):
    config = make_config(tmp_path, smol_path, cloud_address=cloud.address)
    config.cloud.timeout_s = 0.01  # it answers health checks, but no answer comes in time
    app = make_app(config, strategy="cloud-public")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.status.cloud == "connected"
        await ask(pilot, app, "Say hello.")
        view = app.log_view.answers[-1]
        assert "fallback: edge alone" in labels(view) and "DEADLINE_EXCEEDED" in view.meta["fallback"]
        await wait_for(pilot, lambda: app.status.cloud == "degraded", what="the degraded state")


async def test_context_pane_adds_and_removes_notes_and_documents(tmp_path, config, store, make_app):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lease.md").write_text("# Lease\nRent is 1450 a month, due on the 1st.\n", encoding="utf-8")
    (docs / "photo.bin").write_bytes(b"\x89PNG\x00\x00binary")
    app = make_app(config, browse_root=docs)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, ContextScreen)
        # A note, typed in.
        await pilot.press("a")
        assert isinstance(app.screen, NoteEditor)
        await pilot.press(*"Dentist", "tab", *"Dentist on March 14 at 9am with Dr Lee", "ctrl+s")
        await wait_for(pilot, lambda: len(store.list_items()) == 1, what="the note")
        note = store.list_items()[0]
        assert (note.kind, note.title, note.text) == ("note", "Dentist", "Dentist on March 14 at 9am with Dr Lee")
        # A document, by path.
        await pilot.press("f")
        assert isinstance(app.screen, FilePicker)
        await paste(pilot, app, str(docs / "lease.md"))
        await wait_for(pilot, lambda: len(store.list_items()) == 2, what="the document")
        # A binary file is refused with a message; nothing is added.
        await pilot.press("f")
        await paste(pilot, app, str(docs / "photo.bin"))
        await wait_for(pilot, lambda: any("binary" in m for m in notifications(app)), what="the refusal")
        assert len(store.list_items()) == 2
        # A document picked in the directory tree (hidden files are not offered).
        (docs / "lease.md").rename(docs / "lease2.md")
        await pilot.press("f", "tab")
        tree = app.screen.query_one("#file-tree")
        await wait_for(pilot, lambda: len(tree.root.children) == 2, what="the tree")
        await pilot.press("down")
        assert tree.cursor_node.data.path.name == "lease2.md"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(store.list_items()) == 3, what="the picked document")
        assert [item.kind for item in store.list_items()] == ["note", "document", "document"]
        # Remove the highlighted item (the one just added), after confirming.
        assert isinstance(app.screen, ContextScreen)
        await pilot.press("d")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")
        assert len(store.list_items()) == 3
        await pilot.press("d", "y")
        await wait_for(pilot, lambda: len(store.list_items()) == 2, what="the removal")
        assert [item.source for item in store.list_items()][1].endswith("lease.md")
        await pilot.press("escape")
        assert not isinstance(app.screen, ContextScreen)


async def test_chats_can_be_resumed_renamed_and_deleted(config, store, make_app):
    older = store.create_conversation()  # a chat from an earlier session
    store.add_message(older.id, "user", "Write a haiku about tea.")
    store.add_message(older.id, "assistant", "Steam over the cup", meta={"strategy": "sketch", "edge_tokens": 5})
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        assert app.conversation_id is None, "it opens on a new chat"
        await ask(pilot, app, "Write a haiku about rain.")
        rain_answer = app.log_view.answers[-1].body.source
        rain_id = app.conversation_id
        assert [c.id for c in store.list_conversations()] == [rain_id, older.id]
        # Resume the older chat from the list: its answer comes back with its badges.
        await pilot.press("ctrl+l")
        assert app.focused is app.conversations
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.conversation_id == older.id, what="the older chat")
        [view] = app.log_view.answers
        assert view.body.source == "Steam over the cup" and labels(view)[0] == "sketch"
        assert view.question == "Write a haiku about tea."
        assert app.focused is app.query_one("#prompt"), "back to typing"
        # ... and the newer one, as it was written.
        await pilot.press("ctrl+l", "up", "enter")
        await wait_for(pilot, lambda: app.conversation_id == rain_id, what="the newer chat")
        assert app.log_view.answers[-1].body.source == rain_answer
        # Rename the highlighted chat.
        await pilot.press("ctrl+l", "r")
        assert isinstance(app.screen, TextPrompt)
        await pilot.press("ctrl+u", *"Rain poem", "enter")
        await wait_for(pilot, lambda: store.list_conversations()[0].title == "Rain poem", what="the rename")
        # Delete it: the chat view starts afresh; the other chat stays.
        await pilot.press("ctrl+l", "delete")
        assert isinstance(app.screen, Confirm)
        await pilot.press("y")
        await wait_for(pilot, lambda: len(store.list_conversations()) == 1, what="the deletion")
        assert store.list_conversations()[0].id == older.id
        assert app.conversation_id is None and app.log_view.answers == []
        # Ctrl+N from a chat also starts afresh.
        await pilot.press("ctrl+l", "enter", "ctrl+n")
        assert app.conversation_id is None and app.log_view.answers == []


async def test_a_model_that_cannot_load_is_shown_and_answers_say_why(tmp_path, store, config, make_app):
    from tui import InProcessBackend, TandemChat

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF but not really")
    config.edge.model = str(broken)
    app = TandemChat(InProcessBackend(config, store=store))  # its own agent: it has to load the model
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.status.model.state == "error", what="the load error")
        assert "broken.gguf" in app.status.model.detail
        assert app.status.model.name == "broken.gguf"
        await ask(pilot, app, "Hello")
        view = app.log_view.answers[-1]
        assert "error" in labels(view) and "broken.gguf" in view.meta["error"]
        [conversation] = store.list_conversations()
        stored = store.messages(conversation.id)[-1]
        assert not stored.complete and stored.meta["interrupted"].startswith("error:")


async def test_a_question_asked_while_the_model_loads_is_answered_once_it_is_ready(config, store):
    from tui import InProcessBackend, TandemChat

    app = TandemChat(InProcessBackend(config, store=store))  # its own agent: the model loads at start
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, app, "Write a one line note to Sam.")
        assert app.status.model.state == "ready" and app.status.model.name == "smollm2-135m"
        view = app.log_view.answers[-1]
        assert view.complete and view.body.source.strip() and labels(view)[0] == "edge"


async def test_the_model_state_shows_loading_with_a_bar_then_ready(config, store, make_app):
    from textual.widgets import ProgressBar

    from tui.backend import ModelState

    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        bar = app.query_one("#status-progress", ProgressBar)
        assert not bar.display and "smollm2" in str(app.status.describe())
        app.status.model = ModelState("big-model", "loading", "edge model big-model")
        await pilot.pause()
        assert bar.display and "big-model loading" in str(app.status.describe())
        app.status.model = ModelState("big-model", "ready", progress=1.0)
        await pilot.pause()
        assert not bar.display


async def test_help_lists_the_keys_of_every_pane(config, make_app):
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rendered = app.screen.help_text()
        for expected in ("Ctrl+T", "Pick how answers are made", "Ctrl+P", "What left this device",
                         "Esc", "Stop the answer", "Rename chat", "Add note", "Older answer"):
            assert expected in rendered, expected
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_panes_open_only_from_the_chat(config, make_app):
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, ContextScreen)
        await pilot.press("ctrl+p")  # not on top of the context pane
        assert isinstance(app.screen, ContextScreen)
        await pilot.press("escape", "ctrl+p")
        assert isinstance(app.screen, PrivacyScreen)
        assert "No answers in this chat yet" in str(app.screen.query_one("#privacy-answer").content)
