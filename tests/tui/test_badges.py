"""The badges under an answer, from the meta the store keeps with it."""

from __future__ import annotations

from tui.badges import badge_text, badges, cloud_summary, tokens_per_second

CLOUD = {"rpcs": ["Sketch", "Generate", "Generate"], "bytes_up": 310, "bytes_down": 1234}


def labels(meta: dict) -> list[str]:
    return [label for label, _ in badges(meta)]


def test_an_edge_answer_says_nothing_was_sent():
    meta = {"strategy": "edge", "edge_tokens": 41, "first_text_s": 0.5, "total_s": 1.5, "wire": {"rpcs": []}}
    assert labels(meta) == ["edge", "40.0 tok/s", "☁ nothing sent"]


def test_a_cloud_answer_names_its_rpcs_and_bytes():
    assert cloud_summary({"wire": CLOUD}) == "3 RPCs (Generate, Sketch) 310 B↑ 1.2 kB↓"
    assert cloud_summary({"wire": {"rpcs": ["Sketch"], "bytes_up": 61, "bytes_down": 999}}) == \
        "1 RPC (Sketch) 61 B↑ 999 B↓"


def test_the_rate_counts_from_the_first_text_and_falls_back_to_pieces():
    assert tokens_per_second({"edge_tokens": 11, "first_text_s": 2.0, "total_s": 3.0}) == 10.0
    assert tokens_per_second({"pieces": 8, "total_s": 2.0}) == 4.0  # a cloud-written answer, no first time
    assert tokens_per_second({"edge_tokens": 0, "pieces": 0, "total_s": 2.0}) is None
    assert tokens_per_second({"edge_tokens": 5}) is None


def test_fallback_cancellation_errors_scores_and_verdicts_are_shown():
    meta = {"strategy": "best-of", "fallback": "cloud unreachable", "interrupted": "cancelled",
            "score": 0.8234, "verdict": "B", "wire": CLOUD}
    assert labels(meta) == ["best-of", "cancelled", "fallback: edge alone",
                            "☁ 3 RPCs (Generate, Sketch) 310 B↑ 1.2 kB↓", "score 0.82", "verdict B: not grounded"]
    assert labels({"strategy": "edge", "error": "boom", "interrupted": "error: boom"})[:2] == ["edge", "error"]
    assert "interrupted" in labels({"strategy": "edge", "interrupted": "the answer was cut off when tandem stopped"})
    assert "OPT-IN: notes sent to cloud" in labels({"strategy": "cloud-with-context", "context_sent": True})


def test_badges_wrap_between_badges_never_inside_one():
    meta = {"strategy": "sketch", "edge_tokens": 84, "total_s": 2.0, "fallback": "x", "wire": CLOUD, "score": 0.5}
    one_line = badge_text(meta, width=0).plain
    assert "\n" not in one_line
    for width in (20, 40, 56, 80):
        lines = [line.strip().split("   ") for line in badge_text(meta, width=width).plain.split("\n")]
        assert [cell for line in lines for cell in line] == labels(meta), "every badge is whole, in order"
        for line in lines:
            # only a badge alone on its line may be wider than the line
            assert len(line) == 1 or len("   ".join(line)) + 2 <= width, (width, lines)
    assert [len(line) for line in (badge_text(meta, w).plain.split("\n") for w in (20, 56, 200))] == [5, 3, 1]
