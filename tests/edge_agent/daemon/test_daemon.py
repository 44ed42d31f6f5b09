"""One daemon subprocess shared by the module: socket, status, asking, history, clients at once."""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from edge_agent.context import PrivateContext
from edge_agent.daemon import DaemonClient, DaemonError
from edge_agent.daemon.process import DaemonProcess
from edge_agent.store import Store
from edge_agent.strategies import AskRequest

from .conftest import DaemonEnv, make_env

COUNT = "Count from 1 to 100, one number per line."
LANDLORD = "My landlord is Mrs Alvarez; the heating in flat 3B has been broken since Monday."


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, smol_path: Path):
    env = make_env(tmp_path_factory.mktemp("daemon"))
    with Store(env.store_path) as store:
        store.add_profile("My name is Priya Sharma.")
        store.add_note(LANDLORD)
        store.add_note("I bake sourdough bread every Sunday.")
    daemon = env.start()
    yield env, daemon
    daemon.stop()


@pytest.fixture
def client(world: tuple[DaemonEnv, DaemonProcess]):
    with DaemonClient(world[0].socket_path) as c:
        yield c


def collect(events) -> tuple[dict, str, object]:
    started, text, report = {}, "", None
    for event in events:
        if event.kind == "started":
            started = {"request_id": event.request_id, "conversation_id": event.conversation_id,
                       "message_id": event.message_id, "context_source": event.context_source,
                       "user_message_id": event.user_message_id}
        elif event.kind == "text":
            text += event.text
        else:
            report = event.report
    return started, text, report


def test_socket_is_private_and_status_says_ready(world: tuple[DaemonEnv, DaemonProcess], client: DaemonClient) -> None:
    env, daemon = world
    assert stat.S_ISSOCK(env.socket_path.stat().st_mode)
    assert env.socket_path.stat().st_mode & 0o777 == 0o600
    assert env.socket_path.parent.stat().st_mode & 0o777 == 0o700
    status = client.status()
    assert status["state"] == "ready" and status["pid"] == daemon.pid
    assert status["model"] == "smollm2-135m" and status["items"] == 3
    assert status["cloud"] == "offline"  # nothing listens on its cloud address


def test_ask_uses_the_store_and_records_exactly_what_streamed(world, client: DaemonClient) -> None:
    started, text, report = collect(client.ask(AskRequest("Email my landlord about the heating.", max_tokens=16)))
    assert started["context_source"] == "store: 1 profile item(s), 2 retrieved chunk(s)"  # both notes (k=4)
    assert text.strip() and report.text == text
    assert report.strategy == "edge" and report.request_id == started["request_id"] and not report.fallback
    with Store(world[0].store_path) as store:
        user, answer = store.messages(started["conversation_id"])
    assert (user.role, user.text) == ("user", "Email my landlord about the heating.")
    assert (answer.id, answer.text, answer.complete) == (started["message_id"], text, True)
    assert answer.meta["request_id"] == report.request_id


def test_an_explicit_context_is_used_instead_of_the_store(client: DaemonClient) -> None:
    request = AskRequest("Who am I?", context=PrivateContext("Name: Ada", source="notes.txt"), max_tokens=4)
    started, _, _ = collect(client.ask(request))
    assert started["context_source"] == "notes.txt"


def test_a_conversation_continues_with_its_history_from_the_saved_state(world, client: DaemonClient) -> None:
    first, _, one = collect(client.ask(AskRequest("Say hi.", max_tokens=4)))
    collect(client.ask(AskRequest("Say something else.", max_tokens=4)))  # another conversation in between
    second, _, two = collect(client.ask(AskRequest("Say bye.", max_tokens=4), conversation_id=first["conversation_id"]))
    assert second["conversation_id"] == first["conversation_id"]
    assert (one.history_turns, two.history_turns) == (0, 1)
    assert two.cached_tokens >= one.prompt_tokens  # the first prompt (and its answer) came from the saved state
    assert client.status()["cached_states"] >= 2 and client.status()["cached_bytes"] > 0
    with Store(world[0].store_path) as store:
        assert [m.text for m in store.messages(first["conversation_id"]) if m.role == "user"] == ["Say hi.", "Say bye."]


def test_an_edit_forks_the_conversation(world, client: DaemonClient) -> None:
    first, _, _ = collect(client.ask(AskRequest("Say hi.", max_tokens=4)))
    chat = first["conversation_id"]
    second, _, _ = collect(client.ask(AskRequest("Say bye.", max_tokens=4), conversation_id=chat))
    edited, text, report = collect(client.ask(AskRequest("Say goodbye.", max_tokens=4), conversation_id=chat,
                                              edit_of=second["user_message_id"]))
    assert report.history_turns == 1 and edited["user_message_id"] != second["user_message_id"]
    with Store(world[0].store_path) as store:
        assert [m.text for m in store.messages(chat) if m.role == "user"] == ["Say hi.", "Say goodbye."]
        assert len(store.leaves(chat)) == 2  # the old branch is kept
    with pytest.raises(DaemonError, match="not an instruction of conversation"):
        collect(client.ask(AskRequest("x", max_tokens=2), conversation_id=chat, edit_of=edited["message_id"]))


