"""The report's figures (matplotlib, SVG), each drawn from files the DAG made.

Every function takes plain data and returns a matplotlib Figure; ``save`` writes it atomically. Bars and axes
carry an SVG id (``gid``) naming what they show, so a test can read a bar's height back from the file. A value
that is None is drawn as missing (a hatched gap marked "n/a"), never as zero.
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "rait"  # the SVG's element ids, fixed: the same data, the same bytes
import matplotlib.pyplot as plt  # noqa: E402

from rait.numbers import is_number  # noqa: E402

QUADRANTS = ("ik_ik", "ik_idk", "idk_ik", "idk_idk")
# rait.metrics.knowledge_quadrants: shares of all test questions (Say-I-Dont-Know's quadrants)
QUADRANT_LABELS = {
    "ik_ik": "IK-IK: answered right",
    "ik_idk": "IK-IDK: refused, the base model did not know",
    "idk_ik": "IDK-IK: refused, the base model knew",
    "idk_idk": "IDK-IDK: answered wrong",
}
QUADRANT_COLOURS = {"ik_ik": "#2b8a3e", "ik_idk": "#74b816", "idk_ik": "#f59f00", "idk_idk": "#e03131"}
# what a training curve shows besides the loss, when the trainer logged it (TRL's names)
TRAINING_PANELS = (
    ("reward", ("reward", "rewards/chosen", "rewards/margins")),
    ("reward accuracy", ("rewards/accuracies", "accuracy")),
    ("KL", ("kl", "objective/kl")),
    ("learning rate", ("learning_rate",)),
)
MISSING = "n/a"


def _axes_id(ax, name: str, low: float, high: float) -> None:
    """The axes' background carries its data range, so a bar's pixel height converts back to data."""
    ax.set_ylim(low, high)
    ax.patch.set_gid(f"axes|{name}|{low!r}|{high!r}")


def _mark_missing(ax, x: float, height: float, name: str, label: str = MISSING) -> None:
    bar = ax.bar(x, height, color="none", edgecolor="#868e96", hatch="//", linewidth=0.5)
    bar.patches[0].set_gid(f"missing|{name}")
    ax.text(x, height / 2, label, ha="center", va="center", fontsize=7, rotation=90, color="#495057")


def quadrant_figure(rows: Sequence[Mapping], *, model: str, test_set: str):
    """Stacked bars of the four knowledge quadrants per method. ``rows``: {"method", "ik_ik", ...}."""
    fig, ax = plt.subplots(figsize=(max(4.0, 0.55 * len(rows) + 2.5), 4.0), layout="constrained")
    _axes_id(ax, "quadrants", 0.0, 1.0)
    positions = range(len(rows))
    legend_at = _first_complete(rows)  # the first drawn bar names the four colours
    for x, row in zip(positions, rows):
        values = [row.get(quadrant) for quadrant in QUADRANTS]
        if not all(is_number(value) for value in values):
            _mark_missing(ax, x, 1.0, row["method"])
            continue
        bottom = 0.0
        for quadrant, value in zip(QUADRANTS, values):
            bar = ax.bar(x, value, bottom=bottom, color=QUADRANT_COLOURS[quadrant],
                         label=QUADRANT_LABELS[quadrant] if x == legend_at else None)
            bar.patches[0].set_gid(f"bar|{row['method']}|{quadrant}")
            bottom += value
    ax.set_xticks(list(positions), [row["method"] for row in rows], rotation=45, ha="right")
    ax.set_ylabel("share of test questions")
    ax.set_title(f"Knowledge quadrants: {model}, {test_set}", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _first_complete(rows: Sequence[Mapping]) -> int | None:
    for index, row in enumerate(rows):
        if all(is_number(row.get(quadrant)) for quadrant in QUADRANTS):
            return index
    return None


def tradeoff_figure(rows: Sequence[Mapping], *, model: str, test_set: str, base: str = "base"):
    """Accuracy against refusal rate, one point per method with its bootstrap interval on both axes; the base
    model a star. ``rows``: {"method", "accuracy", "refusal_rate", "intervals": {metric: [low, high]}}."""
    fig, ax = plt.subplots(figsize=(6.0, 4.5), layout="constrained")
    ax.set_xlim(-0.02, 1.02)
    drawn = [row for row in rows if is_number(row.get("refusal_rate")) and is_number(row.get("accuracy"))]
    missing = [row["method"] for row in rows if row not in drawn]
    top = max([row["accuracy"] + 0.15 for row in drawn] + [0.5])
    _axes_id(ax, "tradeoff", -0.02, min(top, 1.02))
    names_at: dict[tuple[float, float], list[str]] = {}
    for row in drawn:
        x, y = row["refusal_rate"], row["accuracy"]
        intervals = row.get("intervals") or {}
        is_base = row["method"] == base
        ax.errorbar(x, y, xerr=_error(x, intervals.get("refusal_rate")), yerr=_error(y, intervals.get("accuracy")),
                    fmt="*" if is_base else "o", markersize=12 if is_base else 6,
                    color="#1c7ed6" if is_base else "#495057", ecolor="#adb5bd", elinewidth=1, capsize=2,
                    gid=f"point|{row['method']}|{x!r}|{y!r}")
        names_at.setdefault((round(x, 3), round(y, 3)), []).append(row["method"])
    for (x, y), names in names_at.items():  # methods on the same point share one label
        ax.annotate(", ".join(names), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7,
                    ha="right" if x > 0.8 else "left")
    ax.set_xlabel("refusal rate")
    ax.set_ylabel("accuracy (right answers among all questions)")
    ax.set_title(f"What refusing costs: {model}, {test_set}", fontsize=10)
    if missing:
        ax.text(0.99, 0.01, f"{MISSING}: {', '.join(missing)}", transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7, color="#495057")
    return fig


def sweep_figure(rows: Sequence[Mapping], *, model: str, test_set: str, swept: str):
    """A sweep's points (rait.pareto.sweep_rows): accuracy against wrong-answer rate, each with its bootstrap
    interval on both axes, the Pareto front (no point better on both) coloured and joined. Each point carries an SVG
    id ``point|<method>|<wrong rate>|<accuracy>|front`` (or ``|off``)."""
    fig, ax = plt.subplots(figsize=(6.0, 4.5), layout="constrained")
    drawn = [row for row in rows if is_number(row.get("wrong_rate")) and is_number(row.get("accuracy"))]
    missing = [row["method"] for row in rows if row not in drawn]
    ax.set_xlim(-0.02, max([row["wrong_rate"] + 0.1 for row in drawn] + [0.5]))
    _axes_id(ax, "sweep", -0.02, min(max([row["accuracy"] + 0.15 for row in drawn] + [0.5]), 1.02))
    for row in drawn:
        x, y = row["wrong_rate"], row["accuracy"]
        intervals = row.get("intervals") or {}
        ax.errorbar(x, y, xerr=_error(x, intervals.get("wrong_rate")), yerr=_error(y, intervals.get("accuracy")),
                    fmt="o", markersize=7 if row["front"] else 5, color="#e8590c" if row["front"] else "#868e96",
                    ecolor="#ced4da", elinewidth=1, capsize=2,
                    gid=f"point|{row['method']}|{x!r}|{y!r}|{'front' if row['front'] else 'off'}")
        ax.annotate(row["label"], (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    front = sorted((row["wrong_rate"], row["accuracy"]) for row in drawn if row["front"])
    if len(front) > 1:
        ax.plot(*zip(*front), color="#e8590c", linewidth=1, linestyle="--", label="Pareto front")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_xlabel("wrong-answer rate (wrong answers among all questions)")
    ax.set_ylabel("accuracy (right answers among all questions)")
    ax.set_title(f"Sweep of {swept}: {model}, {test_set}", fontsize=10)
    if missing:
        ax.text(0.99, 0.01, f"{MISSING}: {', '.join(missing)}", transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7, color="#495057")
    return fig


def _error(value: float, interval) -> list[list[float]] | None:
    if not interval or not all(is_number(bound) for bound in interval):
        return None
    low, high = interval
    return [[max(value - low, 0.0)], [max(high - value, 0.0)]]


def knowledge_histogram(correctness: Sequence[float], *, threshold: float, model: str, dataset: str, bins: int = 10):
    """How many train questions the model gets right how often (share of right samples), the Ik threshold marked."""
    import numpy as np

    counts, edges = np.histogram(np.asarray(correctness, dtype=float), bins=bins, range=(0.0, 1.0))
    fig, ax = plt.subplots(figsize=(5.5, 3.6), layout="constrained")
    top = float(max(counts.max(initial=0), 1)) * 1.1
    _axes_id(ax, "knowledge", 0.0, top)
    for index, (count, low, high) in enumerate(zip(counts, edges[:-1], edges[1:])):
        bar = ax.bar(low, count, width=high - low, align="edge", color="#4c6ef5", edgecolor="white")
        bar.patches[0].set_gid(f"bin|{index}|{low:.3f}|{high:.3f}")
    ax.axvline(threshold, color="#e03131", linestyle="--", label=f"Ik threshold {threshold:g}")
    ax.set_xlabel("share of samples answered right")
    ax.set_ylabel("train questions")
    ax.set_title(f"Knowledge distribution: {model}, {dataset} ({len(correctness)} questions)", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def craft_figure(records: Sequence[Mapping], *, model: str, dataset: str):
    """CRaFT's view of the train questions: certainty against correctness, coloured by knowledge flow (the
    rehearsed model's correctness minus the base model's)."""
    fig, ax = plt.subplots(figsize=(5.5, 4.2), layout="constrained")
    points = [r for r in records if is_number(r.get("correctness")) and is_number(r.get("certainty"))]
    xs, ys = [r["correctness"] for r in points], [r["certainty"] for r in points]
    if any("flow" in r for r in points):
        flows = [r["flow"] if is_number(r.get("flow")) else 0.0 for r in points]
        scale = max((abs(f) for f in flows), default=1.0) or 1.0
        drawn = ax.scatter(xs, ys, c=flows, cmap="coolwarm_r", vmin=-scale, vmax=scale, s=10, alpha=0.8,
                           gid="craft-points")
        fig.colorbar(drawn, ax=ax, label="knowledge flow (rehearsed - initial correctness)")
    else:  # certainty alone (no rehearsal run for this model's methods)
        ax.scatter(xs, ys, color="#868e96", s=10, alpha=0.8, gid="craft-points")
    ax.set_xlabel("correctness (share of right samples)")
    ax.set_ylabel("certainty")
    ax.set_title(f"CRaFT: {model}, {dataset} ({len(points)} questions)", fontsize=10)
    return fig


def confidence_figure(curves: Mapping[str, Mapping], *, model: str, method: str):
    """Reliability diagram and accuracy-coverage curve per test set (``results/eval/curves/*.json``)."""
    fig, (reliability, coverage) = plt.subplots(1, 2, figsize=(9.0, 4.0), layout="constrained")
    reliability.plot([0, 1], [0, 1], color="#adb5bd", linestyle=":", label="calibrated")
    width = 0.08 / max(len(curves), 1)
    for offset, (test_set, curve) in enumerate(curves.items()):
        bins = [b for b in curve.get("reliability", []) if is_number(b.get("accuracy"))]
        shift = (offset - (len(curves) - 1) / 2) * width
        reliability.bar([(b["low"] + b["high"]) / 2 + shift for b in bins], [b["accuracy"] for b in bins],
                        width=width, alpha=0.7, label=test_set)
        points = curve.get("coverage_accuracy") or []
        if points:
            coverage.plot([p[0] for p in points], [p[1] for p in points], label=test_set)
    for ax, title, xlabel, ylabel in (
        (reliability, "Reliability", "stated or measured confidence (bin)", "accuracy in the bin"),
        (coverage, "Accuracy-coverage", "coverage (most confident answers first)", "accuracy of the answers covered"),
    ):
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel=xlabel, ylabel=ylabel)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    fig.suptitle(f"Confidence: {model}, {method}", fontsize=11)
    return fig


def matrix_figure(cells: Mapping[tuple[str, str, str], float | None], *, model: str, metrics: Sequence[str],
                  methods: Sequence[str], test_sets: Sequence[str]):
    """One heat map per metric, methods as rows and test sets as columns, each cell its value (0 to 1; a missing
    value a grey "n/a" cell). Each cell carries an SVG id ``cell|<metric>|<method>|<test set>|<value>``."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(1.2 + len(metrics) * (0.9 + 0.55 * len(test_sets)),
                                                      1.2 + 0.3 * len(methods)),
                             layout="constrained", squeeze=False)
    colours = plt.get_cmap("viridis")
    for ax, metric in zip(axes[0], metrics):
        for row, method in enumerate(methods):
            for column, test_set in enumerate(test_sets):
                value = cells.get((metric, method, test_set))
                known = is_number(value)
                rect = plt.Rectangle((column, row), 1, 1, facecolor=colours(value) if known else "#e9ecef",
                                     edgecolor="white", gid=f"cell|{metric}|{method}|{test_set}|{value!r}")
                ax.add_patch(rect)
                ax.text(column + 0.5, row + 0.5, f"{value:.2f}" if known else MISSING, ha="center", va="center",
                        fontsize=6, color="white" if known and value < 0.6 else "#212529")
        ax.set(xlim=(0, len(test_sets)), ylim=(len(methods), 0))
        ax.set_xticks([c + 0.5 for c in range(len(test_sets))], test_sets, rotation=45, ha="right", fontsize=7)
        ax.set_yticks([r + 0.5 for r in range(len(methods))], methods if ax is axes[0][0] else [], fontsize=7)
        ax.set_title(metric.replace("_", " "), fontsize=9)
    fig.suptitle(f"Methods against test sets: {model}", fontsize=11)
    return fig


def popularity_figure(methods: Mapping[str, Sequence[Mapping]], *, model: str, test_set: str):
    """Refusal rate and accuracy by popularity bin (``rait.popularity``: least popular first), one line per method.
    Each point carries an SVG id ``point|<panel>|<method>|<bin>|<value>``."""
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.0), layout="constrained", sharex=True)
    for ax, metric, title in ((axes[0], "refusal_rate", "Refusal rate"), (axes[1], "accuracy", "Accuracy")):
        for method, bins in methods.items():
            xs = list(range(len(bins)))
            line, = ax.plot(xs, [b[metric] for b in bins], marker="o", markersize=3, label=method)
            for x, b in zip(xs, bins):
                ax.plot([x], [b[metric]], linestyle="none", marker="o", markersize=3, color=line.get_color(),
                        gid=f"point|{metric}|{method}|{x}|{b[metric]!r}")
        ax.set(ylim=(-0.02, 1.02), ylabel=metric.replace("_", " "))
        ax.set_title(title, fontsize=10)
    longest = max(methods.values(), key=len, default=[])
    labels = [f"{b['low']:g}" if b["low"] == b["high"] else f"{b['low']:g}-{b['high']:g}" for b in longest]
    for ax in axes:
        ax.set_xticks(range(len(labels)), labels, rotation=45 if len(labels) > 5 else 0, fontsize=7)
        ax.set_xlabel("popularity (least popular first)")
    axes[1].legend(fontsize=7, ncols=2)
    fig.suptitle(f"By popularity: {model}, {test_set}", fontsize=11)
    return fig


def training_figure(history: Sequence[Mapping], *, model: str, stage: str):
    """Loss per step, and the rewards, margins, KL and learning rate the trainer logged, one panel each."""
    steps = [entry for entry in history if "step" in entry]
    panels = [("loss", ("loss",))] + [
        (title, keys) for title, keys in TRAINING_PANELS if any(key in entry for entry in steps for key in keys)
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(6.0, 1.9 * len(panels) + 0.6), sharex=True,
                             layout="constrained", squeeze=False)
    for ax, (title, keys) in zip(axes[:, 0], panels):
        for key in keys:
            points = [(entry["step"], entry[key]) for entry in steps if is_number(entry.get(key))]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="." if len(points) < 30 else None,
                        label=key, gid=f"curve|{key}")
        ax.set_ylabel(title)
        if len(keys) > 1:
            ax.legend(fontsize=7)
    axes[-1, 0].set_xlabel("step")
    fig.suptitle(f"Training: {model}, stage {stage}", fontsize=11)
    return fig


def save(fig, path: str | os.PathLike) -> None:
    """Write ``fig`` (format from the suffix) atomically: a killed job leaves no half figure at ``path``."""
    from rait.io import atomic_path

    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            # no date: the same data gives the same bytes (svg.hashsalt fixes the element ids)
            fig.savefig(tmp, format=path.suffix.lstrip("."), metadata={"Date": None} if path.suffix == ".svg" else None)
    finally:
        plt.close(fig)
