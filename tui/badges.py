"""The badges under an answer, read from the message meta the store keeps with it.

The meta is what `edge_agent.store.report_meta` writes (the answer service does, for the
daemon and in process alike), so a resumed chat shows the same badges as a live one: every
field of the answer's report (`edge_agent.strategies.report`: strategy, request_id,
answered_by, fallback, context_sent, sketch, wire {rpcs, bytes_up, bytes_down}, edge_tokens,
first_text_s, total_s, score, verdict, fuse, candidates, ...), the context source, and
interrupted (why it stopped early: "cancelled", an error, ...)

plus what the chat adds: pieces (streamed pieces, for the rate of cloud-written answers) and
error (shown in red).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

VERDICTS = {
    "A": "verdict A: context did not help",
    "B": "verdict B: not grounded",
    "C": "verdict C: verified",
}

BADGE_STYLES = {
    "strategy": "bold #1a1b26 on #7aa2f7",
    "danger": "bold white on #c0392b",
    "warning": "#1a1b26 on #e0af68",
    "speed": "#c0caf5 on #3b4261",
    "cloud": "#1a1b26 on #bb9af7",
    "local": "#1a1b26 on #9ece6a",
    "score": "#1a1b26 on #7dcfff",
    "verdict-ok": "#1a1b26 on #9ece6a",
}


def wire(meta: dict[str, Any]) -> tuple[list[str], int, int]:
    """(rpcs, bytes up, bytes down) of an answer."""
    data = meta.get("wire") or {}
    return list(data.get("rpcs") or []), int(data.get("bytes_up") or 0), int(data.get("bytes_down") or 0)


def human_bytes(count: int) -> str:
    return f"{count} B" if count < 1000 else f"{count / 1000:.1f} kB"


def cloud_summary(meta: dict[str, Any]) -> str:
    """'nothing sent' or '2 RPCs (Generate, Sketch) · 310 B up · 1.2 kB down'."""
    rpcs, up, down = wire(meta)
    if not rpcs:
        return "nothing sent"
    names = ", ".join(sorted(set(rpcs)))
    return f"{len(rpcs)} RPC{'s' if len(rpcs) != 1 else ''} ({names}) {human_bytes(up)}↑ {human_bytes(down)}↓"


def tokens_per_second(meta: dict[str, Any]) -> float | None:
    """How fast the answer was written once it started: tokens the edge model wrote (or pieces
    streamed, for a cloud-written answer) after the first, per second after the first text.

    Measured from the first text, so waiting for a cloud outline or reading the prompt does
    not count; the whole answer's time is used when the first text's time is unknown.
    """
    total = float(meta.get("total_s") or 0.0)
    first = float(meta.get("first_text_s") or 0.0)
    tokens = int(meta.get("edge_tokens") or 0) or int(meta.get("pieces") or 0)
    if 0 < first < total and tokens > 1:
        return (tokens - 1) / (total - first)
    return tokens / total if total > 0 and tokens else None


def badges(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, style name) pairs, in display order."""
    out: list[tuple[str, str]] = []
    if meta.get("strategy"):
        out.append((str(meta["strategy"]), "strategy"))
    if meta.get("context_sent"):
        out.append(("OPT-IN: notes sent to cloud", "danger"))
    if meta.get("error"):
        out.append(("error", "danger"))
    elif meta.get("interrupted"):
        reason = str(meta["interrupted"])
        out.append(("cancelled" if reason == "cancelled" else "interrupted", "warning"))
    rate = tokens_per_second(meta)
    if rate is not None:
        out.append((f"{rate:.1f} tok/s", "speed"))
    if meta.get("fallback"):
        out.append(("fallback: edge alone", "warning"))
    if meta.get("history_turns"):
        dropped = f" (+{meta['history_dropped']} left out)" if meta.get("history_dropped") else ""
        out.append((f"remembers {meta['history_turns']} turn{'s' if meta['history_turns'] != 1 else ''}{dropped}",
                    "speed"))
    rpcs, _, _ = wire(meta)
    out.append(("☁ " + cloud_summary(meta), "cloud" if rpcs else "local"))
    if meta.get("score") is not None:
        out.append((f"score {float(meta['score']):.2f}", "score"))
    if meta.get("verdict"):
        verdict = str(meta["verdict"])
        out.append((VERDICTS.get(verdict, f"verdict {verdict}"), "verdict-ok" if verdict == "C" else "warning"))
    return out


def badge_text(meta: dict[str, Any], width: int = 0) -> Text:
    """The badges as rich Text, broken into lines between badges (never inside one) to fit `width`."""
    text = Text()
    used = 0
    for label, style in badges(meta):
        cell = f" {label} "
        if used and width and used + 1 + len(cell) > width:
            text.append("\n")
            used = 0
        elif used:
            text.append(" ")
            used += 1
        text.append(cell, style=BADGE_STYLES.get(style, ""))
        used += len(cell)
    return text
