"""The chat remembers: a follow-up is given the chat's earlier turns, `--continue` opens the latest chat,
and Ctrl+R on a selected turn re-asks it edited, forking the chat (the old branch stays in the store).
Real parts: SmolLM2 in process, the real store (see conftest.py)."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui.conftest import SIZE, ask, settle, wait_for
from tui.help_screen import HelpScreen


async def test_a_follow_up_is_given_the_earlier_turns(config, store, make_app):
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await ask(pilot, app, "My locker code is 7352. Write a one-line note.")
        await ask(pilot, app, "What is the locker code?")
        assert app.log_view.answers[-1].meta["history_turns"] == 1
        assert "remembers 1 turn" in str(app.log_view.answers[-1].query_one("BadgeLine").render())


async def test_ctrl_r_edits_the_selected_turn_and_forks_the_chat(config, store, make_app):
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await ask(pilot, app, "Write a note to my landlord.")
        await ask(pilot, app, "Make it shorter.")
        await ask(pilot, app, "Add a greeting.")
        chat = app.conversation_id
        old = [m.text for m in store.messages(chat)]
        # Select the second answer from the keyboard and edit its instruction.
        await pilot.press("ctrl+up")
        assert app.selected is app.log_view.answers[1]
        await pilot.press("ctrl+r")
        prompt = app.query_one("#prompt", Input)
        assert prompt.value == "Make it shorter." and app.editing is app.log_view.answers[1]
        assert "new branch" in prompt.placeholder
        await pilot.press("escape")  # Esc cancels an edit
        assert app.editing is None and prompt.value == ""
        await pilot.press("ctrl+r")
        prompt.value = "Make it more formal."
        before = len(store.all_messages(chat))
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(store.all_messages(chat)) == before + 2 and not app.generating,
                       timeout=120, what="the edited turn's answer")
        await wait_for(pilot, lambda: not app.log_view.answers[-1].streaming, what="the answer to finish")
        # The chat shows the new branch: the first turn, then the edited one; the old branch is kept.
        assert [v.question for v in app.log_view.answers] == ["Write a note to my landlord.", "Make it more formal."]
        assert [m.text for m in store.messages(chat)][:2] == old[:2]
        assert [m.text for m in store.messages(chat) if m.role == "user"][1] == "Make it more formal."
        assert len(store.leaves(chat)) == 2 and set(old) <= {m.text for m in store.all_messages(chat)}
        assert app.log_view.answers[-1].meta["history_turns"] == 1  # given the turn before the edit only
        assert app.log_view.answers[-1].question_id == store.messages(chat)[-2].id


async def test_edit_needs_a_selected_turn_and_is_listed_in_the_help(config, make_app):
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+r")
        assert app.editing is None and any("Select an answer first" in str(n.message) for n in app._notifications)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        rendered = " ".join(app.screen.help_text().split())  # as read, whatever the wrapping
        assert "Ctrl+R" in rendered and "ask again: the chat forks" in rendered and "Ctrl+↑" in rendered


async def test_the_chat_can_open_on_a_stored_conversation(config, store, make_app):
    chat = store.create_conversation().id
    store.add_message(chat, "user", "Write a haiku about tea.")
    store.add_message(chat, "assistant", "Steam over the cup", meta={"strategy": "edge"})
    app = make_app(config, conversation_id=chat)  # what `tandem chat --continue` does with the latest
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.conversation_id == chat
        assert [v.body.source for v in app.log_view.answers] == ["Steam over the cup"]
