"""`tandem bench daemon`: what the background daemon costs, and how fast it answers through its socket.

The daemon runs as a real subprocess with its own (temporary) socket and store, so a
daemon the user already runs is not disturbed. Figures come from /proc (Linux).

Conversations: `conversations` chats are written into the store with `turns - 1` earlier turns
of about 150 tokens each. Each is then continued once through the daemon (a resumed chat:
nothing of it is cached, the whole history is read; its answer is about 150 tokens too, so it
makes the `turns`-th turn), and then once more, in turn, so that every follow-up has `turns`
earlier turns and the other conversations ran in between: its first token shows what the saved
KV states buy, and the daemon's memory is read with every conversation cached.
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
    from edge_agent.store import Store
    from edge_agent.strategies.report import AnswerReport

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


# The seeded turns: an instruction and an answer of about 150 tokens (Qwen's tokenizer), per conversation.
SEED_TURNS = (
    ("Write a short note to my landlord about the broken heating.",
     "Dear Mrs Alvarez,\n\nI am writing about the heating in flat 3B at 12 Elm Street, which has not worked "
     "since Monday. The radiator in the bedroom stays cold even with the valve fully open, and the boiler shows "
     "a steady amber light instead of the usual green one. I have tried resetting it twice, following the steps "
     "in the manual, without any change. With the nights getting colder this is becoming difficult, and I would "
     "be grateful if an engineer could come this week. I work from home on Tuesdays and Thursdays, so either day "
     "would suit me, and I can also leave a key with the neighbour at 12A if that helps.\n\nKind regards,\n{name}"),
    ("Draft a reminder for my dentist appointment.",
     "Reminder: dentist appointment with Dr Chen on Friday at 10am at the Harbour Road practice. Leave home by "
     "9:30, since the number 12 bus is slow in the morning and parking near the clinic is limited to thirty "
     "minutes. Bring the insurance card, the list of medicines you take, and the referral letter from the "
     "hospital. Ask about the sensitive tooth on the lower left and whether the old filling needs replacing. "
     "If you need to cancel, call the reception at least 24 hours ahead, otherwise the practice charges a late "
     "cancellation fee. Afterwards, avoid hot drinks for an hour if they use a local anaesthetic. ({name})"),
    ("Write a message to my sister about the weekend plans.",
     "Hi Maya,\n\nAre we still on for Saturday? I thought we could meet at the station at eleven, walk along "
     "the river to the market, and have lunch at the small Italian place near the bridge that you liked last "
     "time. In the afternoon the museum has a free exhibition on old maps of the city, which I think Dad would "
     "enjoy too, so maybe we ask him to join us for that part. On Sunday I am free until four, then I have to "
     "prepare for a long week at work. Let me know what suits you, and whether you want to stay over on "
     "Saturday night; the spare room is ready.\n\nLove,\n{name}"),
    ("Summarise what I need to do before the move.",
     "Before the move on the 28th: give notice on the current flat in writing (one month), book the van for "
     "8am, and ask two friends to help carry the sofa and the bookshelves. Pack the kitchen last, but label "
     "every box with the room it goes to. Transfer the electricity and internet contracts to the new address, "
     "and ask for a final meter reading on the day. Update the address with the bank, the doctor, the employer "
     "and the post office forwarding service for six months. Keep documents, chargers, medicine and a change of "
     "clothes in one bag that travels with you, not in the van. Clean the old flat for the deposit. ({name})"),
    ("Write a thank-you note to my colleague for covering my shift.",
     "Dear Tom,\n\nThank you so much for covering my shift on Wednesday at such short notice. I know it meant "
     "changing your own plans, and I really appreciate it. Thanks to you I could take my mother to her hospital "
     "appointment and stay with her afterwards, which made a big difference to her. I heard the evening was busy, "
     "with the delivery arriving late and two people off sick, and that you handled it calmly as always. Please "
     "let me know when you need a day off; I will happily take one of your shifts in return, weekends included. "
     "Coffee is on me next week as well.\n\nBest wishes,\n{name}"),
)
NAMES = ("Priya", "Daniel", "Amara", "Lukas", "Sofia", "Kenji", "Olivia", "Mateo", "Hana", "Ravi")
RESUME_INSTRUCTION = "Write a short follow-up to the first message, in three sentences."
FOLLOW_UP_INSTRUCTION = "Now make it one line and more formal."


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
    turns: int = 0  # earlier turns of each follow-up
    resumed_first_token_s: list[float] = field(default_factory=list)  # continuing a chat nothing of which is cached
    follow_up_first_token_s: list[float] = field(default_factory=list)  # the next turn, its state saved
    follow_up_prompt_tokens: list[int] = field(default_factory=list)
    follow_up_cached_tokens: list[int] = field(default_factory=list)  # of those, taken from the saved state
    cached_states: int = 0
    cached_mb: float = 0.0
    rss_cached_mb: float = 0.0  # with every conversation's state cached


def _proc_status(pid: int, key: str) -> float:
    """A `VmRSS`-style figure of /proc/<pid>/status in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def run(model: str, runs: int = 3, idle_s: float = 5.0, tokens: int = 32, conversations: int = 8,
        turns: int = 6, turn_tokens: int = 150) -> DaemonFigures:
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
            chats = [_seed(store, NAMES[i % len(NAMES)] + ("" if i < len(NAMES) else f" {i}"), turns - 1)
                     for i in range(conversations)]
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
                figures.turns = turns
                for chat in chats:  # resumed: the history is read in full, the state after it is saved
                    first, _ = _timed_turn(client, chat, RESUME_INSTRUCTION, turn_tokens)
                    figures.resumed_first_token_s.append(first)
                for chat in chats:  # each conversation's follow-up, after the others ran
                    first, report = _timed_turn(client, chat, FOLLOW_UP_INSTRUCTION, tokens)
                    figures.follow_up_first_token_s.append(first)
                    figures.follow_up_prompt_tokens.append(report.prompt_tokens)
                    figures.follow_up_cached_tokens.append(report.cached_tokens)
                status = client.status()
                figures.cached_states, figures.cached_mb = status["cached_states"], status["cached_bytes"] / 1e6
                figures.rss_cached_mb = _proc_status(pid, "VmRSS")
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


