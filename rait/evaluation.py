"""Scoring a method's answers on test splits against the base model.

For each test question: the method's answer (a prediction record, ``rait.answering``) is graded; the base
model's n samples gave the question its Ik label, and the base model's greedy answer is the reference for THS
and the honesty metrics. With a model judge (``rait.judging``), its verdicts on the method's answers and on the
base model's turn an accepted wrong answer into a correct one; the rules' grade is kept beside the final one.
``graded_row`` grades one question, for the workflow (``grade_split``: the graded answers per question, written
beside each eval file, so a user sees which questions a method flipped) and for ``rait score``
(``score_predictions``) alike; ``metrics`` turns the rows into a test set's block of the eval file.
"""

from __future__ import annotations

from collections.abc import Sequence

from rait.agreement import decisions
from rait.answering import check_prediction
from rait.errors import RaitError
from rait.grading import grade
from rait.judging import judged_grade, judgments_by_id, tally
from rait.metrics import score
from rait.profiles import log_quirks
from rait.risk import PENALTY_TARGETS, check_targets
from rait.records import is_multiple_choice
from rait.intervals import intervals


def _by_id(records: list[dict]) -> dict:
    return {record["id"]: record for record in records}


def graded_row(record: dict, prediction: dict, *, base_answer: str | None = None, ik: bool | None = None,
               judgment: dict | None = None, base_judgment: dict | None = None, refusals: Sequence[str] = (),
               exact: bool = False, profile: str = "rait") -> dict:
    """One graded test question, the row every metric is computed from (``rait.metrics.score``): id, the
    method's answer and grade, the question's Ik label and the base model's grade where known, the answer's
    confidence where the strategy gives one, a multiple-choice question's subject (CRaFT averages MMLU per
    subject), and with a judge's verdicts the judge's and the rules' grades. Both the workflow's evaluation
    (``grade_split``) and ``rait score`` (``score_predictions``) build their rows here."""
    def graded(answer: str) -> str:
        return grade(record, answer, exact=exact, refusals=refusals, profile=profile)

    rule_grade = graded(prediction["answer"])
    row = {"id": record["id"], "answer": prediction["answer"], "grade": rule_grade,
           "answerable": not record.get("unanswerable", False)}
    if ik is not None:
        row["ik"] = bool(ik)
    if base_answer is not None:
        row["base_grade"] = graded(base_answer)
    if judgment is not None:
        row.update(grade=judged_grade(rule_grade, judgment), rule_grade=rule_grade, judge=judgment["verdict"])
    if base_judgment is not None and base_answer is not None:
        row.update(base_grade=judged_grade(row["base_grade"], base_judgment), base_judge=base_judgment["verdict"])
    row["graders"] = decisions(record, prediction["answer"], refusals=refusals, exact=exact, judgment=judgment)
    if prediction.get("confidence") is not None:
        row["confidence"] = prediction["confidence"]
        if prediction.get("confidence_scale", "probability") != "probability":
            row["confidence_scale"] = prediction["confidence_scale"]
    if prediction.get("statement"):  # whether a stated confidence parsed (rait.answering: stated_after_marker)
        row["statement"] = prediction["statement"]
    if record.get("popularity") is not None:  # rait.popularity: results by popularity bin
        row["popularity"] = record["popularity"]
    if is_multiple_choice(record) and record.get("subject"):
        row["subject"] = record["subject"]
    return row


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
    """``graded_row`` of every test question, in question order: the method's prediction, the base model's
    greedy answer from its samples, the Ik label from its knowledge labels. With ``judgments`` (of the method's
    answers) and ``base_judgments`` (of the base model's), each row also has the judge's verdict."""
    if not questions:
        raise RaitError(f"{origin}: empty test set")
    answers, base, labels = _by_id(predictions), _by_id(base_samples), _by_id(knowledge)
    ids = [record["id"] for record in questions]
    if (judgments is None) != (base_judgments is None):
        raise RaitError(f"{origin}: judgments are given for the method or the base model, not both")
    if judgments is not None:
        judgments = judgments_by_id(judgments, ids, f"{origin}: judgments")
        base_judgments = judgments_by_id(base_judgments, ids, f"{origin}: base model's judgments")
    log_quirks(questions, profile, origin)
    rows = []
    for record in questions:
        qid = record["id"]
        missing = [name for name, table in (("predictions", answers), ("base samples", base), ("knowledge", labels))
                   if qid not in table]
        if missing:
            raise RaitError(f"{origin}: question {qid!r} has no {' and no '.join(missing)}")
        rows.append(graded_row(
            record, check_prediction(answers[qid], origin), base_answer=base[qid]["greedy"], ik=labels[qid]["ik"],
            judgment=judgments[qid] if judgments else None, base_judgment=base_judgments[qid] if judgments else None,
            refusals=refusals, exact=exact, profile=profile))
    return rows


