"""The report's figures draw the data they are given: bar heights and histogram counts read back from the SVG
files equal the inputs, a missing value is drawn as missing (never as zero), and the same data gives the same
bytes."""

from __future__ import annotations

import pytest

from rait import plots
from svg_figures import bar_heights, ids, texts

ROWS = [
    {"method": "base", "ik_ik": 0.3, "ik_idk": 0.0, "idk_ik": 0.0, "idk_idk": 0.7, "accuracy": 0.3,
     "refusal_rate": 0.0, "intervals": {"accuracy": [0.2, 0.4], "refusal_rate": [0.0, 0.0]}},
    {"method": "sft", "ik_ik": 0.25, "ik_idk": 0.5, "idk_ik": 0.05, "idk_idk": 0.2, "accuracy": 0.25,
     "refusal_rate": 0.55, "intervals": {"accuracy": [0.15, 0.35], "refusal_rate": [0.45, 0.65]}},
    {"method": "judged", "ik_ik": None, "ik_idk": None, "idk_ik": None, "idk_idk": None, "accuracy": None,
     "refusal_rate": 0.1},
]


def test_quadrant_bars_are_the_shares_they_were_given_and_none_is_drawn_missing(tmp_path):
    path = tmp_path / "q.svg"
    plots.save(plots.quadrant_figure(ROWS, model="m", test_set="t"), path)
    heights = bar_heights(path)
    for row in ROWS[:2]:
        for quadrant in plots.QUADRANTS:
            assert heights[f"bar|{row['method']}|{quadrant}"] == pytest.approx(row[quadrant], abs=1e-4)
    assert not any(key.startswith("bar|judged|") for key in heights)  # never a zero-height bar
    assert ids(path, "missing|") == ["missing|judged"] and "n/a" in texts(path)


def test_tradeoff_points_carry_their_values_and_a_missing_one_is_listed(tmp_path):
    path = tmp_path / "t.svg"
    plots.save(plots.tradeoff_figure(ROWS, model="m", test_set="t"), path)
    points = {gid.split("|")[1]: (float(gid.split("|")[2]), float(gid.split("|")[3])) for gid in ids(path, "point|")}
    assert points == {"base": (0.0, 0.3), "sft": (0.55, 0.25)}
    assert "n/a: judged" in texts(path)


def test_knowledge_histogram_counts_equal_the_questions_per_bin(tmp_path):
    correctness = [0.0] * 7 + [0.1] * 2 + [0.5, 0.55] + [1.0] * 5
    path = tmp_path / "h.svg"
    plots.save(plots.knowledge_histogram(correctness, threshold=0.5, model="m", dataset="d"), path)
    counts = {int(gid.split("|")[1]): value for gid, value in bar_heights(path).items()}
    assert [round(counts[i], 3) for i in range(10)] == [7, 2, 0, 0, 0, 2, 0, 0, 0, 5]


def test_training_figure_has_a_panel_per_logged_kind(tmp_path):
    history = [{"step": s, "loss": 1.0 / s, "rewards/margins": 0.1 * s, "rewards/accuracies": 0.5,
                "learning_rate": 1e-4} for s in range(1, 6)] + [{"step": 5, "train_loss": 0.5}]
    fig = plots.training_figure(history, model="m", stage="dpo")
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "reward", "reward accuracy", "learning rate"]
    assert list(fig.axes[0].lines[0].get_ydata()) == [1.0 / s for s in range(1, 6)]
    plots.save(fig, tmp_path / "train.svg")


def test_craft_and_confidence_figures_draw_and_the_same_data_gives_the_same_bytes(tmp_path):
    records = [{"correctness": c / 10, "certainty": 1 - c / 10, "flow": (c % 3 - 1) / 10} for c in range(11)]
    curves = {"t": {"n": 3, "coverage_accuracy": [[0.33, 1.0], [0.67, 0.5], [1.0, 0.33]],
                    "reliability": [{"low": 0.0, "high": 0.1, "n": 1, "confidence": 0.05, "accuracy": 0.0},
                                    {"low": 0.9, "high": 1.0, "n": 2, "confidence": 0.95, "accuracy": 0.5}]}}
    for name in ("a", "b"):
        plots.save(plots.craft_figure(records, model="m", dataset="d"), tmp_path / f"craft_{name}.svg")
        plots.save(plots.confidence_figure(curves, model="m", method="x"), tmp_path / f"conf_{name}.svg")
    assert (tmp_path / "craft_a.svg").read_bytes() == (tmp_path / "craft_b.svg").read_bytes()
    assert (tmp_path / "conf_a.svg").read_bytes() == (tmp_path / "conf_b.svg").read_bytes()
    assert not list(tmp_path.glob(".*"))  # no temporary file left by the atomic writes
    assert (tmp_path / "craft_a.svg").stat().st_mode & 0o044  # readable as a plain open() would make it
