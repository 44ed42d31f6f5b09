"""The report codec loses nothing: every field, the nested stats and the finish's fields included."""

import json

from edge_agent.cloud_client import WireStats
from edge_agent.fusion.stats import FuseStats
from edge_agent.strategies.report import AnswerReport, Candidate, report_from_dict, report_to_dict


def test_a_full_report_survives_json_both_ways() -> None:
    report = AnswerReport(
        strategy="slots", request_id="abc123", answered_by="edge+cloud", fallback="", sketch=["a", "b"],
        fuse=FuseStats(tokens=3, round_trips=2, token_ids=[1, 2, 3]), score=0.5, verdict="C",
        verdict_probs={"A": 0.1, "B": 0.2, "C": 0.7}, candidates=[Candidate("edge", "hi", 0.4, "B", {"B": 1.0})],
        chosen="edge", notes_used=["Landlord: Mr. Holm"], draft="Dear [landlord's name],",
        slot_values={"[landlord's name]": "Mr. Holm"}, slots_dropped=["[reason]"],
        repair_added=["My parents arrive on March 14."], wire=WireStats(["Generate"], 10, 20), text="Dear Mr. Holm,",
        edge_tokens=7, first_text_s=1.5, total_s=2.5, cancelled=True,
    )
    again = report_from_dict(json.loads(json.dumps(report_to_dict(report))))
    assert again == report and again.cancel.is_set()
    assert report_to_dict(again) == report_to_dict(report)
    assert "1 slot(s) filled, 1 dropped, 1 note line(s) added" in report.summary()
