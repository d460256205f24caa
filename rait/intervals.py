"""Bootstrap intervals over test questions for every metric of ``rait.metrics.score``.

A test set of 60 to 100 questions moves a rate by several points from one draw of questions to the next, so
every number gets a percentile bootstrap interval (``scipy.stats.bootstrap``, seeded, questions resampled with
replacement), and every method's difference from the base model a paired one: both are scored on the same
resampled questions, so what the two share (which questions are hard) cancels out.

The base model's metrics come from the same graded rows: its greedy answer's grade (``base_grade``) in place
of the method's. A metric undefined on some resample (an empty denominator, THS when the resampled base
model is never wrong) has no interval: None, never a made-up one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.stats import bootstrap

from rait.errors import RaitError
from rait.metrics import score
from rait.risk import PENALTY_TARGETS

DEFAULTS = {"resamples": 1000, "level": 0.95, "seed": 0}
# Counts and the THS of the base model against itself (0 by definition) carry no uncertainty worth a column.
SKIP = frozenset({"n", "confidence_n", "confidence_unstated"})


def base_outcomes(outcomes: list[dict]) -> list[dict] | None:
    """The base model's own graded rows (its greedy grade as the grade), or None when they are not known."""
    if any(o.get("base_grade") is None for o in outcomes):
        return None
    return [{"grade": o["base_grade"], "ik": o.get("ik"), "base_grade": o["base_grade"], "subject": o.get("subject"),
             "answerable": o.get("answerable"), "popularity": o.get("popularity")} for o in outcomes]


def _vector(result: dict, names: list[str]) -> np.ndarray:
    return np.array([math.nan if result.get(name) is None else result[name] for name in names], dtype=float)


def _check(resamples: int, level: float) -> None:
    if not isinstance(resamples, int) or resamples < 2:
        raise RaitError(f"evaluation.bootstrap.resamples: expected an integer >= 2, got {resamples!r}")
    if not 0 < level < 1:
        raise RaitError(f"evaluation.bootstrap.level: expected a value between 0 and 1, got {level!r}")


def intervals(outcomes: list[dict], *, resamples: int = 1000, level: float = 0.95, seed: int = 0,
              penalty_targets: Sequence[float] = PENALTY_TARGETS) -> dict:
    """``{"intervals": {metric: [low, high] | None}, "vs_base": {metric: {"difference", "interval"}}}``.

    ``vs_base`` is empty when the rows carry no base grades; ``penalty_targets`` as ``rait.metrics.score``'s."""
    _check(resamples, level)
    if not outcomes:
        raise RaitError("no outcomes to bootstrap")
    point = score(outcomes, penalty_targets)
    names = [name for name, value in point.items() if name not in SKIP and value is not None]
    base = base_outcomes(outcomes)
    base_point = score(base, penalty_targets) if base is not None else {}
    paired = [name for name in names if base_point.get(name) is not None]

    def statistic(index):
        own = score([outcomes[i] for i in index], penalty_targets)
        if not paired:
            return _vector(own, names)
        theirs = score([base[i] for i in index], penalty_targets)
        return np.concatenate([_vector(own, names), _vector(own, paired) - _vector(theirs, paired)])

    result = {"intervals": {}, "vs_base": {}}
    if len(outcomes) == 1 or not names:
        result["intervals"] = {name: [point[name], point[name]] for name in names}
    else:
        found = bootstrap(
            (np.arange(len(outcomes)),), lambda index: statistic(index.astype(int)), vectorized=False,
            n_resamples=resamples, confidence_level=level, method="percentile", rng=np.random.default_rng(seed),
        ).confidence_interval
        low, high = np.atleast_1d(found.low), np.atleast_1d(found.high)
        for k, name in enumerate(names):
            result["intervals"][name] = _pair(low[k], high[k])
        for k, name in enumerate(paired, start=len(names)):
            result["vs_base"][name] = {"difference": point[name] - base_point[name], "interval": _pair(low[k], high[k])}
        return result
    for name in paired:
        difference = point[name] - base_point[name]
        result["vs_base"][name] = {"difference": difference, "interval": [difference, difference]}
    return result


def _pair(low: float, high: float) -> list[float] | None:
    if math.isnan(low) or math.isnan(high):
        return None
    return [float(low), float(high)]
