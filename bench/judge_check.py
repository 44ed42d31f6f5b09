"""Can the pairwise judge tell? Its verdicts on pairs whose order is known before judging.

For every task, the opt-in baseline's cached answer is compared (both orders) with:
  public       cloud-public's answer (written without the notes: none of the user's details)
  placeholder  the baseline's own answer with each required fact replaced by a placeholder
  offtopic     the baseline's answer to another task (the next one in the file)
and, for the "ab" method, with itself once (`self`: both orders are the same prompt; P(first)
there is the judge's position bias). A judge that can tell prefers the baseline (in both
orders, for "ab") on the first three. Verdicts are cached in a JSONL file keyed by prompt, pair kind, task and
the two texts, so an interrupted run resumes.

With `--strategies`, every strategy's cached answer is also judged against the baseline's
(`pairwise.judge_rows`, the bench's own code path; verdicts kept in a copy of the rows), and
preserved % per strategy is printed with both judges' agreement checks.

    python -m bench.judge_check --prompt points-details-generic --tasks even
    python -m bench.judge_check --prompt points-details-generic --strategies --kinds placeholder,offtopic
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import pairwise
from bench.pairwise import AGAINST, BASELINE, PROMPTS, PairVerdict, PairwiseJudge
from bench.results import CACHE_FILE, ResultCache, Row
from bench.tasks import DEFAULT_TASKS, Task, load_tasks

KINDS = ("public", "placeholder", "offtopic", "self")
SPLITS = ("even", "odd", "all")  # task halves by position in the file: pick a prompt on one, confirm on the other


def placeholder_answer(answer: str, facts: Sequence[str]) -> str | None:
    """`answer` with every required fact it contains replaced by a typed placeholder (None: it has none)."""
    out = answer
    for fact in sorted(facts, key=len, reverse=True):
        kind = "DATE" if re.search(r"\d", fact) else "NAME" if fact[:1].isupper() else "DETAIL"
        out = re.sub(re.escape(fact), f"[{kind}]", out, flags=re.IGNORECASE)
    return out if out != answer else None


def split_tasks(tasks: Sequence[Task], split: str) -> list[Task]:
    """The even or odd half of the tasks by position in the file, or all of them."""
    if split == "all":
        return list(tasks)
    return [t for i, t in enumerate(tasks) if i % 2 == (0 if split == "even" else 1)]


def pairs(tasks: Sequence[Task], answers: dict[tuple[str, str], str], kinds: Sequence[str]):
    """(kind, task, baseline answer, other answer) for every known-ordered pair that can be built."""
    everyone = list(tasks)
    for i, task in enumerate(everyone):
        base = answers.get((task.id, BASELINE))
        if not base:
            continue
        for kind in kinds:
            other = None
            if kind == "public":
                other = answers.get((task.id, AGAINST))
            elif kind == "placeholder":
                other = placeholder_answer(base, task.required_facts)
            elif kind == "offtopic":
                other = answers.get((everyone[(i + 1) % len(everyone)].id, BASELINE))
            elif kind == "self":
                other = base
            if other:
                yield kind, task, base, other


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


@dataclass
class CheckResult:
    """One known-ordered pair's verdict under one prompt."""

    prompt: str
    kind: str
    task_id: str
    verdict: PairVerdict
    seconds: float  # judging time of the pair (both orders), 0 when cached
    tokens: int  # prompt tokens computed


def _load_cache(path: Path) -> dict[str, dict]:
    cache: dict[str, dict] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                data = json.loads(line)
                cache[data["id"]] = data
            except (ValueError, KeyError):
                continue  # a line cut short by an interrupted write
    return cache


