"""The benchmark cache key: a changed setting or prompt makes the answer again; old rows stay readable."""

from __future__ import annotations

import json

import pytest

from bench import answer_key
from bench.answer_key import DEPENDS, UndeclaredStrategy, answer_setup
from bench.results import ResultCache, Row, RowKey
from edge_agent.config import Config
from edge_agent.context import PrivateContext
from edge_agent.strategies import STRATEGIES, Strategy, prompts

NOTES = PrivateContext("Landlord: Mr. Holm\nRadiator cold since Monday")
ASK = "Email Mr. Holm about the radiator."
# The strategies DEPENDS declares; one added to STRATEGIES later gets the conservative key (tested below).
DECLARED = ("edge", "cloud-public", "sketch", "fuse", "cloud-with-context", "best-of", "checked", "slots")


def _setups(config: Config) -> dict[str, str]:
    return {s: answer_setup(s, config, ASK, NOTES) for s in DECLARED}


def _key(setup: str) -> RowKey:
    return RowKey("t1", "digest", "fuse", "edge.gguf", "cloud.gguf", 160, setup)


def test_every_strategy_declares_what_its_answers_depend_on_or_gets_a_key_anyway() -> None:
    assert set(DECLARED) <= set(DEPENDS) and set(DECLARED) <= set(STRATEGIES)
    keys = {s: answer_setup(s, Config(), ASK, NOTES) for s in STRATEGIES}
    assert len(set(keys.values())) == len(STRATEGIES)  # one distinct key per strategy


def test_a_changed_setting_changes_the_key_of_the_strategies_that_read_it() -> None:
    before = _setups(Config())
    config = Config()
    config.fuse.cloud_weight = 0.7
    after = _setups(config)
    changed = {s for s in DECLARED if before[s] != after[s]}
    assert changed == {"fuse", "best-of"}  # best-of runs fuse (best_of.strategies)

    config = Config()
    config.best_of.samples = 3
    assert {s for s, v in _setups(config).items() if v != before[s]} == {"best-of"}

    config = Config()
    config.cloud.sketch_max_tokens = 64
    assert {s for s, v in _setups(config).items() if v != before[s]} == {"sketch", "best-of"}

    config = Config()
    config.best_of.strategies = "edge"  # no longer runs sketch: a sketch setting is then irrelevant to it
    config.cloud.sketch_max_tokens = 64
    other = Config()
    other.best_of.strategies = "edge"
    assert answer_setup("best-of", config, ASK, NOTES) == answer_setup("best-of", other, ASK, NOTES)


def test_a_changed_prompt_changes_the_key_of_the_strategies_that_use_it(monkeypatch) -> None:
    before = _setups(Config())
    monkeypatch.setattr(prompts, "EDGE_SYSTEM", prompts.EDGE_SYSTEM + " Be brief.")
    after = _setups(Config())
    # cloud-with-context's system prompt is built from EDGE_SYSTEM too
    assert {s for s in DECLARED if before[s] != after[s]} == {"edge", "sketch", "fuse", "cloud-with-context", "best-of",
                                                               "checked", "slots"}  # slots falls back to checked
    monkeypatch.undo()
    monkeypatch.setattr(prompts, "CLOUD_PUBLIC_SYSTEM", "Write it.")
    assert {s for s, v in _setups(Config()).items() if v != before[s]} == {"cloud-public", "fuse", "best-of"}


def test_a_changed_template_function_changes_the_key(monkeypatch) -> None:
    before = answer_setup("sketch", Config(), ASK, NOTES)
    monkeypatch.setattr(prompts, "_notes_block", lambda context: f"\n\nNotes:\n{context.text}")
    assert answer_setup("sketch", Config(), ASK, NOTES) != before


def test_what_the_cloud_sees_of_the_instruction_is_part_of_the_key_of_cloud_strategies() -> None:
    config = Config()
    other_ask = "Email Mr. Holm about the boiler."
    assert answer_setup("cloud-public", config, ASK, NOTES) != answer_setup("cloud-public", config, other_ask, NOTES)
    assert answer_setup("edge", config, ASK, NOTES) == answer_setup("edge", config, other_ask, NOTES)


