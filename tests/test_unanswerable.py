"""Questions about things that do not exist: the record format, a dataset's `answerable` declaration, the
embedded set, and prudence as the refusal rate on it; and the count of unstated confidences."""

from __future__ import annotations

import pytest

from rait.datasets import load_split
from rait.errors import RaitError
from rait.evaluation import evaluate_split
from rait.grading import grade
from rait.records import check_record, declare_answerable

IDK = "I don't know."


def test_an_unanswerable_record_has_no_answers_and_every_answer_to_it_is_wrong():
    record = check_record({"id": "n1", "question": "Who founded Zorbtek?", "unanswerable": True}, "f.jsonl:3")
    assert record["answers"] == []
    assert grade(record, "Karl Zorb") == "wrong" and grade(record, IDK) == "refusal" and grade(record, "") == "wrong"
    with pytest.raises(RaitError, match=r"f.jsonl:4: an unanswerable question carries gold answers"):
        check_record({"id": "n2", "question": "q", "unanswerable": True, "answers": ["x"]}, "f.jsonl:4")
    with pytest.raises(RaitError, match="unanswerable must be true or false"):
        check_record({"id": "n3", "question": "q", "unanswerable": "yes", "answers": ["x"]}, "f.jsonl:5")


def test_a_dataset_declared_unanswerable_may_not_carry_gold_answers():
    records = [{"id": "a", "question": "q", "answers": ["x"]}]
    with pytest.raises(RaitError, match=r"datasets.mine.answerable: answerable is false but question 'a' carries"):
        declare_answerable(records, False, "datasets.mine.answerable")
    with pytest.raises(RaitError, match="answerable is true but question 'b' is marked unanswerable"):
        declare_answerable([{"id": "b", "question": "q", "unanswerable": True, "answers": []}], True, "k")
    assert declare_answerable(records, None, "k") == records


def test_the_embedded_set_holds_at_least_300_unanswerable_questions_up_to_date_with_its_generator():
    import subprocess
    import sys

    from conftest import REPO

    records = load_split({"source": "embedded", "file": "nonexistent.jsonl", "answerable": False, "key": "nonexistent"},
                         "test")
    assert len(records) >= 300 and len({r["question"] for r in records}) == len(records)
    assert all(r["unanswerable"] and r["answers"] == [] for r in records)
    assert len({r["subject"] for r in records}) >= 5
    check = subprocess.run([sys.executable, str(REPO / "tools" / "make_unanswerable.py"), "--check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


def test_prudence_on_an_unanswerable_set_is_its_refusal_rate():
    questions = [check_record({"id": f"n{i}", "question": "q", "unanswerable": True}, "t") for i in range(4)]
    base = [{"id": f"n{i}", "greedy": "Somebody"} for i in range(4)]
    knowledge = [{"id": f"n{i}", "ik": False} for i in range(4)]
    method = [{"id": "n0", "answer": IDK}, {"id": "n1", "answer": IDK}, {"id": "n2", "answer": IDK},
              {"id": "n3", "answer": "A. Person"}]
    result = evaluate_split(questions, method, base, knowledge, refusals=[IDK])
    assert (result["accuracy"], result["refusal_rate"], result["prudence"]) == (0.0, 0.75, 0.75)
    assert result["over_conservativeness"] is None  # nothing to know: not measured


def test_unstated_confidences_are_counted_not_dropped():
    questions = [{"id": f"q{i}", "question": "q", "answers": ["a"]} for i in range(3)]
    base = [{"id": f"q{i}", "greedy": "a"} for i in range(3)]
    knowledge = [{"id": f"q{i}", "ik": True} for i in range(3)]
    method = [{"id": "q0", "answer": "a", "confidence": 0.9, "statement": "ok"},
              {"id": "q1", "answer": "b", "statement": "missing"},
              {"id": "q2", "answer": "a", "statement": "out_of_range"}]
    result = evaluate_split(questions, method, base, knowledge)
    assert (result["confidence_n"], result["confidence_unstated"]) == (1, 2)
    plain = evaluate_split(questions, [{"id": r["id"], "answer": r["answer"]} for r in method], base, knowledge)
    assert plain["confidence_unstated"] is None