def run(judge: PairwiseJudge, items, cache_path: Path, progress=print) -> list[CheckResult]:
    """Judge every pair not in the cache, a task at a time (self first, then every baseline-first
    prompt, then every baseline-second one, so the KV cache serves the longest prefixes)."""
    cache = _load_cache(cache_path)
    by_task: dict[str, list] = {}
    for item in items:
        by_task.setdefault(item[1].id, []).append(item)
    results = []
    for group in by_task.values():
        task, base = group[0][1], group[0][2]
        keyed = [(_digest(judge.prompt.digest(), judge.path.name, kind, task.id, base, other), kind, other)
                 for kind, _, _, other in group]
        todo = [(key, kind, other) for key, kind, other in keyed if key not in cache]
        if todo:
            started, evaluated = time.perf_counter(), judge.evaluated
            order = [t for t in todo if t[1] == "self"] + [t for t in todo if t[1] != "self"]
            verdicts: list[PairVerdict] = []
            for _ in (t for t in order if t[1] == "self"):  # first: it shares the longest prefix with the rest
                same = judge.prefer(task.private_context, task.instruction, base, base)
                verdicts.append(PairVerdict.from_orders(same, same))
            verdicts += judge.compare_many(task.private_context, task.instruction, base,
                                           [other for _, kind, other in order if kind != "self"])
            seconds, tokens = time.perf_counter() - started, judge.evaluated - evaluated
            with cache_path.open("a", encoding="utf-8") as f:
                for (key, kind, _), verdict in zip(order, verdicts):
                    data = {"id": key, "prompt": judge.prompt.name, "kind": kind, "task": task.id,
                            "p_baseline": list(verdict.p_baseline), "mass": list(verdict.mass),
                            "scores": None if verdict.scores is None else list(verdict.scores),
                            "seconds": seconds / len(order), "tokens": round(tokens / len(order))}
                    f.write(json.dumps(data) + "\n")
                    cache[key] = data
                    progress(f"{judge.prompt.name} {kind} {task.id}: P(baseline better) "
                             f"{' / '.join(f'{p:.2f}' for p in verdict.p_baseline)} -> {verdict.outcome}")
            progress(f"  {task.id}: {len(todo)} pairs in {seconds:.0f}s, {tokens} prompt tokens computed")
        for key, kind, _ in keyed:
            data = cache[key]
            scores = data.get("scores")
            verdict = PairVerdict(tuple(data["p_baseline"]), tuple(data["mass"]), None if scores is None else tuple(scores))
            results.append(CheckResult(judge.prompt.name, kind, task.id, verdict, data["seconds"], data["tokens"]))
    return results


