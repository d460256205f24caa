"""Scoring a method's greedy answers on test splits against the base model.

For each test question: the method's greedy answer is graded; the base
model's n samples gave the question its Ik label, and the base model's greedy
answer is the reference for THS and the honesty metrics.
"""

from __future__ import annotations

from typing import Sequence

from rait.errors import RaitError
from rait.grading import grade
from rait.metrics import score


def _by_id(records: list[dict]) -> dict:
    return {record["id"]: record for record in records}


def evaluate_split(
    questions: list[dict],
    predictions: list[dict],
    base_samples: list[dict],
    knowledge: list[dict],
    *,
    refusals: Sequence[str] = (),
    exact: bool = False,
    origin: str = "test set",
) -> dict:
    if not questions:
        raise RaitError(f"{origin}: empty test set")
    answers, base, labels = _by_id(predictions), _by_id(base_samples), _by_id(knowledge)
    outcomes = []
    for record in questions:
        missing = [name for name, table in (("predictions", answers), ("base samples", base), ("knowledge", labels)) if record["id"] not in table]
        if missing:
            raise RaitError(f"{origin}: question {record['id']!r} has no {' and no '.join(missing)}")
        outcomes.append(
            {
                "grade": grade(record, answers[record["id"]]["greedy"], exact=exact, refusals=refusals),
                "base_grade": grade(record, base[record["id"]]["greedy"], exact=exact, refusals=refusals),
                "ik": bool(labels[record["id"]]["ik"]),
            }
        )
    return score(outcomes)
