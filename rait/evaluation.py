"""Scoring a method's answers on test splits against the base model.

For each test question: the method's answer (a prediction record, ``rait.answering``) is graded; the base
model's n samples gave the question its Ik label, and the base model's greedy answer is the reference for THS
and the honesty metrics. With a model judge (``rait.judging``), its verdicts on the method's answers and on the
base model's turn an accepted wrong answer into a correct one; the rules' grade is kept beside the final one. ``grade_split`` keeps the graded answers per question (what the workflow writes
beside each eval file, so a user sees which questions a method flipped); ``score`` turns them into metrics.
"""

from __future__ import annotations

from typing import Sequence

from rait.answering import check_prediction
from rait.errors import RaitError
from rait.grading import grade
from rait.judging import judged_grade, judgments_by_id
from rait.metrics import score
from rait.records import is_multiple_choice


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
    judgments: list[dict] | None = None,
    base_judgments: list[dict] | None = None,
) -> list[dict]:
    """One row per test question, in question order: id, the method's answer and grade, the question's Ik
    label, the base model's grade, the answer's confidence where the strategy gives one, and a multiple-choice
    question's subject (CRaFT averages MMLU per subject). With ``judgments`` (of the method's answers) and
    ``base_judgments`` (of the base model's), each row also has the judge's verdict and the rules' grade."""
    if not questions:
        raise RaitError(f"{origin}: empty test set")
    answers, base, labels = _by_id(predictions), _by_id(base_samples), _by_id(knowledge)
    ids = [record["id"] for record in questions]
    if (judgments is None) != (base_judgments is None):
        raise RaitError(f"{origin}: judgments are given for the method or the base model, not both")
    judged = judgments is not None
    if judged:
        judgments = judgments_by_id(judgments, ids, f"{origin}: judgments")
        base_judgments = judgments_by_id(base_judgments, ids, f"{origin}: base model's judgments")
    rows = []
    for record in questions:
        qid = record["id"]
        missing = [name for name, table in (("predictions", answers), ("base samples", base), ("knowledge", labels))
                   if qid not in table]
        if missing:
            raise RaitError(f"{origin}: question {qid!r} has no {' and no '.join(missing)}")
        prediction = check_prediction(answers[qid], origin)
        rule_grade = grade(record, prediction["answer"], exact=exact, refusals=refusals, profile=profile)
        base_grade = grade(record, base[qid]["greedy"], exact=exact, refusals=refusals, profile=profile)
        row = {"id": qid, "answer": prediction["answer"], "grade": rule_grade, "ik": bool(labels[qid]["ik"]),
               "base_grade": base_grade}
        if judged:
            row.update(grade=judged_grade(rule_grade, judgments[qid]), rule_grade=rule_grade,
                       judge=judgments[qid]["verdict"], base_grade=judged_grade(base_grade, base_judgments[qid]),
                       base_judge=base_judgments[qid]["verdict"])
        if prediction.get("confidence") is not None:
            row["confidence"] = prediction["confidence"]
        if prediction.get("statement"):  # whether a stated confidence parsed (rait.answering: stated_after_marker)
            row["statement"] = prediction["statement"]
        if is_multiple_choice(record) and record.get("subject"):
            row["subject"] = record["subject"]
        rows.append(row)
    return rows


def evaluate_split(questions, predictions, base_samples, knowledge, **grading) -> dict:
    """The metrics of one test split (``rait.metrics.score`` of ``grade_split``)."""
    return score(grade_split(questions, predictions, base_samples, knowledge, **grading))
