"""rait.popularity against hand computations: one bin per distinct popularity when few, deciles with ties kept
together when many, and the refusal slope; the report draws one figure per model and test set."""

from __future__ import annotations

import json

import pytest

from rait.popularity import by_popularity, refusal_slope
from rait.records import check_record


def rows(*pairs):
    return [{"grade": grade, "popularity": popularity} for popularity, grade in pairs]


def test_few_distinct_popularities_are_one_bin_each():
    """The synthetic world's exposures: 0 (two refusals), 1 (a refusal, a wrong answer), 4 (right, wrong)."""
    bins = by_popularity(rows((4, "correct"), (0, "refusal"), (1, "refusal"), (0, "refusal"), (1, "wrong"),
                              (4, "wrong")))
    assert bins == [
        {"low": 0.0, "high": 0.0, "n": 2, "accuracy": 0.0, "refusal_rate": 1.0, "hallucination_rate": None},
        {"low": 1.0, "high": 1.0, "n": 2, "accuracy": 0.0, "refusal_rate": 0.5, "hallucination_rate": 1.0},
        {"low": 4.0, "high": 4.0, "n": 2, "accuracy": 0.5, "refusal_rate": 0.0, "hallucination_rate": 0.5},
    ]
    # refusal rate 1, 0.5, 0 over ranks 0, 1, 2 with equal weights: slope -0.5
    assert refusal_slope(bins) == pytest.approx(-0.5)


def test_many_popularities_fall_in_deciles_with_ties_kept_together():
    """Twenty questions with page views 1..20: ten bins of two. Then ties: twelve at 5 and eight spread out; the
    twelve share one bin, whatever the decile edges."""
    bins = by_popularity(rows(*[(views, "correct" if views > 10 else "refusal") for views in range(1, 21)]))
    assert [(b["low"], b["high"], b["n"]) for b in bins] == [(2 * k + 1.0, 2 * k + 2.0, 2) for k in range(10)]
    assert [b["refusal_rate"] for b in bins] == [1.0] * 5 + [0.0] * 5
    tied = by_popularity(rows(*[(5, "correct")] * 12 + [(v, "wrong") for v in (1, 2, 3, 100, 200, 300, 400, 500)]))
    assert sum(b["n"] for b in tied) == 20 and len(tied) < 10
    assert any(b["low"] == b["high"] == 5.0 and b["n"] == 12 for b in tied)


def test_rows_without_popularity_have_no_bins():
    assert by_popularity([{"grade": "correct"}]) == []
    assert refusal_slope([]) is None and refusal_slope([{"n": 3, "refusal_rate": 0.2}]) is None


def test_a_popularity_read_from_a_csv_is_a_number():
    record = check_record({"id": "q", "question": "Who?", "answers": ["x"], "popularity": "1234"}, "row 2")
    assert record["popularity"] == 1234


def test_the_report_draws_refusal_and_accuracy_by_popularity_for_every_method(tmp_path):
    from rait.report import figure_files

    curves = []
    for method, refused in (("base", "wrong"), ("sft", "refusal")):
        path = tmp_path / f"synth_tiny_{method}.json"
        bins = by_popularity(rows((0, refused), (0, refused), (4, "correct"), (8, "correct")))
        path.write_text(json.dumps({"model": "synth_tiny", "method": method, "test_sets": {
            "synth": {"n": 0, "coverage_accuracy": [], "reliability": [], "popularity": bins}}}))
        curves.append(str(path))
    out = {category: str(tmp_path / category) for category in ("comparison", "knowledge", "training", "evaluation",
                                                                "data")}
    written = figure_files(evals=[], curves=curves, checkpoints=[], knowledge=[], flows=[], thresholds={}, out=out)
    assert written["comparison"] == [str(tmp_path / "comparison/popularity/synth_tiny/synth.svg")]
    svg = (tmp_path / "comparison/popularity/synth_tiny/synth.svg").read_text()
    assert 'id="point|refusal_rate|sft|0|1.0"' in svg and 'id="point|refusal_rate|base|0|0.0"' in svg
    assert 'id="point|accuracy|sft|2|1.0"' in svg


def test_the_knowledge_boundary_metrics_against_hand_computations():
    """Popularities 0, 0, 0 | 4 | 9, 9, 9: three bins, one per value; the least popular (0) against the most
    popular (9). Answering (1) or refusing (0): 0, 0, 1 against 1, 1, 0: each answered popular question beats the
    two refused unpopular ones and ties the answered one, the refused one ties two: (2.5 + 2.5 + 1) / 9 = 2/3 =
    0.5 + (2/3 - 1/3) / 2 (scikit-learn's roc_auc_score too). Confidence, the third row without one: 0.1, 0.2
    against 0.9, 0.5, 0.15: (2 + 2 + 1) / 6. The middle bin (4) takes no part."""
    from sklearn.metrics import roc_auc_score

    from rait.metrics import score
    from rait.popularity import (boundary_auroc, boundary_auroc_confidence, refusal_least_popular,
                                 refusal_most_popular)

    outcomes = rows((0, "refusal"), (0, "refusal"), (0, "correct"), (4, "wrong"), (9, "correct"), (9, "wrong"),
                    (9, "refusal"))
    for outcome, confidence in zip(outcomes, (0.1, 0.2, None, 0.7, 0.9, 0.5, 0.15)):
        if confidence is not None:
            outcome["confidence"] = confidence
    assert boundary_auroc(outcomes) == pytest.approx(6 / 9)
    assert boundary_auroc(outcomes) == pytest.approx(roc_auc_score([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 0]))
    assert boundary_auroc_confidence(outcomes) == pytest.approx(5 / 6)
    assert (refusal_least_popular(outcomes), refusal_most_popular(outcomes)) == pytest.approx((2 / 3, 1 / 3))
    metrics = score(outcomes)
    assert metrics["boundary_auroc"] == pytest.approx(6 / 9) and metrics["refusal_most_popular"] == pytest.approx(1 / 3)
    # a tie of every popularity: one bin, nothing to separate; without popularity: not measured
    flat = rows((3, "refusal"), (3, "correct"))
    assert boundary_auroc(flat) is None and refusal_least_popular(flat) is None
    assert boundary_auroc_confidence([{**o, "confidence": 0.5} for o in flat]) is None
    assert score([{"grade": "correct"}, {"grade": "refusal"}])["boundary_auroc"] is None
    # the base model never refuses: its refusals say nothing of popularity
    assert boundary_auroc(rows((0, "wrong"), (9, "correct"))) == 0.5
