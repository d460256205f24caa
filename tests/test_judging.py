"""The model judge's parts: its prompt, its reading of a reply, and what a verdict does to a grade."""

from __future__ import annotations

import pytest

from rait.errors import RaitError
from rait.evaluation import grade_split
from rait.judging import (
    check_prompt,
    gold_text,
    judge_requests,
    judged_grade,
    parse_score,
    tally,
    verdict,
)

OPEN = {"id": "q1", "question": "Capital of France?", "answers": ["Paris", "City of Light"]}
MC = {"id": "q2", "question": "2 + 2?", "choices": ["3", "4", "5", "6"], "gold": "B"}
TEMPLATES = {"open": "Q: {question}", "mc": "Q: {question}\n{choices}"}


@pytest.mark.parametrize("reply, score", [
    ("1", 1.0), ("0", 0.0), ("0.85", 0.85), (" Score: 0.7\n", 0.7), (".9", 0.9), ("1.0 because", 1.0),
    ("5", None), ("no idea", None), ("", None), ("12.5", None),
])
def test_parse_score_reads_the_first_number_in_the_unit_interval(reply, score):
    assert parse_score(reply) == score


def test_verdict_accepts_above_the_threshold_only():
    # Alignment for Honesty's correct_by_chatgpt_score: score > 0.7
    assert verdict("0.7", 0.7)["verdict"] == "reject"
    assert verdict("0.71", 0.7)["verdict"] == "accept"
    assert verdict("yes", 0.7) == {"reply": "yes", "score": None, "verdict": "unparsed"}


@pytest.mark.parametrize("rule, judged, final", [
    ("wrong", "accept", "correct"), ("unparsed", "accept", "correct"), ("refusal", "accept", "refusal"),
    ("correct", "reject", "correct"), ("wrong", "reject", "wrong"), ("wrong", "unparsed", "wrong"),
])
def test_a_verdict_only_ever_turns_a_wrong_answer_correct(rule, judged, final):
    assert judged_grade(rule, {"verdict": judged}) == final


def test_prompt_fields_are_checked():
    assert check_prompt("{question} {gold} {answer}")
    for bad, message in (("{answer} {reference}", "unknown field"), ("{question}", "answer"),
                         ("{answer", "not a valid template")):
        with pytest.raises(RaitError, match=message):
            check_prompt(bad)


def test_the_judge_sees_the_question_as_asked_every_alias_and_the_answer():
    assert gold_text(OPEN) == "Paris / City of Light" and gold_text(MC) == "B. 4"
    requests = judge_requests([OPEN, MC], [{"id": "q2", "answer": " 4 "}, {"id": "q1", "answer": "Lyon"}],
                              "{question}|{gold}|{answer}", TEMPLATES, origin="p.jsonl")
    assert requests == [{"id": "q1", "question": "Q: Capital of France?|Paris / City of Light|Lyon"},
                        {"id": "q2", "question": "Q: 2 + 2?\nA. 3\nB. 4\nC. 5\nD. 6|B. 4|4"}]
    with pytest.raises(RaitError, match="p.jsonl: no prediction for 1 question"):
        judge_requests([OPEN, MC], [{"id": "q1", "answer": "x"}], "{answer}", TEMPLATES, origin="p.jsonl")


def _split(answers, judgments, base_judgments):
    questions = [OPEN, {**OPEN, "id": "q3"}]
    predictions = [{"id": qid, "answer": text} for qid, text in answers.items()]
    base = [{"id": "q1", "greedy": "Lyon"}, {"id": "q3", "greedy": "Paris"}]
    knowledge = [{"id": "q1", "ik": True}, {"id": "q3", "ik": False}]
    return grade_split(questions, predictions, base, knowledge, origin="m on t", judgments=judgments,
                       base_judgments=base_judgments)


def test_judgments_turn_accepted_wrong_answers_correct_for_the_method_and_the_base_model():
    rows = _split({"q1": "the French capital", "q3": "I don't know"},
                  [{"id": "q1", "verdict": "accept"}, {"id": "q3", "verdict": "accept"}],
                  [{"id": "q1", "verdict": "unparsed"}, {"id": "q3", "verdict": "reject"}])
    assert [(r["rule_grade"], r["grade"], r["judge"]) for r in rows] == [
        ("wrong", "correct", "accept"), ("refusal", "refusal", "accept")]
    assert [(r["base_grade"], r["base_judge"]) for r in rows] == [("wrong", "unparsed"), ("correct", "reject")]
    assert tally(rows) == {"accept": 2, "reject": 0, "correct": 0, "incorrect": 0, "not_attempted": 0, "unparsed": 0,
                           "upgraded": 1, "changed": 1}