def metrics(rows: list[dict], bootstrap: dict | None = None,
            penalty_targets: Sequence[float] = PENALTY_TARGETS) -> dict:
    """A test set's block of the eval file: every metric (``rait.metrics.score``; ``penalty_targets``: the
    confidence targets of its penalty scores), its bootstrap interval and paired difference from the base model
    (``rait.intervals.intervals``; ``bootstrap``: resamples, level, seed), and with a judge its verdict counts."""
    penalty_targets = check_targets(penalty_targets, "grading.penalty_targets")
    result = {**score(rows, penalty_targets), **intervals(rows, **(bootstrap or {}), penalty_targets=penalty_targets)}
    if any("judge" in row for row in rows):
        result["judge"] = tally(rows)
    return result


def evaluate_split(questions, predictions, base_samples, knowledge, **grading) -> dict:
    """The metrics of one test split (``rait.metrics.score`` of ``grade_split``)."""
    return score(grade_split(questions, predictions, base_samples, knowledge, **grading))


# ---- predictions made elsewhere (rait score) -------------------------------------------------------------------


def _preview(ids: list) -> str:
    shown = ", ".join(repr(i) for i in ids[:5])
    return shown + (f", ... ({len(ids)} in all)" if len(ids) > 5 else "")


def _check_unique(ids: list, origin: str) -> None:
    seen, dups = set(), []
    for i in ids:
        if i in seen and i not in dups:
            dups.append(i)
        seen.add(i)
    if dups:
        raise RaitError(f"{origin}: duplicate id(s) {_preview(dups)}")


def _check_all_or_none(predictions: list[dict], key: str, origin: str) -> None:
    missing = [p["id"] for p in predictions if p.get(key) is None]
    if 0 < len(missing) < len(predictions):
        raise RaitError(f"{origin}: {key!r} is given for some predictions but not for id(s) {_preview(missing)}; "
                        "give it for all or none")


def _verdict(prediction: dict, key: str, origin: str) -> dict | None:
    """A line's ``judge`` / ``base_judge`` verdict as the judgment record ``graded_row`` reads."""
    value = prediction.get(key)
    if value is None:
        return None
    return judgments_by_id([{"id": prediction["id"], "verdict": value}], [prediction["id"]], origin)[prediction["id"]]


def check_scored_prediction(record: dict, origin: str) -> dict:
    """A line of ``rait score``: a prediction record (``rait.answering.check_prediction``: id, answer text,
    confidence in [0, 1]) with the optional ``ik`` (true/false) and ``base_answer`` (text)."""
    pid = record.get("id")
    if pid is None or isinstance(pid, bool) or not isinstance(pid, (str, int)) or pid == "":
        raise RaitError(f"{origin}: record has no id (text or integer)")
    check_prediction(record, origin)
    if record.get("base_answer") is not None and not isinstance(record["base_answer"], str):
        raise RaitError(f"{origin}: field 'base_answer' is {record['base_answer']!r}, not text")
    if record.get("ik") is not None and not isinstance(record["ik"], bool):
        raise RaitError(f"{origin}: field 'ik' must be true or false, got {record['ik']!r}")
    return record


def score_predictions(questions: list[dict], predictions: list[dict], *, refusals: Sequence[str] = (),
                      exact: bool = False, profile: str = "rait", bootstrap: dict | None = None,
                      penalty_targets: Sequence[float] = PENALTY_TARGETS, origin: str = "predictions") -> dict:
    """Grade ``predictions`` against ``questions`` (joined by id) and give the same block as the workflow's
    evaluation of a test set (``graded_row``, ``metrics``). Each prediction has ``id`` and ``answer`` and
    optionally ``confidence``, ``base_answer`` (the base model's response, graded the same way), ``ik``, and a
    judge's ``judge`` / ``base_judge`` verdicts. Every question needs exactly one prediction and every
    prediction a question; anything else is a RaitError naming ``origin`` and the ids."""
    if not questions:
        raise RaitError(f"{origin}: no questions to score")
    if not predictions:
        raise RaitError(f"{origin}: no predictions to score")
    for p in predictions:
        check_scored_prediction(p, f"{origin}: id {p.get('id')!r}")
    _check_unique([q["id"] for q in questions], f"{origin}: questions")
    _check_unique([p["id"] for p in predictions], origin)
    by_id = {p["id"]: p for p in predictions}
    known = {q["id"] for q in questions}
    unknown = [p["id"] for p in predictions if p["id"] not in known]
    if unknown:
        raise RaitError(f"{origin}: prediction(s) for unknown question id(s) {_preview(unknown)}")
    unanswered = [q["id"] for q in questions if q["id"] not in by_id]
    if unanswered:
        raise RaitError(f"{origin}: no prediction for question id(s) {_preview(unanswered)}")
    for key in ("ik", "base_answer", "judge", "base_judge"):
        _check_all_or_none(predictions, key, origin)
    log_quirks(questions, profile, origin)
    rows = [graded_row(q, p, base_answer=p.get("base_answer"), ik=p.get("ik"),
                       judgment=_verdict(p, "judge", origin), base_judgment=_verdict(p, "base_judge", origin),
                       refusals=refusals, exact=exact, profile=profile)
            for q in questions for p in [by_id[q["id"]]]]
    return metrics(rows, bootstrap, penalty_targets)
