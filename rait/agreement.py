"""How far the graders agree on which answers are right: each paper's rules (``rait.profiles``: rait's own,
Say-I-Dont-Know's, CRaFT's, Alignment for Honesty's) and the model judge where one ran, each pair's Cohen's kappa
over the answers both graded.

Correctness functions disagree enough to reorder methods, so every graded answer carries each grader's decision
(``graders``: right or not, in the graded file beside the grade that counts), and the evaluation reports the kappa
of every pair with a bootstrap interval like every other metric. The decision compared is the one accuracy counts:
right or not (a refusal and a wrong answer alike), the only one a judge gives (it accepts or rejects, or labels the answer correct, incorrect or not
attempted; an unparsed reply gives none). A rule profile that never graded a question kind (Say-I-Dont-Know's multiple choice)
gives no decision on it either. Kappa is Cohen's, as scikit-learn's ``cohen_kappa_score`` computes it (tested
equal; computed from the four counts because each evaluation scores 1,000 bootstrap resamples, as
``rait.calibration`` explains): None when the two graders are constant and alike (the chance agreement is 1) or
share no answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np

from rait.grading import grade, is_multiple_choice
from rait.judging import judged_right
from rait.profiles import PROFILES

JUDGE = "judge"
GRADERS = (*PROFILES, JUDGE)
PAIRS = tuple(combinations(GRADERS, 2))


def pair_name(first: str, second: str) -> str:
    return f"kappa_{first}_{second}"


def decisions(record: dict, answer: str, *, refusals: Sequence[str] = (), exact: bool = False,
              judgment: Mapping | None = None) -> dict[str, bool]:
    """Each grader's decision on one answer: True when it grades the answer right. A rule profile that does not
    grade the question's kind, and a judge whose reply gave no score, are left out."""
    kind = "mc" if is_multiple_choice(record) else "open"
    out = {}
    for profile, entry in PROFILES.items():
        if profile == "rait" or kind in entry.kinds:
            out[profile] = grade(record, answer, exact=exact and profile == "rait", refusals=refusals,
                                 profile=profile) == "correct"
    right = judged_right(judgment)
    if right is not None:
        out[JUDGE] = right
    return out


def kappa(first: Sequence[bool], second: Sequence[bool]) -> float | None:
    """Cohen's kappa of two graders' right-or-not decisions on the same answers: (p_o - p_e) / (1 - p_e), with
    p_o their agreement and p_e the agreement their own rates of "right" give by chance."""
    n = len(first)
    if n != len(second):
        raise ValueError(f"{n} decisions against {len(second)}")
    if not n:
        return None
    return _kappa_counts(n, sum(first), sum(second), sum(a and b for a, b in zip(first, second, strict=True)))


def _kappa_counts(n: int, right_first: int, right_second: int, both: int) -> float | None:
    neither = n - right_first - right_second + both
    observed = (both + neither) / n
    chance = (right_first * right_second + (n - right_first) * (n - right_second)) / (n * n)
    if chance == 1:
        return None
    return (observed - chance) / (1 - chance)


def agreement(outcomes: Sequence[Mapping]) -> dict[str, float | None]:
    """``kappa_<a>_<b>`` for every pair of graders, over the answers both decided (None where they share none, or
    when the rows carry no decisions). Vectorized: the bootstrap calls it a thousand times per test set."""
    decided = [o.get("graders") or {} for o in outcomes]
    if not any(decided):
        return {pair_name(first, second): None for first, second in PAIRS}
    # per grader: 1 right, 0 not, -1 no decision
    columns = {grader: np.array([_code(row.get(grader)) for row in decided], dtype=np.int8) for grader in GRADERS}
    values = {}
    for first, second in PAIRS:
        a, b = columns[first], columns[second]
        shared = (a >= 0) & (b >= 0)
        n = int(shared.sum())
        if not n:
            values[pair_name(first, second)] = None
            continue
        values[pair_name(first, second)] = _kappa_counts(n, int((a[shared] == 1).sum()), int((b[shared] == 1).sum()),
                                                         int(((a == 1) & (b == 1)).sum()))
    return values


def _code(decision: bool | None) -> int:
    return -1 if decision is None else int(decision)
