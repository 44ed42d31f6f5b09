"""The report's one codec: every field survives the trip to a dict (store meta, daemon socket) and back."""

from __future__ import annotations

import dataclasses
import json

from edge_agent.cloud_client import WireStats
from edge_agent.fusion.stats import FuseStats
from edge_agent.strategies.report import AnswerReport, Candidate, report_from_dict, report_to_dict


def test_a_full_report_round_trips_through_json() -> None:
    report = AnswerReport(
        strategy="best-of", request_id="abc123", answered_by="edge+cloud", fallback="x", sketch=["a", "b"],
        fuse=FuseStats(), score=0.5, verdict="C", verdict_probs={"A": 0.1, "B": 0.2, "C": 0.7},
        candidates=[Candidate("edge", "hi", 0.4, "B", {"B": 1.0})], chosen="edge",
        notes_used=["Landlord: Mr. Holm"], draft="Dear [landlord's name],", slot_values={"[landlord's name]": "Mr. Holm"},
        slots_dropped=["[reason]"], repair_added=["My parents arrive on March 14."],
        wire=WireStats(["Generate"], 10, 20), text="hello", edge_tokens=3, history_turns=4, history_dropped=2,
        prompt_tokens=900, cached_tokens=880, first_text_s=0.3, total_s=1.2, cancelled=True,
    )
    report.cancel.set()
    back = report_from_dict(json.loads(json.dumps(report_to_dict(report))))
    assert back == report and back.cancel.is_set()
    local = {"started", "cancel"}
    assert {f.name for f in dataclasses.fields(AnswerReport)} - local == set(report_to_dict(report))


def test_the_summary_says_how_much_history_the_answer_was_given() -> None:
    assert "history" not in AnswerReport("edge").summary()
    assert "history: 3 earlier turn(s), 2 older left out" in AnswerReport("edge", history_turns=3,
                                                                          history_dropped=2).summary()


def test_the_summary_says_what_the_edge_finish_did() -> None:
    report = AnswerReport("slots", draft="Dear [x],", slot_values={"[x]": "Mr. Holm"}, repair_added=["a.", "b."])
    assert "finished on the edge: 1 slot(s) filled, 0 dropped, 2 note line(s) added" in report.summary()
    assert "finished on the edge" not in AnswerReport("edge").summary()
