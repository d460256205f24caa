"""The RL rewards (rait.rewards) on hand-graded answers, and the stated-confidence reader."""

from __future__ import annotations

import json

import pytest

from rait.errors import RaitError
from rait.rewards import (REWARDS, StatementCounts, abstention_reward, check_abstention, conqord_rewards,
                          order_term, read_statement, rlcr_rewards)

OPEN = {"id": "q1", "question": "Capital of France?", "answers": ["Paris"]}
MC = {"id": "q2", "question": "2 + 2?", "choices": ["3", "4", "5", "6"], "gold": "B"}


def grading(record) -> str:
    return json.dumps({"question": record, "profile": "rait", "refusals": ["I don't know."], "exact_match": False})


@pytest.mark.parametrize("text, answer, confidence, status", [
    ("Paris Confidence: 0.8", "Paris", 0.8, "ok"),
    ("Paris confidence: 1", "Paris", 1.0, "ok"),
    ("Paris Confidence: .25", "Paris", 0.25, "ok"),
    ("Paris ; 0 . 7", None, None, None),  # another marker: read with ";" below
    ("Paris", "Paris", None, "missing"),
    ("Paris Confidence: high", "Paris", None, "missing"),
    ("Paris Confidence: 80", "Paris", None, "out_of_range"),
    ("Confidence: 0.1 Paris Confidence: 0.9", "Confidence: 0.1 Paris", 0.9, "ok"),  # the last marker counts
    ("Confidence: 0.7 Paris", "Paris", 0.7, "ok"),  # training.confidence_position: before
    ("Confidence: 0 . 3 New York City", "New York City", 0.3, "ok"),
])
def test_read_statement_splits_the_answer_from_its_confidence(text, answer, confidence, status):
    if answer is None:
        statement = read_statement(text, ";")
        assert (statement.answer, statement.confidence, statement.status) == ("Paris", 0.7, "ok")
        return
    statement = read_statement(text)
    assert (statement.answer, statement.confidence, statement.status) == (answer, confidence, status)


def test_abstention_reward_is_ternary_and_an_unparsed_choice_is_wrong():
    weights = check_abstention({})
    assert [abstention_reward(g, weights) for g in ("correct", "refusal", "wrong", "unparsed")] == [1.0, 0.0, -1.0, -1.0]
    (reward,), (weight,) = REWARDS["abstention"]({})
    completions = ["Paris", "I don't know.", "Lyon", "B", "Z", [{"role": "assistant", "content": "It is Paris."}]]
    rows = [grading(OPEN), grading(OPEN), grading(OPEN), grading(MC), grading(MC), grading(OPEN)]
    assert reward(completions, rows) == [1.0, 0.0, -1.0, 1.0, -1.0, 1.0] and weight == 1.0


@pytest.mark.parametrize("weights, match", [
    ({"refusal": 1.0}, "refusal .* must earn less than a correct answer"),
    ({"refusal": 2.0, "correct": 1.0}, "refusal"),
    ({"wrong": 1.0}, "wrong answer .* must earn less"),
    ({"abstain": 0.5}, "unknown key"),
])
def test_abstention_weights_that_make_refusing_pay_are_refused(weights, match):
    with pytest.raises(RaitError, match=match):
        check_abstention(weights)


def test_abstention_weights_that_never_reward_abstaining_are_allowed_with_a_warning(caplog):
    check_abstention({"wrong": 0.0, "refusal": 0.0})
    assert "abstaining never pays" in caplog.text


def test_rlcr_rewards_follow_their_code():
    # correct at 0.8: format 1, accuracy 1, brier 1 - 0.04; wrong at 0.8: brier 1 - 0.64; wrong at 0.0: brier 1
    assert rlcr_rewards(True, 0.8) == pytest.approx({"format": 1.0, "accuracy": 1.0, "brier": 0.96})
    assert rlcr_rewards(False, 0.8) == pytest.approx({"format": 1.0, "accuracy": 0.0, "brier": 0.36})
    assert rlcr_rewards(False, 0.0) == {"format": 1.0, "accuracy": 0.0, "brier": 1.0}
    # no parsable confidence: nothing, not even for a right answer (their accuracy requires the format)
    assert rlcr_rewards(True, None) == {"format": 0.0, "accuracy": 0.0, "brier": 0.0}


def test_calibration_functions_grade_the_answer_before_the_marker_and_count_missing_confidences():
    counts = StatementCounts()
    functions, weights = REWARDS["calibration"]({}, counts=counts)
    assert [f.__name__ for f in functions] == ["rlcr_format", "rlcr_accuracy", "rlcr_brier"]
    assert weights == [0.5, 0.5, 0.5]
    completions = ["Paris Confidence: 0.9", "Lyon Confidence: 0.9", "Paris", "Paris Confidence: 5"]
    rows = [grading(OPEN)] * 4
    total = [sum(w * f(completions, rows)[i] for f, w in zip(functions, weights)) for i in range(4)]
    # right and sure: 0.5 (1 + 1 + 0.99); wrong and sure: 0.5 (1 + 0 + 0.19); the last two unparsable: 0
    assert total == pytest.approx([1.495, 0.595, 0.0, 0.0])
    assert counts.counts == {"ok": 2, "missing": 1, "out_of_range": 1}  # graded once for the three functions


def test_conqord_order_term_is_zero_for_equal_confidences_and_positive_when_confidence_follows_quality():
    assert order_term([1.0, 0.0, 1.0], [0.5, 0.5, 0.5]) == [0.0, 0.0, 0.0]
    # qualities 1, 0; confidences 0.9, 0.2: each term (1 - 0)(0.9 - 0.2) = 0.7
    assert order_term([1.0, 0.0], [0.9, 0.2]) == pytest.approx([0.7, 0.7])
    # against quality: negative
    assert order_term([1.0, 0.0], [0.2, 0.9]) == pytest.approx([-0.7, -0.7])
    # a hand batch of three: r = (1, 0, 0), c = (0.8, 0.3, 0.6)
    # term_1 = (1-0)(0.8-0.3) + (1-0)(0.8-0.6) = 0.7; term_2 = (0-1)(0.3-0.8) + 0 = 0.5; term_3 = (0-1)(0.6-0.8) = 0.2
    assert order_term([1.0, 0.0, 0.0], [0.8, 0.3, 0.6]) == pytest.approx([0.7, 0.5, 0.2])
    assert conqord_rewards([1.0, 0.0, 0.0], [0.8, 0.3, 0.6], alpha=0.5, clip=5.0) == pytest.approx([1.35, 0.25, 0.1])
    assert conqord_rewards([10.0, 0.0], [1.0, 0.0], alpha=1.0, clip=5.0) == [5.0, 5.0]  # clipped as their code


def test_conqord_function_reads_a_missing_confidence_as_one():
    counts = StatementCounts()
    (reward,), _ = REWARDS["conqord"]({}, counts=counts)
    rewards = reward(prompts=["p", "p"], completions=["Paris Confidence: 0.8", "Lyon"], grading=[grading(OPEN)] * 2)
    # r = (1, 0), c = (0.8, 1.0): terms (1)(0.8 - 1) = -0.2 for both
    assert rewards == pytest.approx([1 - 0.1, -0.1])
    assert counts.counts["missing"] == 1
    with pytest.raises(RaitError, match="unknown key"):
        REWARDS["conqord"]({"beta": 1})
