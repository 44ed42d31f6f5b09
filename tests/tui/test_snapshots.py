"""SVG snapshots of the main screens at 80x24 (pytest-textual-snapshot).

What is shown comes from a real store and a real audit log filled with fixed values
(answer texts, timings, request ids, audit times), so the pictures do not change from
run to run. The strategy picker is not pictured: it lists whatever strategies are
registered, which grows as strategies are added (test_app checks it instead).

After an intended change: `pytest tests/tui --snapshot-update`, and look at the pictures.
"""

from __future__ import annotations

import time

import pytest

from edge_agent.privacy import AuditEntry
from edge_agent.store import Store
from tests.tui.conftest import settle

SKETCH_META = {
    "strategy": "sketch", "request_id": "5f2c9a1e7b30", "answered_by": "edge+cloud", "fallback": "",
    "context_sent": False, "sketch": ["greet", "ask", "thank"], "edge_tokens": 84, "first_text_s": 0.9, "total_s": 2.1, "pieces": 80,
    "wire": {"rpcs": ["Sketch"], "bytes_up": 61, "bytes_down": 212}, "score": 0.82, "verdict": "C",
}
EDGE_META = {
    "strategy": "edge", "request_id": "0b7d41c9e2aa", "answered_by": "edge", "fallback": "",
    "context_sent": False, "edge_tokens": 31, "total_s": 0.8, "pieces": 31,
    "wire": {"rpcs": [], "bytes_up": 0, "bytes_down": 0},
}
SKETCH_ANSWER = (
    "Dear Mr. Okafor,\n\nThe heating in my bedroom in flat 4B has not worked since November 3. "
    "My parents visit from December 12; could someone repair it before then? "
    "I am free on weekday mornings before 11 am.\n\nBest regards,\nDana"
)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch):
    """Audit times are shown in local time: make that UTC everywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def fill(store: Store, audit_path) -> int:
    """Two stored chats, the newer with an edge answer and a sketch answer; its audit entry."""
    older = store.create_conversation("Thank-you note for Sam")
    store.add_message(older.id, "user", "Thank Sam for the plants")
    store.add_message(older.id, "assistant", "Thanks so much for the plants, Sam!", meta=EDGE_META)
    chat = store.create_conversation()
    store.add_message(chat.id, "user", "Say hi to my landlord")
    store.add_message(chat.id, "assistant", "Hello Mr. Okafor, I hope you are well.", meta=EDGE_META)
    store.add_message(chat.id, "user", "Email my landlord about the heating before my parents visit")
    store.add_message(chat.id, "assistant", SKETCH_ANSWER, meta=SKETCH_META)
    entry = AuditEntry(
        time="2025-01-06T09:30:12.345Z", peer="127.0.0.1:50051", rpc="/tandem.v1.CloudModel/Sketch",
        payload=b"\n" + b"x" * 60, request_id=SKETCH_META["request_id"],
        summary='instruction: "Email [PERSON_1] about the heating before my parents visit [DATE_1]"\nmax_points: 15',
    )
    audit_path.parent.mkdir(parents=True, exist_ok=True)
    audit_path.write_text(entry.to_json() + "\n", encoding="utf-8")
    return chat.id


async def ready(pilot) -> None:
    """The model loaded, the cloud probed, and the prompt's cursor steady (a blink would differ run to run)."""
    await settle(pilot, pilot.app)
    pilot.app.query_one("#prompt").cursor_blink = False
    await pilot.pause()


async def open_latest_chat(pilot) -> None:
    app = pilot.app
    await ready(pilot)
    await pilot.press("ctrl+l", "enter")
    await pilot.pause()
    app.query_one("#prompt").focus()
    await pilot.pause()


def test_new_chat(snap_compare, config, make_app):
    assert snap_compare(make_app(config), terminal_size=(80, 24), run_before=ready)


def test_resumed_chat_with_badges(snap_compare, config, store, make_app):
    fill(store, config.privacy.audit_path())
    assert snap_compare(make_app(config), terminal_size=(80, 24), run_before=open_latest_chat)


def test_privacy_pane(snap_compare, config, store, make_app):
    fill(store, config.privacy.audit_path())

    async def privacy(pilot):
        await open_latest_chat(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()

    assert snap_compare(make_app(config), terminal_size=(80, 24), run_before=privacy)


def test_context_pane(snap_compare, config, store, make_app):
    store.add_note("My landlord is Mr. Okafor, okafor.rentals@example.com", title="Landlord")
    store.add_note("Parents visit from December 12 to December 15.", title="Parents")

    async def context(pilot):
        await ready(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()

    assert snap_compare(make_app(config), terminal_size=(80, 24), run_before=context)


def test_help(snap_compare, config, make_app):
    async def help_screen(pilot):
        await ready(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(make_app(config), terminal_size=(80, 24), run_before=help_screen)
