"""Accuracy, refusals and hallucinations by how popular a question's subject is: PopQA's picture of knowledge
awareness (Mallen et al. 2023 bin its questions by the subject's monthly Wikipedia page views, ``s_pop``). A model
aware of what it knows refuses more where knowledge thins, at the long tail. On the synthetic world the planted
exposure count (how often the fact appeared in pretraining) plays that part.

The knowledge boundary (issue 28): how well a method's refusals, and its confidence where it states one, separate
the questions of the most popular bin from those of the least popular one (on the synthetic world: the facts seen
most often in pretraining from those never seen), as an AUROC (``rait.calibration.roc_auc``, scikit-learn's
``roc_auc_score``). Answering scores 1 and refusing 0, so the refusals' AUROC is 0.5 + (refusal rate of the least
popular bin - that of the most popular) / 2: 0.5 for a method whose refusals ignore popularity (the base model,
which never refuses), 1 for one that refuses every least popular question and no most popular one. Beside it the
two bins' refusal rates.

Bins: one per distinct popularity when a test set has at most ``BINS`` of them (the synthetic world's five exposure
counts), else deciles of the questions by popularity, ties kept in one bin (so a bin may hold more than a tenth,
and there may be fewer than ten). Each bin: its popularity range, n, accuracy, refusal rate and hallucination rate
(wrong among attempted, ``rait.risk``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from rait.risk import hallucination_rate

BINS = 10


def _edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Upper edges of the bins: the distinct values when few, else the deciles (ties never split)."""
    distinct = np.unique(values)
    if len(distinct) <= bins:
        return distinct
    return np.unique(np.quantile(values, np.arange(1, bins + 1) / bins, method="inverted_cdf"))


def _bin_members(rows: Sequence[Mapping], bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(popularities, bin edges, each row's bin index) of rows that all carry ``popularity``."""
    values = np.array([float(row["popularity"]) for row in rows])
    edges = _edges(values, bins)
    return values, edges, np.searchsorted(edges, values, side="left")


def by_popularity(rows: Sequence[Mapping], bins: int = BINS) -> list[dict]:
    """The popularity bins of graded rows that carry ``popularity`` (none: an empty list), least popular first."""
    rows = [row for row in rows if row.get("popularity") is not None]
    if not rows:
        return []
    values, edges, members = _bin_members(rows, bins)
    out = []
    for index in range(len(edges)):
        inside = [row["grade"] for row, member in zip(rows, members, strict=True) if member == index]
        if not inside:
            continue
        chosen = values[members == index]
        out.append({"low": float(chosen.min()), "high": float(chosen.max()), "n": len(inside),
                    "accuracy": inside.count("correct") / len(inside),
                    "refusal_rate": inside.count("refusal") / len(inside),
                    "hallucination_rate": hallucination_rate(inside)})
    return out


def refusal_slope(bins: Sequence[Mapping]) -> float | None:
    """The least-squares slope of the refusal rate against the bin's rank (0 = least popular), weighted by the bins'
    sizes: negative when refusals fall as popularity rises. None with fewer than two bins."""
    if len(bins) < 2:
        return None
    rank = np.arange(len(bins), dtype=float)
    rate = np.array([b["refusal_rate"] for b in bins])
    weight = np.array([b["n"] for b in bins], dtype=float)
    mean_rank, mean_rate = np.average(rank, weights=weight), np.average(rate, weights=weight)
    spread = np.average((rank - mean_rank) ** 2, weights=weight)
    return float(np.average((rank - mean_rank) * (rate - mean_rate), weights=weight) / spread)


def extreme_bins(outcomes: Sequence[Mapping]) -> tuple[np.ndarray, np.ndarray] | None:
    """Which outcomes lie in the least and which in the most popular bin (``by_popularity``'s bins, both never
    empty); None with fewer than two bins."""
    _, edges, members = _bin_members(outcomes, BINS)
    if len(edges) < 2:
        return None
    return members == 0, members == len(edges) - 1


def _boundary_auroc(outcomes: Sequence[Mapping], scores: Sequence[float | None]) -> float | None:
    """AUROC of ``scores`` (None: left out) as a detector of the most popular bin against the least popular."""
    from rait.calibration import roc_auc

    bins = extreme_bins(outcomes)
    if bins is None:
        return None
    least, most = bins
    kept = [(score, bool(top)) for score, low, top in zip(scores, least, most, strict=True)
            if (low or top) and score is not None]
    labels = [top for _, top in kept]
    return roc_auc([score for score, _ in kept], labels) if 0 < sum(labels) < len(labels) else None


def boundary_auroc(outcomes: Sequence[Mapping]) -> float | None:
    """AUROC of answering (1) against refusing (0) between the most and the least popular bin."""
    return _boundary_auroc(outcomes, [0.0 if o["grade"] == "refusal" else 1.0 for o in outcomes])


def boundary_auroc_confidence(outcomes: Sequence[Mapping]) -> float | None:
    """AUROC of the answers' confidence between the most and the least popular bin, over the answers that carry
    one (as rait.calibration's metrics; None without any)."""
    return _boundary_auroc(outcomes, [None if o.get("confidence") is None else float(o["confidence"])
                                      for o in outcomes])


def _refusal_rate_in(outcomes: Sequence[Mapping], most: bool) -> float | None:
    """The refusal rate of the least (or the most) popular bin: ``by_popularity``'s first (last) bin's, without
    building every bin (each evaluation scores 1,000 bootstrap resamples)."""
    bins = extreme_bins(outcomes)
    if bins is None:
        return None
    refused = np.array([o["grade"] == "refusal" for o in outcomes])
    return float(refused[bins[most]].mean())


def refusal_least_popular(outcomes: Sequence[Mapping]) -> float | None:
    return _refusal_rate_in(outcomes, most=False)


def refusal_most_popular(outcomes: Sequence[Mapping]) -> float | None:
    return _refusal_rate_in(outcomes, most=True)