def test_three_way_judgments_replace_the_grades_of_both_models_in_an_evaluation():
    """SimpleQA's grading through grade_split: the method's hedge the rules call a refusal is labelled incorrect,
    its right answer not attempted (the label stands); the base model's wrong answer correct; the counts name each."""
    rows = _split({"q1": "Paris", "q3": "I don't know"},
                  [{"id": "q1", "verdict": "not_attempted"}, {"id": "q3", "verdict": "incorrect"}],
                  [{"id": "q1", "verdict": "correct"}, {"id": "q3", "verdict": "unparsed"}])
    assert [(r["rule_grade"], r["grade"]) for r in rows] == [("correct", "refusal"), ("refusal", "wrong")]
    assert [r["base_grade"] for r in rows] == ["correct", "correct"]  # Lyon accepted; Paris's rule grade stands
    assert tally(rows) == {"accept": 0, "reject": 0, "correct": 0, "incorrect": 1, "not_attempted": 1, "unparsed": 0,
                           "upgraded": 0, "changed": 2}
    assert [r["graders"]["judge"] for r in rows] == [False, False]


def test_judgments_must_cover_every_question_and_both_models():
    with pytest.raises(RaitError, match="m on t: judgments: no judgment for 1 question"):
        _split({"q1": "x", "q3": "y"}, [{"id": "q1", "verdict": "accept"}],
               [{"id": "q1", "verdict": "accept"}, {"id": "q3", "verdict": "accept"}])
    with pytest.raises(RaitError, match="not both"):
        _split({"q1": "x", "q3": "y"}, [{"id": "q1", "verdict": "accept"}], None)
    with pytest.raises(RaitError, match="verdict 'yes'"):
        _split({"q1": "x", "q3": "y"}, [{"id": "q1", "verdict": "yes"}, {"id": "q3", "verdict": "accept"}],
               [{"id": "q1", "verdict": "accept"}, {"id": "q3", "verdict": "accept"}])


def test_the_three_way_judge_labels_replace_the_rules_grade():
    """Issue 27: SimpleQA's grading: correct, incorrect, not attempted (a refusal); a reply without a label is
    unparsed and the rules' grade stands; the label counts for the graders' agreement."""
    from rait.agreement import decisions
    from rait.judging import judged_grade, parse_label, verdict

    assert [parse_label(reply) for reply in ("CORRECT", "It is INCORRECT.", "not attempted", "B", " C. ", "maybe",
                                             "A grade")] == ["correct", "incorrect", "not_attempted", "incorrect",
                                                             "not_attempted", None, None]
    assert verdict("NOT_ATTEMPTED", 0.7, "three_way") == {"reply": "NOT_ATTEMPTED", "score": None,
                                                          "verdict": "not_attempted"}
    assert verdict("0.9", 0.7, "three_way")["verdict"] == "unparsed"
    assert judged_grade("correct", {"verdict": "incorrect"}) == "wrong"  # the label stands, even against the rules
    assert judged_grade("wrong", {"verdict": "not_attempted"}) == "refusal"
    assert judged_grade("refusal", {"verdict": "correct"}) == "correct"
    assert judged_grade("wrong", {"verdict": "unparsed"}) == "wrong"
    record = {"id": "q", "question": "Capital of France?", "answers": ["Paris"]}
    assert decisions(record, "Lyon", judgment={"verdict": "correct"})["judge"] is True
    assert "judge" not in decisions(record, "Lyon", judgment={"verdict": "unparsed"})


def test_a_datasets_judge_mode_comes_from_its_entry_its_loader_or_the_judge():
    from test_plan_jobs import plan_of

    judged = {"grading": {"judge": {"model": "llama3_8b"}},
              "datasets": {"simpleqa": {"source": "hub", "loader": "simpleqa", "splits": {"test": "train"}},
                           "popqa": {"source": "hub", "loader": "popqa", "splits": {"test": "test"},
                                     "judge_mode": "three_way"}}}
    plan = plan_of(**judged)
    assert plan.judge_mode("simpleqa") == "three_way" and plan.judge_mode("triviaqa") == "score"
    assert plan.judge_mode("popqa") == "three_way"
    assert plan.judge_prompt("simpleqa").startswith("Grade the proposed answer") and "{answer}" in plan.judge_prompt(
        "simpleqa")
    assert plan.judge_prompt("triviaqa") == plan.judge["prompt"]
