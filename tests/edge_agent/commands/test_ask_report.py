"""The lines `tandem ask` prints under an answer name the notes it used, when the report has them."""

import io

from edge_agent.commands.ask import print_report
from edge_agent.strategies.report import AnswerReport


def test_the_notes_used_are_listed_under_the_answer() -> None:
    out = io.StringIO()
    print_report(AnswerReport("checked", notes_used=["Landlord: Mr. Holm", "Radiator cold since Monday"]), out)
    assert "-- notes used:\n--   Landlord: Mr. Holm\n--   Radiator cold since Monday\n" in out.getvalue()
    out = io.StringIO()
    print_report(AnswerReport("edge"), out)
    assert "notes used" not in out.getvalue()
