"""Scoring a method's answers on test splits against the base model.

For each test question: the method's answer (a prediction record, ``rait.answering``) is graded; the base
model's n samples gave the question its Ik label, and the base model's greedy answer is the reference for THS
and the honesty metrics. ``grade_split`` keeps the graded answers per question (what the workflow writes
beside each eval file, so a user sees which questions a method flipped); ``score`` turns them into metrics.
"""

from __future__ import annotations

from typing import Sequence

from rait.answering import check_prediction
from rait.errors import RaitError
from rait.grading import grade
from rait.metrics import score


def _by_id(records: list[dict]) -> dict:
    return {record["id"]: record for record in records}


def grade_split(
    questions: list[dict],
    predictions: list[dict],
    base_samples: list[dict],
    knowledge: list[dict],
    *,
    refusals: Sequence[str] = (),
    exact: bool = False,
    profile: str = "rait",
    origin: str = "test set",
) -> list[dict]:
    """One row per test question, in question order: id, the method's answer and grade, the question's Ik
    label, the base model's grade, and the answer's confidence where the strategy gives one."""
    if not questions:
        raise RaitError(f"{origin}: empty test set")
    answers, base, labels = _by_id(predictions), _by_id(base_samples), _by_id(knowledge)
    rows = []
    for record in questions:
        qid = record["id"]
        missing = [name for name, table in (("predictions", answers), ("base samples", base), ("knowledge", labels))
                   if qid not in table]
        if missing:
            raise RaitError(f"{origin}: question {qid!r} has no {' and no '.join(missing)}")
        prediction = check_prediction(answers[qid], origin)
        row = {
            "id": qid,
            "answer": prediction["answer"],
            "grade": grade(record, prediction["answer"], exact=exact, refusals=refusals, profile=profile),
            "ik": bool(labels[qid]["ik"]),
            "base_grade": grade(record, base[qid]["greedy"], exact=exact, refusals=refusals, profile=profile),
        }
        if prediction.get("confidence") is not None:
            row["confidence"] = prediction["confidence"]
        rows.append(row)
    return rows


def evaluate_split(questions, predictions, base_samples, knowledge, **grading) -> dict:
    """The metrics of one test split (``rait.metrics.score`` of ``grade_split``)."""
    return score(grade_split(questions, predictions, base_samples, knowledge, **grading))
