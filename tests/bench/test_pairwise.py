"""The pairwise judge: preferences from logits in both orders, contradictions, preserved %, agreement checks."""

from __future__ import annotations

import numpy as np
import pytest

from bench import pairwise
from bench.pairwise import (
    AGREEMENT_MIN,
    METHOD,
    PROMPTS,
    PairVerdict,
    PairwiseJudge,
    Preference,
    StoredVerdict,
    ab_messages,
    judge_agreement,
    judge_rows,
    point_messages,
    preference,
    preserved_by_strategy,
    rating_agreement,
    text_digest,
)
from bench.results import Row, RowKey
from bench.tasks import Task

JUDGE = "judge.gguf"


def _verdict(p_base_first: float, p_cand_first: float) -> PairVerdict:
    """"ab": P(first response better) when the baseline is first, and when the candidate is first."""
    return PairVerdict.from_orders(Preference(p_base_first, 0.9), Preference(p_cand_first, 0.9))


def _row(task: str, strategy: str, answer: str = "text", **values) -> Row:
    return Row(key=RowKey(task, "d", strategy, "edge.gguf", "cloud.gguf", 64), answer=answer, **values)


def _judged(task: str, strategy: str, verdict: PairVerdict, baseline_answer: str = "base", **values) -> Row:
    stored = StoredVerdict(METHOD, JUDGE, text_digest(baseline_answer), verdict)
    return _row(task, strategy, pairwise=stored.to_dict(), **values)


def test_preference_sums_every_spelling_of_a_label_and_renormalizes() -> None:
    probs = np.zeros(10)
    probs[[1, 2, 3]] = [0.3, 0.1, 0.2]  # "A" and " A" are tokens 1 and 2, "B" is token 3
    pref = preference(probs, (1, 2), (3,))
    assert pref.p_first == pytest.approx(0.4 / 0.6)
    assert pref.mass == pytest.approx(0.6)
    assert preference(np.zeros(10), (1,), (3,)) == Preference(0.5, 0.0)


def test_the_baseline_wins_only_when_preferred_in_both_orders() -> None:
    lost = _verdict(0.8, 0.3)  # baseline first: first wins; candidate first: second wins
    assert lost.p_baseline == pytest.approx((0.8, 0.7))
    assert (lost.outcome, lost.preserved, lost.contradiction) == ("baseline", False, False)
    won = _verdict(0.2, 0.9)
    assert (won.outcome, won.preserved, won.contradiction) == ("candidate", True, False)


def test_a_judge_that_prefers_the_same_position_twice_contradicts_itself_and_it_counts_as_a_tie() -> None:
    for verdict in (_verdict(0.8, 0.7), _verdict(0.3, 0.4)):
        assert (verdict.outcome, verdict.preserved, verdict.contradiction) == ("tie", True, True)
    no_preference = _verdict(0.5, 0.2)  # order 1 undecided: not a contradiction, still a tie
    assert (no_preference.outcome, no_preference.preserved, no_preference.contradiction) == ("tie", True, False)
    assert _verdict(0.8, 0.7).mean_p_baseline == pytest.approx(0.55)


def test_scores_give_one_reading_and_equal_scores_are_a_tie() -> None:
    lost = PairVerdict.from_scores(0.8, 0.6, 0.9)
    assert lost.p_baseline == pytest.approx((0.6,)) and lost.scores == (0.8, 0.6)
    assert (lost.outcome, lost.preserved) == ("baseline", False)
    assert PairVerdict.from_scores(0.6, 0.8, 0.9).outcome == "candidate"
    same = PairVerdict.from_scores(0.7, 0.7, 0.9)
    assert (same.outcome, same.preserved, same.contradiction) == ("tie", True, False)


def test_stored_verdicts_round_trip_through_the_cache_row_and_go_stale_with_the_baseline() -> None:
    row = _judged("t1", "edge", _verdict(0.8, 0.3))
    again = Row.from_json(row.to_json())
    base = _row("t1", "cloud-with-context", answer="base")
    assert pairwise.stored_verdict(again, base, JUDGE) == _verdict(0.8, 0.3)
    scored = Row.from_json(_judged("t1", "edge", PairVerdict.from_scores(0.8, 0.6, 0.9)).to_json())
    assert pairwise.stored_verdict(scored, base, JUDGE) == PairVerdict.from_scores(0.8, 0.6, 0.9)
    assert pairwise.stored_verdict(again, _row("t1", "cloud-with-context", answer="new base"), JUDGE) is None
    assert pairwise.stored_verdict(again, base, "other-judge.gguf") is None
    again.pairwise["method"] = "pairwise-v0"
    assert pairwise.stored_verdict(again, base, JUDGE) is None


