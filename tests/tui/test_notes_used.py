"""Every answer whose report lists the notes it used shows them under the answer (the real SmolLM2
edge model, the real store and embedder)."""

from __future__ import annotations

from tests.tui.conftest import SIZE, ask, settle
from tui.chat_view import notes_used_text

NOTES = "Landlord: Mr. Holm\nBedroom radiator has been cold since Monday\nParents visiting on March 14"


async def test_a_checked_answer_shows_the_notes_it_used_and_keeps_them(config, store, make_app):
    config.edge.strategy = "checked"
    store.add_note(NOTES, title="flat")
    app = make_app(config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await ask(pilot, app, "Write a short email to my landlord about the heating.")
        view = app.log_view.answers[-1]
        used = view.meta["notes_used"]
        assert used and all(line in NOTES.splitlines() for line in used)
        [shown] = view.query(".answer-notes")
        assert str(shown.render()).startswith("notes used:") and used[0] in str(shown.render())
    [conversation] = store.list_conversations()
    _, answer = store.messages(conversation.id)
    assert answer.meta["notes_used"] == used  # kept with the answer: a reopened chat shows them again


def test_answers_without_notes_used_show_nothing() -> None:
    assert notes_used_text({"strategy": "edge"}) == ""
    assert notes_used_text({"notes_used": ["a", "b"]}) == "notes used:\n  · a\n  · b"