def summary(results: Sequence[CheckResult]) -> str:
    """Per prompt and kind: baseline wins in both orders / ties / losses, mean P(baseline), mass."""
    lines = ["| prompt | pair | n | baseline wins | tie | candidate wins | mean P(baseline) | P(first) | mass |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]  # P(first): "ab" only, the position bias
    groups: dict[tuple[str, str], list[CheckResult]] = {}
    for r in results:
        groups.setdefault((r.prompt, r.kind), []).append(r)
    for (prompt, kind), rs in groups.items():
        n = len(rs)
        outcomes = [r.verdict.outcome for r in rs]
        firsts = [p for r in rs if len(r.verdict.p_baseline) == 2
                  for p in (r.verdict.p_baseline[0], 1.0 - r.verdict.p_baseline[1])]
        masses = [m for r in rs for m in r.verdict.mass]
        win = outcomes.count("baseline")
        first = f"{sum(firsts) / len(firsts):.2f}" if firsts else "n/a"
        lines.append(
            f"| {prompt} | {kind} | {n} | {win} ({win / n:.0%}) | {outcomes.count('tie')} | "
            f"{outcomes.count('candidate')} | {sum(r.verdict.mean_p_baseline for r in rs) / n:.2f} | "
            f"{first} | {sum(masses) / len(masses):.3f} |")
    return "\n".join(lines)


def strategies_report(judge: PairwiseJudge, rows: Sequence[Row], tasks: Sequence[Task], out: Path) -> str:
    """Judge every strategy's answer against the baseline's (resuming from `out`); preserved % and the checks."""
    done = ResultCache(out)
    judged = [done.get(r.key) or r for r in rows]
    for row, old in zip(judged, rows):
        if row is not old:
            row.answer = old.answer  # the copy only adds verdicts; the answers are the bench's
    started, evaluated = time.perf_counter(), judge.evaluated
    made = pairwise.judge_rows(judge, judged, tasks, on_judged=done.put)
    seconds = time.perf_counter() - started
    method = f"pairwise-v1-{judge.prompt.name}-{judge.prompt.digest()}"
    strategies = list(dict.fromkeys(r.key.strategy for r in judged))
    mine = [r for r in judged if r.key.task_id in {t.id for t in tasks}]
    lines = [f"## {judge.prompt.name}: every strategy against {BASELINE} ({len(tasks)} tasks, method {method})", "",
             "| strategy | judged | preserved | wins | ties | losses | mean P(baseline better) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for p in pairwise.preserved_by_strategy(mine, strategies, judge.path.name, method=method):
        share = "n/a" if p.preserved is None else f"{p.preserved:.0%}"
        mean = "n/a" if p.mean_p_baseline is None else f"{p.mean_p_baseline:.3f}"
        lines.append(f"| {p.strategy} | {p.judged} | {share} | {p.wins} | {p.ties} | {p.losses} | {mean} |")
    lines += ["", f"- {pairwise.judge_agreement(mine, judge.path.name, method=method).line()}",
              f"- {pairwise.rating_agreement(mine).line()}"]
    if made:
        lines.append(f"- judged here: {made} answers in {seconds:.0f}s ({judge.evaluated - evaluated} prompt tokens)")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bench.judge_check`: judge the known-ordered pairs (and with --strategies every strategy)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompt", action="append", choices=list(PROMPTS), help="wording(s) to check (default: all)")
    parser.add_argument("--tasks", choices=SPLITS, default="all", help="task half by position in the file")
    parser.add_argument("--limit", type=int, default=None, help="only the first N tasks of the half")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {','.join(KINDS)}")
    parser.add_argument("--results", type=Path, default=Path("bench") / "results", help="folder with quality.jsonl")
    parser.add_argument("--judge-model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=None, help="verdict cache (default: <results>/judge_check.jsonl)")
    parser.add_argument("--strategies", action="store_true",
                        help="also judge every strategy's cached answer against the baseline: preserved %% per strategy")
    parser.add_argument("--rows-out", type=Path, default=None,
                        help="with --strategies: the judged copy of the rows (default: <cache dir>/pairwise_rows.jsonl)")
    args = parser.parse_args(argv)
    from runtime.models import resolve_model

    tasks = split_tasks(load_tasks(DEFAULT_TASKS), args.tasks)[: args.limit]
    rows: list[Row] = list(ResultCache(args.results / CACHE_FILE).rows.values())
    answers = {(r.key.task_id, r.key.strategy): r.answer for r in rows if not r.error}
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    everyone = load_tasks(DEFAULT_TASKS)  # offtopic pairs take the next task in the whole file
    chosen = {t.id for t in tasks}
    cache = args.cache or args.results / "judge_check.jsonl"
    results: list[CheckResult] = []
    for name in args.prompt or list(PROMPTS):
        judge = PairwiseJudge(resolve_model(args.judge_model), n_ctx=4096, n_threads=args.threads, prompt=PROMPTS[name])
        try:
            if args.strategies:
                print(strategies_report(judge, rows, tasks, args.rows_out or cache.parent / "pairwise_rows.jsonl"),
                      flush=True)
            items = [p for p in pairs(everyone, answers, kinds) if p[1].id in chosen
                     and not (p[0] == "self" and judge.prompt.method == "points")]  # "points": exactly a tie
            results += run(judge, items, cache, progress=lambda line: print(line, file=sys.stderr, flush=True))
        finally:
            judge.close()
    print(summary(results))
    timed = [r for r in results if r.seconds and r.kind != "self"]
    if timed:
        print(f"\ntiming (measured when judged): {len(timed)} pairs, both orders, {sum(r.seconds for r in timed) / len(timed):.1f} s "
              f"and {sum(r.tokens for r in timed) / len(timed):.0f} computed prompt tokens per pair")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
