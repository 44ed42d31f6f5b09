"""The conversation's earlier turns on the cloud side: checked like every other field, rendered as
chat turns between the system message and the prompt."""

from __future__ import annotations

import pytest

from cloud_service.backends.base import Prompt
from cloud_service.validation import MAX_HISTORY_TURNS, BadRequest, check_fuse_open, check_generate, check_sketch
from protos import tandem_pb2 as pb


def test_history_is_rendered_as_chat_turns_before_the_prompt() -> None:
    prompt = Prompt("Shorter", system="S", history=(("Write to [PERSON_1]", "Dear [PERSON_1], ..."),))
    assert prompt.chat() == [("system", "S"), ("user", "Write to [PERSON_1]"),
                             ("assistant", "Dear [PERSON_1], ..."), ("user", "Shorter")]
    assert Prompt("Hi").chat() == [("user", "Hi")]


@pytest.mark.parametrize(("history", "message"), [
    ([pb.Turn(instruction="q", answer="a")] * (MAX_HISTORY_TURNS + 1), "at most 64"),
    ([pb.Turn(instruction=" ", answer="a")], r"history\[0\].instruction is empty"),
    ([pb.Turn(instruction="q", answer="a" * 40)], "history has 41 characters; the limit is 32"),
])
def test_bad_history_is_refused_with_a_clear_message(history, message: str) -> None:
    requests = (
        lambda: check_generate(pb.GenerateRequest(prompt="x", max_tokens=1, history=history), 16, 32),
        lambda: check_sketch(pb.SketchRequest(instruction="x", history=history), 16, 32),
        lambda: check_fuse_open(pb.FuseOpen(vocab_fingerprint="f", prompt="x", history=history), 32),
    )
    for check in requests:
        with pytest.raises(BadRequest, match=message):
            check()
    check_generate(pb.GenerateRequest(prompt="x", max_tokens=1, history=[pb.Turn(instruction="q", answer="a")]), 16, 32)
