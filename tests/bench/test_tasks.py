"""Tests for the personalized-writing task set and its loader."""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from bench.tasks import (
    CATEGORIES,
    DEFAULT_TASKS,
    Task,
    TaskFileError,
    fact_recall,
    find_canaries,
    load_tasks,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _is_name_like(word: str) -> bool:
    """Capitalized, or written in a script without case (e.g. 李伟)."""
    first = word[0]
    return first.isupper() or (first.isalpha() and first.lower() == first.upper())


def mentioned_private_details(task: Task) -> list[str]:
    """The rule used to write the task file: an instruction mentions a private
    detail if it contains a canary, or a capitalized word (a name, a month, a
    weekday) other than its first word and "I" that also appears as a word in
    the task's private context."""
    hits = find_canaries(task.instruction, task.canaries)
    context_words = set(re.findall(r"\w+", task.private_context))
    words = re.findall(r"\w+", task.instruction)[1:]
    hits += [w for w in words if w != "I" and _is_name_like(w) and w in context_words]
    return hits


@pytest.fixture(scope="module")
def shipped() -> list[Task]:
    return load_tasks()


# --------------------------------------------------------------- shipped file


def test_default_path_is_the_repo_task_file():
    assert DEFAULT_TASKS == REPO_ROOT / "bench" / "tasks" / "personal_writing.jsonl"
    assert DEFAULT_TASKS.is_file()


def test_shipped_file_loads_with_enough_tasks_in_every_category(shipped):
    assert len(shipped) >= 26
    assert all(isinstance(t, Task) for t in shipped)
    counts = Counter(t.category for t in shipped)
    assert set(counts) == CATEGORIES
    assert min(counts.values()) >= 3, counts
    assert len({t.id for t in shipped}) == len(shipped)


def test_about_a_third_of_instructions_mention_a_private_detail(shipped):
    mentioning = [t.id for t in shipped if mentioned_private_details(t)]
    share = len(mentioning) / len(shipped)
    assert share >= 0.25, mentioning
    # most requests must stay generic, so the context is what matters
    assert share <= 0.5, mentioning


def test_mention_rule_examples():
    task = Task(
        id="t",
        instruction="Text Leila about Sunday and call Wu Ming",
        private_context="Sister: Leila\nSunday lunch\nFriend: Wu Ming, 555-0100\n李伟",
        required_facts=(),
        canaries=("Wu Ming",),
        category="message",
    )
    assert mentioned_private_details(task) == ["Wu Ming", "Leila", "Sunday", "Wu", "Ming"]
    generic = dataclasses.replace(task, instruction="Write a note to my sister about lunch", canaries=())
    assert mentioned_private_details(generic) == []
    cjk = dataclasses.replace(task, instruction="Email 李伟 about dinner", canaries=())
    assert mentioned_private_details(cjk) == ["李伟"]


def test_shipped_tasks_follow_the_authoring_rules(shipped):
    for t in shipped:
        lines = t.private_context.split("\n")
        assert 6 <= len(lines) <= 12, t.id
        assert all(line.strip() == line and line for line in lines), t.id
        assert 2 <= len(t.required_facts) <= 4, t.id
        assert all(1 <= len(f.split()) <= 4 for f in t.required_facts), t.id
        assert 2 <= len(t.canaries) <= 5, t.id
        assert len(set(t.canaries)) == len(t.canaries), t.id
        # a perfect answer must be able to include every fact without leaking
        for fact in t.required_facts:
            assert not find_canaries(fact, t.canaries), (t.id, fact)
        # canaries must be distinctive: long, or in a non-Latin script
        for canary in t.canaries:
            assert len(canary) >= 6 or not canary.isascii(), (t.id, canary)
        # every canary also appears in its own context, whatever the case
        assert find_canaries(t.private_context, t.canaries) == list(t.canaries)
        assert fact_recall(t.private_context, t.required_facts) == 1.0


def test_shipped_contexts_use_only_reserved_email_domains(shipped):
    emails = [e for t in shipped for e in re.findall(r"[\w.+-]+@([\w.-]+)", t.private_context)]
    assert len(emails) >= 5
    assert all(domain in {"example.com", "example.org", "example.net"} for domain in emails), emails


def test_shipped_names_include_non_latin_scripts_and_accents(shipped):
    text = "\n".join(t.private_context for t in shipped)
    assert re.search(r"[\u4e00-\u9fff]", text)  # CJK
    assert re.search(r"[\u0400-\u04ff]", text)  # Cyrillic
    accented = {c for c in text if c.isalpha() and not c.isascii()} - set(re.findall(r"[\u0400-\u04ff\u4e00-\u9fff]", text))
    assert len(accented) >= 5, accented


def test_shipped_file_is_one_object_per_line_with_exact_schema():
    keys = {"id", "instruction", "private_context", "required_facts", "canaries", "category"}
    for line in DEFAULT_TASKS.read_text(encoding="utf-8").splitlines():
        assert set(json.loads(line)) == keys


# --------------------------------------------------------------- loader


def _good(**overrides) -> dict:
    task = {
        "id": "t1",
        "instruction": "Write a note.",
        "private_context": "Name: Zoë Ångström\nDentist on March 14 at 3:30 pm\nPhone: 555-0199",
        "required_facts": ["March 14", "3:30 pm"],
        "canaries": ["Zoë Ångström", "555-0199"],
        "category": "note",
    }
    task.update(overrides)
    return task


def _write(tmp_path: Path, lines: list[str], name: str = "tasks.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def test_load_small_file_skips_blank_lines_and_accepts_str_path(tmp_path):
    path = _write(tmp_path, [_dump(_good()), "", "   ", _dump(_good(id="t2", category="email"))])
    tasks = load_tasks(str(path))
    assert [t.id for t in tasks] == ["t1", "t2"]
    first = tasks[0]
    assert first.required_facts == ("March 14", "3:30 pm")
    assert first.canaries == ("Zoë Ångström", "555-0199")
    assert tasks[1].category == "email"
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.id = "other"  # type: ignore[misc]


def test_load_ignores_utf8_bom_and_unknown_keys(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes("\ufeff".encode() + _dump(_good(notes="extra")).encode() + b"\n")
    assert [t.id for t in load_tasks(path)] == ["t1"]


def test_limit(tmp_path):
    path = _write(tmp_path, [_dump(_good(id=f"t{i}")) for i in range(5)])
    assert [t.id for t in load_tasks(path, limit=2)] == ["t0", "t1"]
    assert load_tasks(path, limit=0) == []
    assert len(load_tasks(path, limit=99)) == 5
    with pytest.raises(ValueError, match="limit"):
        load_tasks(path, limit=-1)


def test_limit_still_validates_the_whole_file(tmp_path):
    path = _write(tmp_path, [_dump(_good(id="a")), _dump(_good(id="a"))])
    with pytest.raises(TaskFileError, match=r":2: duplicate id 'a'"):
        load_tasks(path, limit=1)


def test_empty_file_is_an_error(tmp_path):
    path = _write(tmp_path, ["", ""], name="empty.jsonl")
    with pytest.raises(TaskFileError, match="empty.jsonl: no tasks"):
        load_tasks(path)


def test_missing_file_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_tasks(tmp_path / "nope.jsonl")


BAD_LINES = {
    "bad_json": ('{"id": "t9", "instruction": ', "bad JSON"),
    "not_an_object": ('["a", "b"]', "wrong type: expected a JSON object, got list"),
    "missing_key": (_dump({k: v for k, v in _good(id="t9").items() if k != "canaries"}), "missing key 'canaries'"),
    "string_field_wrong_type": (_dump(_good(id="t9", instruction=["Write"])), "wrong type for 'instruction'"),
    "id_wrong_type": (_dump(_good(id=9)), "wrong type for 'id'"),
    "list_field_wrong_type": (_dump(_good(id="t9", required_facts="March 14")), "wrong type for 'required_facts'"),
    "list_item_wrong_type": (_dump(_good(id="t9", canaries=["555-0199", 42])), "wrong type for canaries[1]"),
    "empty_fact": (_dump(_good(id="t9", required_facts=["  "])), "required_facts[0] is empty"),
    "empty_instruction": (_dump(_good(id="t9", instruction="")), "'instruction' is empty"),
    "fact_not_in_context": (
        _dump(_good(id="t9", required_facts=["March 14", "4:30 pm"])),
        "required fact '4:30 pm' is not in private_context",
    ),
    "fact_differs_in_case": (
        _dump(_good(id="t9", required_facts=["march 14"])),
        "required fact 'march 14' is not in private_context",
    ),
    "canary_not_in_context": (
        _dump(_good(id="t9", canaries=["Zoë Ångström", "zoe@example.com"])),
        "canary 'zoe@example.com' is not in private_context",
    ),
    "unknown_category": (_dump(_good(id="t9", category="tweet")), "unknown category 'tweet'"),
    "duplicate_id": (_dump(_good(id="t1")), "duplicate id 't1' (first used on line 1)"),
}


@pytest.mark.parametrize("case", sorted(BAD_LINES))
def test_validation_errors_name_file_line_and_problem(tmp_path, case):
    bad_line, problem = BAD_LINES[case]
    # a good task on line 1, a blank line 2, the bad task on line 3
    path = _write(tmp_path, [_dump(_good(id="t1")), "", bad_line, _dump(_good(id="t4"))], name=f"{case}.jsonl")
    with pytest.raises(TaskFileError) as info:
        load_tasks(path)
    message = str(info.value)
    assert message.startswith(f"{path}:3: "), message
    assert problem in message, message
    assert isinstance(info.value, ValueError)


def test_invalid_utf8_is_reported_with_line(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(_dump(_good()).encode() + b"\n" + _dump(_good(id="t2")).encode("utf-8").replace(b"t2", b"t\xe9") + b"\n")
    with pytest.raises(TaskFileError, match=r"latin1\.jsonl:2: not valid UTF-8"):
        load_tasks(path)


# --------------------------------------------------------------- scoring helpers


def test_fact_recall_is_case_and_whitespace_insensitive():
    answer = "See you on MARCH  14\nat 3:30\u00a0PM at the clinic."
    assert fact_recall(answer, ["March 14", "3:30 pm"]) == 1.0
    assert fact_recall(answer, ["march 14", "Dr. Feld"]) == 0.5
    assert fact_recall(answer, ["Dr. Feld", "$240", "Room B204"]) == 0.0
    assert fact_recall(answer, ["March 14", "3:30 pm", "Dr. Feld", "$240"]) == 0.5
    # a fact whose own whitespace is irregular still matches
    assert fact_recall("march 14", ["March\t 14"]) == 1.0


def test_fact_recall_without_facts_is_perfect():
    assert fact_recall("anything", []) == 1.0
    assert fact_recall("", ()) == 1.0
    assert fact_recall("", ["March 14"]) == 0.0


def test_fact_recall_handles_non_latin_and_accents():
    assert fact_recall("Привет, Дмитрий! Zoë says hi", ["дмитрий", "ZOË"]) == 1.0
    assert fact_recall("Zoe says hi", ["Zoë"]) == 0.0


def test_find_canaries_case_whitespace_order_and_duplicates():
    canaries = ["Zoë Ångström", "555-0199", "zoe@example.com", "BMH-77120-44"]
    data = 'prompt: "write to zoë\n  ÅNGSTRÖM" ... id bmh-77120-44, contact ZOE@EXAMPLE.COM'
    assert find_canaries(data, canaries) == ["Zoë Ångström", "zoe@example.com", "BMH-77120-44"]
    assert find_canaries(data, ["BMH-77120-44", "bmh-77120-44"]) == ["BMH-77120-44", "bmh-77120-44"]
    assert find_canaries(data, ["BMH-77120-44", "BMH-77120-44"]) == ["BMH-77120-44"]
    assert find_canaries("Write a short note to my dentist.", canaries) == []
    assert find_canaries(data, []) == []
    # no partial credit: a fragment of a canary is not the canary
    assert find_canaries("call 555-01", ["555-0199"]) == []


def test_find_canaries_on_shipped_tasks_redacted_vs_raw(shipped):
    task = next(t for t in shipped if t.id == "message-bookclub-group")
    assert find_canaries(task.private_context.upper(), task.canaries) == list(task.canaries)
    redacted = task.private_context
    for canary in task.canaries:
        redacted = redacted.replace(canary, "[REDACTED]")
    assert find_canaries(redacted, task.canaries) == []
