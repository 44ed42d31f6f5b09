"""Synthetic personalized-writing tasks: training data made on the device, never the benchmark's tasks.

Used to train the fusion gate (`tandem fuse train-gate`) and, under tools/, the scorer.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable
from dataclasses import dataclass

from edge_agent.synthetic.scenarios import DATE_SLOTS, DISTRACTORS, MONTHS, POOLS, SCENARIOS, Scenario


@dataclass(frozen=True)
class SynthTask:
    """One generated request: instruction, private notes, the facts it needs and a gold answer."""

    id: str
    scenario: str
    category: str
    instruction: str
    notes: str
    facts: tuple[str, ...]
    golds: tuple[str, ...]  # every gold contains every fact



def _slots(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _draw(slot: str, rng: random.Random, taken: set[str]) -> str:
    if slot in DATE_SLOTS:
        value = f"{rng.choice(MONTHS)} {rng.randint(1, 28)}"
    else:
        pool = POOLS.get(slot) or POOLS[slot.rstrip("0123456789")]
        choices = [v for v in pool if v not in taken] or list(pool)
        value = rng.choice(choices)
    taken.add(value)
    return value


def _fill(templates: Iterable[str], rng: random.Random, values: dict[str, str]) -> None:
    taken = set(values.values())
    for template in templates:
        for slot in _slots(template):
            if slot not in values:
                values[slot] = _draw(slot, rng, taken)


def make_task(scenario: Scenario, index: int, rng: random.Random) -> SynthTask:
    """Fill one scenario with random values and mix its notes with unrelated ones."""
    values: dict[str, str] = {}
    _fill((*scenario.instructions, *scenario.notes), rng, values)
    taken = set(values.values())
    values["user"] = f"{_draw('person', rng, taken)} {_draw('surname', rng, taken)}"
    _fill(scenario.golds, rng, values)
    lines = [line.format(**values) for line in scenario.notes]
    for template in rng.sample(DISTRACTORS, rng.randint(2, 4)):
        own: dict[str, str] = {}
        _fill([template], rng, own)
        lines.append(template.format(**own))
    rng.shuffle(lines)
    lines.insert(0, f"Name: {values['user']}")
    facts = tuple(values[slot] for slot in scenario.facts)
    golds = tuple(g.format(**values) for g in scenario.golds)
    for gold in golds:
        assert all(fact.casefold() in gold.casefold() for fact in facts), (scenario.key, gold)
    return SynthTask(
        id=f"{scenario.key}-{index}", scenario=scenario.key, category=scenario.category,
        instruction=rng.choice(scenario.instructions), notes="\n".join(lines), facts=facts, golds=golds,
    )


def make_tasks(count: int, seed: int = 0) -> list[SynthTask]:
    """`count` tasks cycling through the scenarios, reproducible from `seed`."""
    rng = random.Random(seed)
    return [make_task(SCENARIOS[i % len(SCENARIOS)], i, rng) for i in range(count)]
