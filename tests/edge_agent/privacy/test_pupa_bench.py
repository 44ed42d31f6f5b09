"""The privacy benchmark's data and scoring (bench/privacy/pupa.py)."""

from __future__ import annotations

import csv
import re

from bench.privacy.pupa import DATA, load_rows, score, summarize


def test_tnb_rows_are_the_216_of_the_issue() -> None:
    rows = load_rows()
    assert len(rows) == 216
    assert all("PRESIDIO" not in r.query and r.units for r in rows)
    assert {sum(r.half == h for r in rows) for h in ("dev", "test")} == {108}


def test_the_metric_separates_sending_everything_from_sending_nothing_and_the_authors_redaction() -> None:
    rows = {r.conversation_hash + r.query: r for r in load_rows()}
    with open(DATA, encoding="utf-8", newline="") as f:
        records = [rec for rec in csv.DictReader(f) if rec["conversation_hash"] + rec["user_query"] in rows]
    as_is = summarize("as is", "all", [score(rows[r["conversation_hash"] + r["user_query"]], r["user_query"])
                                       for r in records])
    nothing = summarize("nothing", "all", [score(rows[r["conversation_hash"] + r["user_query"]], "") for r in records])
    authors = summarize("authors", "all", [score(rows[r["conversation_hash"] + r["user_query"]], r["redacted_query"])
                                           for r in records])
    assert as_is.leakage == 1.0 and as_is.words_kept == 1.0
    assert nothing.leakage == 0.0 and nothing.words_kept == 0.0
    assert authors.leakage < 0.15 and authors.words_kept > 0.9  # the dataset's own redaction: little leaks, most stays


def test_placeholders_do_not_count_as_leaks() -> None:
    row = next(r for r in load_rows() if "rachel zheng" in r.units)
    sent = re.sub("|".join(sorted(map(re.escape, row.units), key=len, reverse=True)), "[PERSON_1]", row.query,
                  flags=re.IGNORECASE)
    assert score(row, sent).leakage == 0.0  # "[PERSON_1]" holds no unit's text once blanked
    assert score(row, f"<PERSON> [NAME_2] {row.query}").leakage == 1.0
