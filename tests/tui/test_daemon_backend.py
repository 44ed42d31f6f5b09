"""The chat on a real edge daemon (a subprocess on a real unix socket) with a real cloud process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edge_agent.config import load_config
from edge_agent.daemon.process import DaemonProcess
from tests.tui.conftest import SIZE, ask, send, wait_for
from tui import InProcessBackend, TandemChat, open_backend
from tui.badges import wire
from tui.daemon_backend import DaemonBackend
from tui.privacy_pane import EntryView, PrivacyScreen

LONG = "Write a long story about a dragon who learns to bake bread. Make it at least 1000 words."


@pytest.fixture
def user_env(isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch, cloud) -> dict[str, str]:
    """This process and the daemon share one user's XDG dirs, edge model and cloud."""
    for key, value in {
        "TANDEM_EDGE_MODEL": "smollm2-135m", "TANDEM_EDGE_N_CTX": "2048", "TANDEM_EDGE_N_THREADS": "1",
        "TANDEM_EDGE_MAX_TOKENS": "16",
        "TANDEM_CLOUD_ADDRESS": cloud.address, "TANDEM_DAEMON_PROBE_INTERVAL_S": "1",
    }.items():
        monkeypatch.setenv(key, value)
    return dict(os.environ)


@pytest.fixture
def daemon(user_env: dict[str, str], tmp_path: Path):
    config = load_config()
    process = DaemonProcess(config.daemon.socket_path(), tmp_path / "daemon.log", env=user_env).start()
    try:
        process.wait_ready(timeout=120)
        yield process
    finally:
        process.stop()


def test_without_a_daemon_the_chat_runs_in_process(isolated_dirs: Path):
    backend = open_backend(load_config())
    try:
        assert isinstance(backend, InProcessBackend) and backend.mode == "in-process"
    finally:
        backend.close()


async def test_chat_through_the_daemon(daemon: DaemonProcess):
    config = load_config()
    backend = open_backend(config)
    assert isinstance(backend, DaemonBackend)
    backend.store.add_note("Dana Whitfield lives at 1180 Larkin Street. Her phone is 415-555-0172.", title="me")
    app = TandemChat(backend, strategy="cloud-public", cloud_probe_s=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.status.model.state == "ready", what="the daemon's model")
        await wait_for(pilot, lambda: app.status.cloud == "connected", what="the daemon's cloud state")
        assert app.status.mode == "daemon" and app.status.model.name == "smollm2-135m"

        # An answer streams from the daemon, which recorded it; its badges come from that record.
        await ask(pilot, app, "Write a note from Dana Whitfield asking for a call back at 415-555-0172.")
        view = app.log_view.answers[-1]
        assert view.complete and view.body.source.strip()
        rpcs, up, _ = wire(view.meta)
        assert rpcs == ["Generate"] and up > 0 and view.meta["answered_by"] == "cloud"
        stored = backend.store.messages(app.conversation_id)
        assert [m.role for m in stored] == ["user", "assistant"] and stored[1].text == view.body.source

        # The privacy pane reads what the daemon sent from the shared audit log.
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, PrivacyScreen)
        [entry] = app.screen.query(EntryView)
        assert "Generate" in str(entry.header_text) and "Whitfield" not in str(entry.payload_text)
        await pilot.press("escape")

        # Esc stops the daemon's generation; the text so far stays in the history.
        backend.config.edge.max_tokens = 1500
        await send(pilot, app, LONG)
        await wait_for(pilot, lambda: len(app.log_view.answers) == 2 and app.log_view.answers[-1].body.source.strip(),
                       what="the first words")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.generating, what="the answer to stop")
        view = app.log_view.answers[-1]
        await wait_for(pilot, lambda: not view.streaming, what="the badges")
        assert view.meta.get("interrupted") == "cancelled" and not view.complete
        stored = backend.store.messages(app.conversation_id)[-1]
        assert not stored.complete and stored.text == view.body.source

        # The chat the daemon recorded can be resumed like any other.
        conversation_id = app.conversation_id
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+l", "enter")
        await wait_for(pilot, lambda: app.conversation_id == conversation_id, what="the resumed chat")
        assert len(app.log_view.answers) == 2

        # Ctrl+R re-asks the selected (last) turn edited: the daemon forks the chat and gives the
        # answer the turn before it (the cloud gets that turn redacted).
        backend.config.edge.max_tokens = 16
        await pilot.press("ctrl+r")
        app.query_one("#prompt").value = "Say it in three words."
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.generating and app.log_view.answers[-1].question == "Say it in three words."
                       and not app.log_view.answers[-1].streaming, timeout=120, what="the edited turn")
        view = app.log_view.answers[-1]
        assert len(app.log_view.answers) == 2 and view.meta["history_turns"] == 1
        assert len(backend.store.leaves(conversation_id)) == 2
        sent = " ".join(e.summary for e in backend.audit_entries(view.request_id))
        assert "history" in sent and "Whitfield" not in sent

        # The daemon stops: the status line says so, and an answer says why it cannot be written.
        daemon.stop()
        await wait_for(pilot, lambda: app.status.model.state == "error", what="the status to notice")
        assert app.status.cloud == "unknown"
        await ask(pilot, app, "Hello?")
        view = app.log_view.answers[-1]
        assert "is not answering" in view.meta["error"] and "tandem daemon start" in view.meta["error"]
