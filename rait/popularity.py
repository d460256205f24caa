"""Accuracy, refusals and hallucinations by how popular a question's subject is: PopQA's picture of knowledge
awareness (Mallen et al. 2023 bin its questions by the subject's monthly Wikipedia page views, ``s_pop``). A model
aware of what it knows refuses more where knowledge thins, at the long tail. On the synthetic world the planted
exposure count (how often the fact appeared in pretraining) plays that part.

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


def by_popularity(rows: Sequence[Mapping], bins: int = BINS) -> list[dict]:
    """The popularity bins of graded rows that carry ``popularity`` (none: an empty list), least popular first."""
    rows = [row for row in rows if row.get("popularity") is not None]
    if not rows:
        return []
    values = np.array([float(row["popularity"]) for row in rows])
    edges = _edges(values, bins)
    members = np.searchsorted(edges, values, side="left")
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
