"""How well a stated confidence tells right answers from wrong ones (R-Tuning's average precision, AUROC,
calibration error, Brier score, and selective prediction's accuracy-coverage curve).

Each graded answer that carries a ``confidence`` in [0, 1] (``rait.answering``: a best-of-N score through a
sigmoid, a stated confidence, P(sure)) is a pair (confidence, right), right meaning graded ``correct``: a
refusal and a wrong answer are both not right. AP and AUROC are scikit-learn's (``average_precision_score``,
``roc_auc_score``); ECE uses 10 equal-width bins ([0, 0.1), ..., [0.9, 1.0], 1.0 in the last), weighted by
their share of the answers; the Brier score is the mean squared difference between confidence and rightness.
The accuracy-coverage curve answers the most confident questions first: at coverage k/n the accuracy of the k
most confident (ties kept in question order); AURC is the mean risk (1 - accuracy) over k = 1..n, the area under
the risk-coverage curve (lower is better). A metric that is undefined (no right answer for AP, one class only
for AUROC, no confident answer at all) is None.
"""

from __future__ import annotations

from typing import Sequence

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
    total = len(confidences)
    error = 0.0
    for b in range(bins):
        members = [i for i, c in enumerate(confidences) if min(int(c * bins), bins - 1) == b]
        if members:
            accuracy = sum(right[i] for i in members) / len(members)
            mean_confidence = sum(confidences[i] for i in members) / len(members)
            error += len(members) / total * abs(accuracy - mean_confidence)
    return error


def coverage_curve(confidences: Sequence[float], right: Sequence[bool]) -> list[list[float]]:
    """[[coverage, accuracy], ...] answering the most confident first (stable: ties in question order)."""
    order = sorted(range(len(confidences)), key=lambda i: -confidences[i])
    curve, hits = [], 0
    for k, i in enumerate(order, start=1):
        hits += bool(right[i])
        curve.append([k / len(order), hits / k])
    return curve


def confidence_metrics(confidences: Sequence[float], right: Sequence[bool]) -> dict:
    """ap, auroc, ece, brier and aurc of the pairs (all None when there are none)."""
    _check(confidences, right)
    if not confidences:
        return dict.fromkeys(NAMES)
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    labels = [int(bool(r)) for r in right]
    positives = sum(labels)
    curve = coverage_curve(confidences, right)
    return {
        "ap": float(average_precision_score(labels, confidences)) if positives else None,
        "auroc": float(roc_auc_score(labels, confidences)) if 0 < positives < len(labels) else None,
        "ece": expected_calibration_error(confidences, right),
        "brier": float(brier_score_loss(labels, confidences, pos_label=1)) if 0 < positives < len(labels)
        else sum((c - y) ** 2 for c, y in zip(confidences, labels)) / len(labels),
        "aurc": sum(1 - accuracy for _, accuracy in curve) / len(curve),
    }