def test_two_clients_at_once(world) -> None:
    env, _ = world
    results: dict[int, tuple] = {}

    def ask(i: int) -> None:
        with DaemonClient(env.socket_path) as c:
            results[i] = collect(c.ask(AskRequest(f"Write one sentence about the number {i}.", max_tokens=24)))

    threads = [threading.Thread(target=ask, args=(i,)) for i in (1, 2)]
    for t in threads:
        t.start()
    with DaemonClient(env.socket_path) as c:  # a third client asks for the status meanwhile
        assert c.status()["state"] == "ready"
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == [1, 2]
    with Store(env.store_path) as store:
        for started, text, _report in results.values():
            [_, answer] = store.messages(started["conversation_id"])
            assert text.strip() and answer.text == text and answer.complete
    assert results[1][0]["conversation_id"] != results[2][0]["conversation_id"]


def test_cancel_keeps_what_was_written(world, client: DaemonClient) -> None:
    text, started, report = "", None, None
    for event in client.ask(AskRequest(COUNT, max_tokens=200)):
        if event.kind == "started":
            started = event
        elif event.kind == "text":
            text += event.text
            if len(text) > 8:
                assert client.cancel(started.request_id)
        else:
            report = event.report
    assert report.cancel.is_set()
    assert not client.cancel(started.request_id)  # it is no longer running
    with Store(world[0].store_path) as store:
        answer = store.messages(started.conversation_id)[-1]
    assert answer.text == text and not answer.complete and answer.meta["interrupted"] == "cancelled"


def test_a_client_leaving_early_stops_its_answer(world, client: DaemonClient) -> None:
    events = client.ask(AskRequest(COUNT, max_tokens=200))
    started = next(events)
    next(events)
    events.close()  # the client goes away mid-answer
    with Store(world[0].store_path) as store:
        for _ in range(100):
            answer = store.get_message(started.message_id)
            if answer.meta.get("interrupted"):
                break
            threading.Event().wait(0.05)
    assert not answer.complete and answer.meta["interrupted"] == "the client went away"
    _, text, _ = collect(client.ask(AskRequest("Say hi.", max_tokens=4)))  # the model is free again
    assert text.strip()


def test_bad_requests_get_one_clear_error(client: DaemonClient) -> None:
    with pytest.raises(DaemonError, match="instruction is empty"):
        collect(client.ask(AskRequest("  ")))
    with pytest.raises(DaemonError, match="no conversation 9999"):
        collect(client.ask(AskRequest("hi", max_tokens=2), conversation_id=9999))
    with pytest.raises(DaemonError, match="allow_context = true"):
        collect(client.ask(AskRequest("hi", strategy="cloud-with-context", max_tokens=2)))


def tandem(env: DaemonEnv, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runtime.cli", *args], capture_output=True, text=True,
                          env=env.env, timeout=120)


def test_the_cli_asks_through_the_daemon_and_the_context_commands_reach_it(world) -> None:
    env, _ = world
    added = tandem(env, "context", "add", "--note", "My dentist is Dr Chen, on Friday at 10am.")
    assert added.returncode == 0 and added.stdout.startswith("added note 4:")
    status = tandem(env, "daemon", "status")
    assert status.returncode == 0 and "ready" in status.stdout and "4 context item(s)" in status.stdout
    result = tandem(env, "ask", "When is my dentist?", "--max-tokens", "8")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "answered by the daemon; context: store: 1 profile item(s), 3 retrieved chunk(s)" in result.stderr
    in_process = tandem(env, "ask", "When is my dentist?", "--max-tokens", "4", "--no-daemon")
    assert in_process.returncode == 0, in_process.stderr
    assert "answered by the daemon" not in in_process.stderr
    assert "context: store: 1 profile item(s), 3 retrieved chunk(s)" in in_process.stderr


def test_a_second_daemon_on_the_same_socket_is_refused(world) -> None:
    env, daemon = world
    result = tandem(env, "daemon", "start", "--foreground")
    assert result.returncode == 1
    assert "a daemon is already running on" in result.stderr and "Traceback" not in result.stderr
    assert DaemonClient(env.socket_path).status()["pid"] == daemon.pid  # the first one is untouched
    started = tandem(env, "daemon", "start")
    assert started.returncode == 0 and f"already running (pid {daemon.pid})" in started.stdout