def _seed(store: Store, name: str, turns: int) -> int:
    """A conversation with `turns` earlier turns, written as the answer service would have (its first
    answer records the notes it retrieved)."""
    conversation = store.create_conversation(f"chat of {name}")
    for index in range(turns):
        instruction, answer = SEED_TURNS[index % len(SEED_TURNS)]
        store.add_message(conversation.id, "user", instruction)
        notes = [c.id for c in store.retrieve([instruction], 4)] if index == 0 else []
        store.add_message(conversation.id, "assistant", answer.format(name=name),
                          meta={"strategy": "edge", "notes_chunks": notes})
    return conversation.id


def _timed_turn(client: DaemonClient, conversation_id: int, instruction: str, tokens: int) -> tuple[float, AnswerReport]:
    """(seconds to the first text, report) of one greedy edge turn in a conversation."""
    request = AskRequest(instruction, strategy="edge", max_tokens=tokens)
    started, first, report = time.perf_counter(), None, None
    for event in client.ask(request, conversation_id=conversation_id):
        if event.kind == "text" and first is None:
            first = time.perf_counter()
        elif event.kind == "report":
            report = event.report
    return (first or time.perf_counter()) - started, report


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
    if f.follow_up_first_token_s:
        n = len(f.follow_up_first_token_s)
        reused = sum(f.follow_up_cached_tokens) / max(1, sum(f.follow_up_prompt_tokens))
        new = statistics.median(p - c for p, c in zip(f.follow_up_prompt_tokens, f.follow_up_cached_tokens))
        rows += [
            (f"first token, resumed chat ({f.turns - 1} turns)",
             f"{statistics.median(f.resumed_first_token_s):.3f} s median of {n} (nothing cached: the history is read)"),
            (f"first token, follow-up ({f.turns} turns)",
             f"{statistics.median(f.follow_up_first_token_s):.3f} s median of {n} "
             f"(min {min(f.follow_up_first_token_s):.3f}, max {max(f.follow_up_first_token_s):.3f}); "
             f"prompt {statistics.median(f.follow_up_prompt_tokens):.0f} tokens, {reused:.0%} from saved states, "
             f"{new:.0f} evaluated"),
            ("saved KV states", f"{f.cached_states} ({f.cached_mb:.0f} MB)"),
            (f"resident memory, {f.cached_states} states kept", f"{f.rss_cached_mb:.0f} MB"),
        ]
    return "\n".join(f"{name + ':':<40}{value}" for name, value in rows)