def test_preserved_share_counts_wins_and_ties_and_leaves_out_stale_verdicts() -> None:
    rows = [_row(t, "cloud-with-context", answer="base") for t in ("t1", "t2", "t3", "t4")]
    rows += [
        _judged("t1", "edge", _verdict(0.8, 0.3)),  # baseline wins
        _judged("t2", "edge", _verdict(0.8, 0.7)),  # tie
        _judged("t3", "edge", _verdict(0.2, 0.9)),  # edge wins
        _judged("t4", "edge", _verdict(0.9, 0.1), baseline_answer="an older baseline"),  # stale: left out
        _judged("t1", "sketch", _verdict(0.9, 0.1)),
        _row("t2", "sketch", error="CloudError: boom"),
    ]
    edge, sketch, fuse = preserved_by_strategy(rows, ["edge", "sketch", "fuse"], JUDGE)
    assert (edge.judged, edge.wins, edge.ties, edge.losses) == (3, 1, 1, 1)
    assert edge.preserved == pytest.approx(2 / 3)
    assert (sketch.judged, sketch.preserved) == (1, 0.0)
    assert (fuse.judged, fuse.preserved, fuse.mean_p_baseline) == (0, None, None)


def test_agreement_is_the_share_of_tasks_where_the_baseline_beats_cloud_public() -> None:
    rows = []
    for i in range(10):
        rows.append(_row(f"t{i}", "cloud-with-context", answer="base", judge=7.0))
        beaten = i < 8
        rows.append(_judged(f"t{i}", "cloud-public", _verdict(0.8, 0.2) if beaten else _verdict(0.8, 0.8),
                            judge=6.0 if i < 5 else 7.5))
    check = judge_agreement(rows, JUDGE)
    assert (check.tasks, check.agreed, check.share, check.passed) == (10, 8, 0.8, True)
    assert "passes" in check.line()
    old = rating_agreement(rows)
    assert (old.tasks, old.agreed, old.passed) == (10, 5, False)
    assert "FAILS" in old.line() and f"{AGREEMENT_MIN:.0%}" in old.line()


def test_the_prompts_keep_notes_and_request_first_and_ab_swaps_the_responses() -> None:
    ab = PROMPTS["ab-details"]
    question = ab.questions[0][0]
    one = ab_messages(ab, "Landlord: Mr. Holm", "Email the landlord.", "FIRST", "SECOND", question)
    two = ab_messages(ab, "Landlord: Mr. Holm", "Email the landlord.", "SECOND", "FIRST", question)
    a, b = one[1].content, two[1].content
    assert a.index("FIRST") < a.index("SECOND") and b.index("SECOND") < b.index("FIRST")
    shared = a[: a.index("FIRST")]
    assert b.startswith(shared) and "Mr. Holm" in shared and "Email the landlord." in shared
    points = PROMPTS["points-all"]
    x = point_messages(points, "Landlord: Mr. Holm", "Email the landlord.", "FIRST", points.questions[0][0])[1].content
    y = point_messages(points, "Landlord: Mr. Holm", "Email the landlord.", "FIRST", points.questions[-1][0])[1].content
    assert x != y and y.startswith(x[: x.index("FIRST") + len("FIRST")])  # the wordings share notes, request, answer


TASK = Task("t1", "Write a short email to my landlord asking to fix the heating.",
            "Landlord: Mr. Holm\nBedroom radiator cold since Monday\nParents visit March 14",
            ("Mr. Holm",), (), "email")
GOOD = "Dear Mr. Holm,\nThe bedroom radiator has been cold since Monday. Could it be fixed before March 14?\nThanks"
BAD = "Dear [Landlord],\nThe heating is broken. Please fix it.\n[Your Name]"


@pytest.fixture(scope="module")
def judge(smol_path):
    """The "ab" method on the smallest real model (the mechanics are under test, not its taste)."""
    j = PairwiseJudge(smol_path, n_ctx=1024, n_threads=1, prompt=PROMPTS["ab-details"])
    yield j
    j.close()


