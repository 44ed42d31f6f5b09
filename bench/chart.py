"""The benchmark's PNG: quality against latency per strategy, with the leaks beside them.

Needs matplotlib (`pip install 'tandem[bench]'`); without it the chart is skipped with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.report import StrategySummary


class ChartUnavailable(RuntimeError):
    """matplotlib is not installed."""


def write_chart(summaries: Sequence[StrategySummary], path: Path, title: str) -> Path:
    """Three panels: judge score vs. median latency, fact recall vs. median latency, leaked canaries."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display
        import matplotlib.pyplot as plt
    except ImportError:
        raise ChartUnavailable("no chart: matplotlib is not installed (pip install 'tandem[bench]')") from None

    shown = [s for s in summaries if s.tasks]
    palette = [plt.get_cmap("tab10")(i) for i in (0, 1, 2, 4, 5, 6, 8, 9)]  # no red: red marks leaks
    color = {s.strategy: palette[i % len(palette)] for i, s in enumerate(shown)}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    for ax, metric, label, top in ((axes[0], "judge", "judge score (1-10, mean)", 10.0),
                                   (axes[1], "fact_recall", "fact recall (mean)", 1.0)):
        points = [(s, getattr(s, metric)) for s in shown if getattr(s, metric) is not None and s.total_s is not None]
        for s, value in points:
            ax.scatter([s.total_s], [value], s=110, color=color[s.strategy], zorder=3,
                       edgecolors="red" if s.leaked else "none", linewidths=2.5,
                       label=s.strategy + (" (opt-in)" if s.opt_in else ""))
        ax.set_xlabel("median total latency per answer (s)")
        ax.set_ylabel(label)
        ax.set_ylim(-0.03 * top, top * 1.05)
        ax.set_xlim(left=0, right=max([s.total_s for s, _ in points] + [1.0]) * 1.15)
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="best")  # recall is always there; the judge may be off
    axes[2].bar([s.strategy for s in shown], [s.leaked for s in shown], color=[color[s.strategy] for s in shown],
                edgecolor=["red" if s.leaked else "none" for s in shown], linewidth=2.5)
    axes[2].set_ylabel("canaries received by the cloud (total)")
    axes[2].tick_params(axis="x", rotation=30)
    axes[2].grid(axis="y", alpha=0.3)
    fig.suptitle(title + "\nred outline = private strings reached the cloud", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
