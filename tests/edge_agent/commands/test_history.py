"""`tandem ask --continue` / `--conversation` and `tandem history` as a user runs them: real subprocesses,
the real store, SmolLM2 as the edge model; bad ids are one line, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.store import Store


def tandem(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "runtime.cli", *args], capture_output=True, text=True,
                          env=env or os.environ.copy(), timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tandem: error: "), result.stderr
    return lines[0]


@pytest.fixture
def env(isolated_dirs: Path) -> dict[str, str]:
    return dict(os.environ, TANDEM_EDGE_MODEL="smollm2-135m", TANDEM_EDGE_N_CTX="2048")


@pytest.mark.slow  # loads a model in a subprocess
def test_ask_continues_the_last_conversation_with_its_history(env: dict[str, str], isolated_dirs: Path) -> None:
    first = tandem("ask", "My locker code is 7352. Write a one-line note.", "--max-tokens", "8", env=env)
    assert first.returncode == 0, first.stderr
    assert "saved in conversation 1 (continue it with --continue)" in first.stderr
    second = tandem("ask", "--continue", "What is the locker code?", "--max-tokens", "8", env=env)
    assert second.returncode == 0, second.stderr
    assert "history: 1 earlier turn(s)" in second.stderr and "after 1 earlier turn(s)" in second.stderr
    third = tandem("ask", "--conversation", "1", "Thanks.", "--max-tokens", "4", env=env)
    assert third.returncode == 0 and "after 2 earlier turn(s)" in third.stderr
    with Store(isolated_dirs / "data" / "tandem" / "store.sqlite3") as store:
        assert [t.instruction.text for t in store.turns(1)] == [
            "My locker code is 7352. Write a one-line note.", "What is the locker code?", "Thanks."]


def test_history_lists_shows_exports_and_deletes(isolated_dirs: Path) -> None:
    with Store(isolated_dirs / "data" / "tandem" / "store.sqlite3") as store:
        chat = store.create_conversation().id
        store.add_message(chat, "user", "Email my landlord")
        store.add_message(chat, "assistant", "Dear Mrs Alvarez,\nthe heating is broken.",
                          meta={"strategy": "sketch", "history_turns": 0})
        edited = store.add_message(chat, "user", "Shorter")
        store.add_message(chat, "assistant", "Heating broken.", meta={"strategy": "edge", "history_turns": 1})
        store.add_message(chat, "user", "One line, formal", parent_id=edited.parent_id)  # an edit: a new branch
        store.add_message(chat, "assistant", "Dear Mrs Alvarez, the heating needs repair.",
                          meta={"strategy": "edge", "history_turns": 1})
    listing = tandem("history", "list")
    assert listing.returncode == 0, listing.stderr
    assert "   1  " in listing.stdout and "Email my landlord  [2 branches]" in listing.stdout
    assert "2" in listing.stdout.splitlines()[1].split()[3]  # two turns on the active branch
    show = tandem("history", "show", "1")
    assert show.returncode == 0
    assert "> One line, formal" in show.stdout and "Shorter" not in show.stdout
    assert "-- edge, after 1 earlier turn(s)" in show.stdout
    markdown = tandem("history", "export", "1")
    assert markdown.stdout.startswith("# Email my landlord") and "> One line, formal" in markdown.stdout
    assert "**tandem** (sketch):" in markdown.stdout and "Dear Mrs Alvarez,\nthe heating is broken." in markdown.stdout
    exported = json.loads(tandem("history", "export", "1", "--format", "json").stdout)
    messages = exported["messages"]
    assert len(messages) == 6 and [m["text"] for m in messages if not m["active"]] == ["Shorter", "Heating broken."]
    assert exported["head_id"] == messages[-1]["id"] and messages[4]["parent_id"] == messages[1]["id"]
    deleted = tandem("history", "delete", "1")
    assert deleted.returncode == 0 and "deleted conversation 1" in deleted.stdout
    assert "no conversations yet" in tandem("history", "list").stdout


@pytest.mark.parametrize("args", [("history", "show", "7"), ("history", "export", "7"), ("history", "delete", "7"),
                                  ("ask", "--conversation", "7", "hi"), ("ask", "--continue", "hi")])
def test_unknown_conversations_are_one_line_errors(args: tuple[str, ...], isolated_dirs: Path) -> None:
    line = one_line_error(tandem(*args))
    assert "there is no conversation 7" in line or "no conversation to continue" in line


def test_a_non_numeric_id_is_refused_by_the_parser() -> None:
    result = tandem("history", "show", "abc")
    assert result.returncode == 2 and "invalid int value: 'abc'" in result.stderr and "Traceback" not in result.stderr