def test_the_real_ab_judge_reads_one_preference_per_order_from_the_logits(judge) -> None:
    verdict = judge.compare(TASK.private_context, TASK.instruction, GOOD, BAD)
    assert len(verdict.p_baseline) == 2 and verdict.scores is None
    for p, mass in zip(verdict.p_baseline, verdict.mass):
        assert 0.0 < p < 1.0 and 0.0 < mass <= 1.0
    one = judge.prefer(TASK.private_context, TASK.instruction, GOOD, BAD)
    two = judge.prefer(TASK.private_context, TASK.instruction, BAD, GOOD)
    assert one.p_first != pytest.approx(two.p_first, abs=1e-6)  # two different prompts
    assert verdict == PairVerdict.from_orders(one, two)


def test_the_real_points_judge_scores_each_answer_alone_and_averages_its_wordings(judge, smol_path) -> None:
    both = PairwiseJudge(smol_path, prompt=PROMPTS["points-details-generic"], llm=judge.llm)  # shares the model
    verdict = both.compare(TASK.private_context, TASK.instruction, GOOD, BAD)
    good, bad = (both.score(TASK.private_context, TASK.instruction, a).p_first for a in (GOOD, BAD))
    assert verdict.scores == pytest.approx((good, bad)) and verdict.p_baseline == pytest.approx((0.5 + (good - bad) / 2,))
    singles = []
    for question in PROMPTS["points-details-generic"].questions:
        prompt = pairwise.JudgePrompt("one", "points", pairwise.PROMPT.system, (question,), ("yes", "no"))
        singles.append(PairwiseJudge(smol_path, prompt=prompt, llm=judge.llm)
                       .score(TASK.private_context, TASK.instruction, GOOD).p_first)
    assert good == pytest.approx(sum(singles) / 2)
    assert singles[0] != pytest.approx(singles[1])  # "yes" is better in one, worse in the other
    evaluated = both.evaluated
    same = both.compare(TASK.private_context, TASK.instruction, GOOD, GOOD)
    assert (same.outcome, same.p_baseline) == ("tie", (0.5,))
    compared = both.evaluated - evaluated
    both.score(TASK.private_context, TASK.instruction, GOOD)  # from the same cache state as the compare
    assert compared == both.evaluated - evaluated - compared  # the second copy of the answer was not scored again


def test_reusing_the_kv_cache_does_not_change_a_preference(judge, smol_path) -> None:
    warm = judge.prefer(TASK.private_context, TASK.instruction, GOOD, BAD)  # after other prompts of the task
    fresh_judge = PairwiseJudge(smol_path, n_ctx=1024, n_threads=1, prompt=PROMPTS["ab-details"])
    try:
        fresh = fresh_judge.prefer(TASK.private_context, TASK.instruction, GOOD, BAD)
        reused = fresh_judge.evaluated
        fresh_judge.prefer(TASK.private_context, TASK.instruction, GOOD, GOOD)  # shares notes, request, GOOD
        assert fresh_judge.evaluated - reused < reused / 2
    finally:
        fresh_judge.close()
    assert warm == fresh


def test_judge_rows_fills_stale_verdicts_only_and_the_baseline_meets_itself(judge) -> None:
    rows = [_row("t1", "cloud-with-context", answer=GOOD), _row("t1", "cloud-public", answer=BAD),
            _row("t1", "edge", answer=GOOD), _row("t1", "sketch", error="CloudError: boom")]
    written = []
    assert judge_rows(judge, rows, [TASK], on_judged=written.append) == 3
    assert written == [rows[1], rows[2], rows[0]] and rows[3].pairwise is None
    name, method = judge.path.name, rows[0].pairwise["method"]
    assert method.startswith("pairwise-v1-ab-details-")
    same = pairwise.stored_verdict(rows[0], rows[0], name, method)
    assert same.p_baseline[0] == pytest.approx(1.0 - same.p_baseline[1])  # one prompt, read in both roles
    assert pairwise.stored_verdict(rows[1], rows[0], name, method) is not None
    assert judge_rows(judge, rows, [TASK]) == 0  # nothing stale
    rows[0].answer = GOOD + "\nBest, Ann"  # the baseline changed: every verdict against it is stale
    assert judge_rows(judge, rows, [TASK]) == 3
    (public,) = preserved_by_strategy(rows, ["cloud-public"], name, method=method)
    assert public.judged == 1
