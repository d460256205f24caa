"""How well a stated confidence tells right answers from wrong ones (R-Tuning's average precision, AUROC,
calibration error, Brier score, and selective prediction's accuracy-coverage curve).

Each graded answer that carries a ``confidence`` in [0, 1] (``rait.answering``: a best-of-N score through a
sigmoid, a stated confidence, P(sure)) is a pair (confidence, right), right meaning graded ``correct``: a
refusal and a wrong answer are both not right. AP and AUROC are scikit-learn's definitions (below: why not its
functions); ECE uses 10 equal-width bins ([0, 0.1), ..., [0.9, 1.0], 1.0 in the last), weighted by
their share of the answers; the Brier score is the mean squared difference between confidence and rightness.
The accuracy-coverage curve answers the most confident questions first: at coverage k/n the accuracy of the k
most confident; AURC is the mean risk (1 - accuracy) over k = 1..n, the area under the risk-coverage curve (lower
is better), the empirical estimator of Geifman, Uziel and El-Yaniv ("Bias-Reduced Uncertainty Estimation for Deep
Neural Classifiers", ICLR 2019). Answers of equal confidence are one group with no order among them (stated
confidences tie all the time: one decimal, five verbal levels): the curve and AURC take the expected value over
every order of each group, so the right answers of a group count in proportion along it (k answers into a group
of m with h right: h k / m of them). Reordering the questions never changes either; without ties they are the
plain sorted values. A metric that is undefined (no right answer for AP, one class only
for AUROC, no confident answer at all) is None.

A confidence that is a score rather than a probability (``confidence_scale: score``: best-of-N's reward through a
sigmoid) gets the ranking metrics only (AP, AUROC, AURC, the curve): its ECE, Brier score and reliability bins
would measure the sigmoid, not the model.

AP and AUROC are computed here with numpy, the same formulas as scikit-learn's ``average_precision_score`` and
``roc_auc_score`` (tested equal on hand and random tables, ties included): each evaluation scores 1,000 bootstrap
resamples, and scikit-learn's input checks alone cost about 5 ms a call (10.6 s instead of 1.3 s per evaluation
of 300 answers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rait.errors import RaitError

NAMES = ("ap", "auroc", "ece", "brier", "aurc")
BINS = 10


def _check(confidences: Sequence[float], right: Sequence[bool]) -> None:
    if len(confidences) != len(right):
        raise RaitError(f"{len(confidences)} confidences for {len(right)} answers")
    bad = [c for c in confidences if not 0.0 <= c <= 1.0]
    if bad:
        raise RaitError(f"confidences must lie in [0, 1], got {bad[:3]}")


def expected_calibration_error(confidences: Sequence[float], right: Sequence[bool], bins: int = BINS) -> float:
    conf, hits = np.asarray(confidences, dtype=float), np.asarray(right, dtype=float)
    members = np.minimum((conf * bins).astype(int), bins - 1)
    gap = np.abs(np.bincount(members, hits, bins) - np.bincount(members, conf, bins))  # per bin: |sum right - sum conf|
    return float(gap.sum() / len(conf))  # = sum over bins of |B|/n * |accuracy_B - confidence_B|


def _ranked(confidences, right):
    """Most confident first (stable), and the positions where a run of equal confidences ends (sklearn's
    ``_binary_clf_curve`` thresholds)."""
    conf, hits = np.asarray(confidences, dtype=float), np.asarray(right, dtype=float)
    order = np.argsort(-conf, kind="mergesort")
    conf, hits = conf[order], hits[order]
    ends = np.r_[np.flatnonzero(np.diff(conf)), len(conf) - 1]
    return hits, ends


def average_precision(confidences, right) -> float:
    """scikit-learn's ``average_precision_score``: sum over thresholds of (recall step) x precision."""
    hits, ends = _ranked(confidences, right)
    true_pos = np.cumsum(hits)[ends]
    precision = true_pos / (ends + 1)
    recall = true_pos / true_pos[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def roc_auc(confidences, right) -> float:
    """scikit-learn's ``roc_auc_score``: the probability that a right answer is more confident than a wrong one,
    ties counting one half (Mann-Whitney with average ranks)."""
    from scipy.stats import rankdata

    hits = np.asarray(right, dtype=bool)
    ranks = rankdata(np.asarray(confidences, dtype=float))
    positives, negatives = hits.sum(), (~hits).sum()
    return float((ranks[hits].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def accuracy_at(confidences, right):
    """The accuracy of the k most confident answers, k = 1..n, in expectation over the orders of equal
    confidences: within a group the right answers so far grow linearly from the group's start to its end."""
    hits, ends = _ranked(confidences, right)
    right_by_end = np.cumsum(hits)[ends]
    before = np.r_[0.0, right_by_end[:-1]]  # right answers before each group
    starts = np.r_[0, ends[:-1] + 1]
    sizes = ends - starts + 1
    group = np.repeat(np.arange(len(ends)), sizes)
    into = np.arange(len(hits)) - starts[group] + 1  # 1..m within each group
    expected = before[group] + (right_by_end - before)[group] * into / sizes[group]
    return expected / np.arange(1, len(hits) + 1)


def coverage_curve(confidences: Sequence[float], right: Sequence[bool]) -> list[list[float]]:
    """[[coverage, accuracy], ...] answering the most confident first (ties: their expected accuracy)."""
    accuracy = accuracy_at(confidences, right)
    return [[k / len(accuracy), float(value)] for k, value in enumerate(accuracy, start=1)]


def reliability_bins(confidences: Sequence[float], right: Sequence[bool], bins: int = BINS) -> list[dict]:
    """The reliability diagram ECE is read from: per non-empty bin, its range, count, mean confidence, accuracy."""
    _check(confidences, right)
    conf, hits = np.asarray(confidences, dtype=float), np.asarray(right, dtype=float)
    members = np.minimum((conf * bins).astype(int), bins - 1)
    out = []
    for index in range(bins):
        inside = members == index
        if inside.any():
            out.append({"low": index / bins, "high": (index + 1) / bins, "n": int(inside.sum()),
                        "confidence": float(conf[inside].mean()), "accuracy": float(hits[inside].mean())})
    return out


def curves(rows: Sequence[dict]) -> dict:
    """What a plot of one test set's confidences needs: the accuracy-coverage curve and the reliability bins of
    the graded rows that carry a confidence (empty lists when none does)."""
    stated = [(row["confidence"], row["grade"] == "correct") for row in rows if row.get("confidence") is not None]
    confidences, right = [c for c, _ in stated], [r for _, r in stated]
    return {"n": len(stated), "coverage_accuracy": coverage_curve(confidences, right) if stated else [],
            "reliability": reliability_bins(confidences, right) if stated and is_probability(rows) else []}


def is_probability(rows: Sequence[dict]) -> bool:
    """Whether the rows' confidences are probabilities of being right (``rait.answering.CONFIDENCE_SCALES``): a
    score that only orders the answers (best-of-N's reward) has no calibration to measure."""
    return not any(row.get("confidence_scale", "probability") != "probability"
                   for row in rows if row.get("confidence") is not None)


def confidence_metrics(confidences: Sequence[float], right: Sequence[bool], *, calibrated: bool = True) -> dict:
    """ap, auroc, ece, brier and aurc of the pairs (all None when there are none); with ``calibrated`` False (a
    score, not a probability) only the ranking metrics ap, auroc and aurc."""
    _check(confidences, right)
    if not confidences:
        return dict.fromkeys(NAMES)
    conf, hits = np.asarray(confidences, dtype=float), np.asarray(right, dtype=float)
    positives = int(hits.sum())
    return {
        "ap": average_precision(conf, hits) if positives else None,
        "auroc": roc_auc(conf, hits) if 0 < positives < len(conf) else None,
        "ece": expected_calibration_error(conf, hits) if calibrated else None,
        "brier": float(np.mean((conf - hits) ** 2)) if calibrated else None,
        "aurc": float(np.mean(1 - accuracy_at(conf, hits))),
    }
