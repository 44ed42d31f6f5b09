"""The daemon's life: start and stop from the CLI; kill -9 mid-answer, restart, everything as it was."""

from __future__ import annotations

import subprocess
import sys

from edge_agent.daemon import DaemonClient
from edge_agent.store import Store
from edge_agent.strategies import AskRequest

from .conftest import DaemonEnv

COUNT = "Count from 1 to 200, one number per line."


def tandem(env: DaemonEnv, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runtime.cli", *args], capture_output=True, text=True,
                          env=env.env, timeout=180)


def test_kill_9_mid_answer_loses_nothing_written_and_a_restart_finds_everything(daemon_env: DaemonEnv) -> None:
    with Store(daemon_env.store_path) as store:
        note = store.add_note("My landlord is Mrs Alvarez, flat 3B.")
    daemon = daemon_env.start()
    received, started = "", None
    with DaemonClient(daemon_env.socket_path) as client:
        for event in client.ask(AskRequest(COUNT, max_tokens=200)):
            if event.kind == "started":
                started = event
            elif event.kind == "text":
                received += event.text
                if len(received) >= 6:
                    daemon.kill()  # SIGKILL: no cleanup, no last write
                    break
    with Store(daemon_env.store_path) as store:
        answer = store.get_message(started.message_id)
        # Every piece the client saw had been committed before it was sent.
        assert answer.text.startswith(received) and not answer.complete
        assert "interrupted" not in answer.meta  # nobody labelled it: the process died
    assert daemon_env.socket_path.exists()  # a stale socket is left behind ...

    restarted = daemon_env.start()  # ... and replaced by the new daemon
    try:
        with Store(daemon_env.store_path) as store:
            kept = store.get_message(started.message_id)
            assert kept.text == answer.text and not kept.complete
            assert kept.meta["interrupted"] == "the answer was cut off when tandem stopped"
            [user, _] = store.messages(started.conversation_id)
            assert user.text == COUNT
            assert store.list_items() == [note]
        with DaemonClient(daemon_env.socket_path) as client:
            assert client.status()["conversations"] == 1
            events = list(client.ask(AskRequest("Say hi.", max_tokens=4), conversation_id=started.conversation_id))
        assert events[-1].kind == "report" and events[-1].report.text.strip()
    finally:
        restarted.stop()


def test_start_status_stop_from_the_command_line(daemon_env: DaemonEnv) -> None:
    stopped = tandem(daemon_env, "daemon", "status")
    assert stopped.returncode == 3 and "not running" in stopped.stdout
    started = tandem(daemon_env, "daemon", "start", "--wait")
    try:
        assert started.returncode == 0, started.stderr
        assert "started (pid" in started.stdout and "ready (smollm2-135m loaded in" in started.stdout
        status = tandem(daemon_env, "daemon", "status", "--json")
        assert status.returncode == 0 and '"state": "ready"' in status.stdout
        logs = tandem(daemon_env, "daemon", "logs")
        assert "ready: smollm2-135m loaded in" in logs.stdout
    finally:
        stop = tandem(daemon_env, "daemon", "stop")
    assert stop.returncode == 0 and "stopped (pid" in stop.stdout
    assert not daemon_env.socket_path.exists()
    assert not daemon_env.socket_path.with_suffix(".pid").exists()
    again = tandem(daemon_env, "daemon", "stop")
    assert again.returncode == 0 and "not running" in again.stdout


def test_stopping_the_daemon_mid_answer_keeps_the_text_marked_incomplete(daemon_env: DaemonEnv) -> None:
    daemon = daemon_env.start()
    received, started, report = "", None, None
    with DaemonClient(daemon_env.socket_path) as client:
        for event in client.ask(AskRequest(COUNT, max_tokens=200)):
            if event.kind == "started":
                started = event
            elif event.kind == "text":
                received += event.text
                if len(received) >= 6 and daemon.proc.poll() is None:
                    daemon.proc.terminate()  # SIGTERM, what `tandem daemon stop` sends
            else:
                report = event.report
    assert daemon.proc.wait(timeout=60) == 0
    assert report is not None and report.cancel.is_set()  # the answer ended cleanly, as cancelled
    with Store(daemon_env.store_path) as store:
        answer = store.get_message(started.message_id)
    assert answer.text == received and not answer.complete
    assert answer.meta["interrupted"] == "the daemon stopped"
    assert not daemon_env.socket_path.exists()


def test_stopping_while_the_models_load_is_a_clean_exit(daemon_env: DaemonEnv) -> None:
    """SIGTERM before the daemon is ready: it waits for the loading thread, then exits 0 (no abort)."""
    daemon = daemon_env.process().start()  # returns once the socket answers; the models are still loading
    with DaemonClient(daemon_env.socket_path) as client:
        assert client.status()["state"] == "loading"
    code = daemon.stop()
    assert code == 0, daemon.log_tail(20)
    assert "terminate called" not in daemon_env.root.joinpath("daemon.log").read_text()
