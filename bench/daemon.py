"""`tandem bench daemon`: what the background daemon costs, and how fast it answers through its socket.

The daemon runs as a real subprocess with its own (temporary) socket and store, so a
daemon the user already runs is not disturbed. Figures come from /proc (Linux).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.cloud_process import free_port
from edge_agent.context import PrivateContext
from edge_agent.strategies import AskRequest

if TYPE_CHECKING:
    from edge_agent.daemon import DaemonClient

# A different instruction per run: llama.cpp reuses the KV cache of a repeated prompt, which would
# flatter every run after the first. (The shared system prompt is reused, as it is in real use.)
INSTRUCTIONS = (
    "Write a two-line note to my landlord about the broken heating.",
    "Remind me of my dentist appointment in one sentence.",
    "Draft a short text asking Mrs Alvarez when the radiator will be fixed.",
    "Write a one-line reminder to book a heating engineer.",
    "Summarise my week's appointments in two lines.",
)
NOTES = (
    "My landlord is Mrs Alvarez; I rent flat 3B at 12 Elm Street.",
    "The heating has been broken since Monday; the radiator in the bedroom is cold.",
    "Dentist appointment on Friday at 10am with Dr Chen.",
)


@dataclass
class DaemonFigures:
    model: str
    socket_s: float  # spawn -> the socket answers
    ready_s: float  # spawn -> models loaded
    rss_ready_mb: float
    rss_after_mb: float  # after the answers
    peak_rss_mb: float
    idle_cpu_pct: float  # of one core, while idle
    idle_s: float
    first_token_s: list[float] = field(default_factory=list)  # through the socket, warm
    tok_s: list[float] = field(default_factory=list)
    cold_first_token_s: float = 0.0  # in process, model load included (`tandem ask --no-daemon`)


def _proc_status(pid: int, key: str) -> float:
    """A `VmRSS`-style figure of /proc/<pid>/status in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run(model: str, runs: int = 3, idle_s: float = 5.0, tokens: int = 32) -> DaemonFigures:
    from edge_agent.daemon import DaemonClient
    from edge_agent.daemon.process import DaemonProcess
    from edge_agent.store import Store

    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "XDG_RUNTIME_DIR": str(root / "run"), "XDG_DATA_HOME": str(root / "data"),
               "TANDEM_EDGE_MODEL": model, "TANDEM_CLOUD_ADDRESS": f"127.0.0.1:{free_port()}"}
        for var in ("TANDEM_DAEMON_SOCKET", "TANDEM_DAEMON_STORE"):
            env.pop(var, None)
        (root / "run").mkdir(mode=0o700)
        socket_path = root / "run" / "tandem" / "daemon.sock"
        with Store(root / "data" / "tandem" / "store.sqlite3") as store:
            for note in NOTES:
                store.add_note(note)
        started = time.perf_counter()
        daemon = DaemonProcess(socket_path, root / "daemon.log", env=env).start()
        try:
            socket_s = time.perf_counter() - started
            daemon.wait_ready()
            ready_s = time.perf_counter() - started
            pid = daemon.pid
            rss_ready = _proc_status(pid, "VmRSS")
            cpu_before = _cpu_seconds(pid)
            time.sleep(idle_s)
            idle_cpu = 100 * (_cpu_seconds(pid) - cpu_before) / idle_s
            figures = DaemonFigures(model, socket_s, ready_s, rss_ready, 0.0, 0.0, idle_cpu, idle_s)
            with DaemonClient(socket_path) as client:
                for run_index in range(runs):
                    _timed_answer(client, INSTRUCTIONS[run_index % len(INSTRUCTIONS)], tokens, figures)
            figures.rss_after_mb = _proc_status(pid, "VmRSS")
            figures.peak_rss_mb = _proc_status(pid, "VmHWM")
        finally:
            daemon.stop()
    figures.cold_first_token_s = _cold_in_process(model, tokens)
    return figures


def _timed_answer(client: DaemonClient, instruction: str, tokens: int, figures: DaemonFigures) -> None:
    request = AskRequest(instruction, strategy="edge", max_tokens=tokens)  # empty context: from the store
    started = time.perf_counter()
    first = None
    for event in client.ask(request):
        if event.kind == "text" and first is None:
            first = time.perf_counter()
        if event.kind == "report":
            end = time.perf_counter()
            figures.first_token_s.append((first or end) - started)
            if first and event.report.edge_tokens > 1 and end > first:
                figures.tok_s.append((event.report.edge_tokens - 1) / (end - first))


def _cold_in_process(model: str, tokens: int) -> float:
    """What `tandem ask --no-daemon` pays before its first token: loading the model, then the answer."""
    from edge_agent.agent import EdgeAgent
    from edge_agent.config import load_config

    config = load_config()
    config.edge.model = model
    started = time.perf_counter()
    agent = EdgeAgent(config)
    try:
        answer = agent.ask(AskRequest(INSTRUCTIONS[0], context=PrivateContext("\n".join(NOTES)), max_tokens=tokens))
        pieces = iter(answer)
        next(pieces, None)
        elapsed = time.perf_counter() - started
        answer.cancel()
        for _ in pieces:  # let the generation stop cleanly before the model is closed
            pass
    finally:
        agent.close()
    return elapsed


def format_figures(f: DaemonFigures) -> str:
    first, rest = (f.first_token_s[0], f.first_token_s[1:]) if f.first_token_s else (0.0, [])
    later = f", then {statistics.median(rest):.3f} s (median of {len(rest)})" if rest else ""
    rate = f"{statistics.median(f.tok_s):.1f} tok/s (median)" if f.tok_s else "n/a"
    rows = [
        ("model", f.model),
        ("socket answers after start", f"{f.socket_s:.2f} s"),
        ("ready (models loaded) after", f"{f.ready_s:.2f} s"),
        ("resident memory, ready", f"{f.rss_ready_mb:.0f} MB"),
        ("resident memory, after answers", f"{f.rss_after_mb:.0f} MB (peak {f.peak_rss_mb:.0f} MB)"),
        (f"idle CPU over {f.idle_s:g} s", f"{f.idle_cpu_pct:.2f} % of one core"),
        ("first token through the socket", f"{first:.3f} s for the first answer{later}; retrieval included"),
        ("decode through the socket", rate),
        ("first token in process, cold", f"{f.cold_first_token_s:.2f} s (model load included: `ask --no-daemon`)"),
    ]
    return "\n".join(f"{name + ':':<32}{value}" for name, value in rows)