def test_a_changed_setting_or_prompt_misses_the_cache(tmp_path, monkeypatch) -> None:
    path = tmp_path / "quality.jsonl"
    cache = ResultCache(path)
    made = _key(answer_setup("fuse", Config(), ASK, NOTES))
    cache.put(Row(key=made, answer="Dear Mr. Holm"))
    again = ResultCache(path)
    assert again.get(_key(answer_setup("fuse", Config(), ASK, NOTES))).answer == "Dear Mr. Holm"

    config = Config()
    config.fuse.draft = 2
    assert again.get(_key(answer_setup("fuse", config, ASK, NOTES))) is None
    monkeypatch.setattr(prompts, "CLOUD_PUBLIC_SYSTEM", "Write it.")
    assert again.get(_key(answer_setup("fuse", Config(), ASK, NOTES))) is None


def test_rows_written_before_the_setup_field_load_but_match_no_new_key(tmp_path) -> None:
    old = Row(key=_key("")).to_json()
    data = json.loads(old)
    del data["key"]["setup"]
    del data["pairwise"]
    path = tmp_path / "quality.jsonl"
    path.write_text(json.dumps(data) + "\n")
    cache = ResultCache(path)
    assert len(cache.rows) == 1
    assert cache.get(_key(answer_setup("fuse", Config(), ASK, NOTES))) is None


def test_an_undeclared_strategy_is_refused(monkeypatch) -> None:
    monkeypatch.setitem(DEPENDS, "best-of", answer_key.Depends(uses=("mystery",)))
    with pytest.raises(UndeclaredStrategy, match="mystery"):
        answer_setup("best-of", Config(), ASK, NOTES)


def _register(monkeypatch, tmp_path, name: str, source: str, calls_cloud: bool = True) -> None:
    """A strategy someone adds later: its own module, a line in STRATEGIES, nothing in answer_key."""
    module = f"bench_key_probe_{name}"
    (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(STRATEGIES, name, Strategy(name, f"{module}:run", "a later strategy", calls_cloud=calls_cloud))


def test_a_strategy_added_later_without_declaring_anything_gets_a_safe_key(monkeypatch, tmp_path) -> None:
    _register(monkeypatch, tmp_path, "later", "def run(ctx, request, report):\n    yield 'v1'\n")
    assert "later" not in DEPENDS
    before = answer_setup("later", Config(), ASK, NOTES)
    assert answer_setup("later", Config(), ASK, NOTES) == before  # stable while nothing changes
    elsewhere = Config()
    elsewhere.edge.n_threads, elsewhere.cloud.address = 1, "10.0.0.2:50051"  # where and how fast, not what
    elsewhere.privacy.audit_log = "/tmp/elsewhere.jsonl"
    assert answer_setup("later", elsewhere, ASK, NOTES) == before
    for section, key, value in [("edge", "temperature", 0.3), ("cloud", "sketch_max_tokens", 64),
                                ("quality", "verify", True), ("fuse", "draft", 2), ("best_of", "samples", 3)]:
        config = Config()
        assert getattr(config.__dict__[section], key) != value
        setattr(getattr(config, section), key, value)
        assert answer_setup("later", config, ASK, NOTES) != before, f"{section}.{key}"
    # it calls the cloud: what the cloud sees of the instruction is part of its key
    assert answer_setup("later", Config(), "Email Mr. Holm about the boiler.", NOTES) != before
    (tmp_path / "bench_key_probe_later.py").write_text("def run(ctx, request, report):\n    yield 'v2'\n")
    assert answer_setup("later", Config(), ASK, NOTES) != before  # its code changed
    monkeypatch.setattr(answer_key, "_source_digest", lambda module: "prompts edited"
                        if module == "edge_agent.strategies.prompts" else "same")
    edited = answer_setup("later", Config(), ASK, NOTES)
    monkeypatch.setattr(answer_key, "_source_digest", lambda module: "same")
    assert answer_setup("later", Config(), ASK, NOTES) != edited  # the prompts module is part of it too


def test_a_later_strategy_run_by_best_of_is_covered_too(monkeypatch, tmp_path) -> None:
    _register(monkeypatch, tmp_path, "later", "def run(ctx, request, report):\n    yield ''\n", calls_cloud=False)
    config = Config()
    config.best_of.strategies = "edge,later"
    before = answer_setup("best-of", config, ASK, NOTES)
    config.quality.verify = True  # read by nothing declared, but "later" may read it
    assert answer_setup("best-of", config, ASK, NOTES) != before
    config.quality.verify = False
    config.privacy.proper_nouns = False  # nothing here sends the instruction, so only "later"'s key shows it
    assert answer_setup("best-of", config, ASK, NOTES) != before
    other = Config()
    other.best_of.strategies = "edge,later"
    assert answer_setup("edge", config, ASK, NOTES) == answer_setup("edge", other, ASK, NOTES)
