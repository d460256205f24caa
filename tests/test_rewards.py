"""The RL rewards (rait.rewards) on hand-graded answers, and the stated-confidence reader."""

from __future__ import annotations

import json

import pytest

from rait.errors import RaitError
from rait.rewards import (REWARDS, StatementCounts, abstention_reward, check_abstention, conqord_rewards,
                          conqord_statement, order_groups, order_term, read_statement, rlcr_rewards)

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
    (reward,), (weight,) = REWARDS["abstention"].functions({})
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
    functions, weights = REWARDS["calibration"].functions({}, counts=counts)
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
    (reward,), _ = REWARDS["conqord"].functions({}, counts=counts)
    rewards = reward(prompts=["p", "q"], completions=["Paris Confidence: 0.8", "Lyon"], grading=[grading(OPEN)] * 2)
    # r = (1, 0), c = (0.8, 1.0): terms (1)(0.8 - 1) = -0.2 for both
    assert rewards == pytest.approx([1 - 0.1, -0.1])
    assert counts.counts["missing"] == 1
    with pytest.raises(RaitError, match="unknown key"):
        REWARDS["conqord"].functions({"beta": 1})


@pytest.mark.parametrize("text, answer, confidence, status", [
    ("Paris Confidence: 0.9", "Paris", 0.9, "ok"),
    ("Lyon Confidence: 80", "Lyon", 80.0, "out_of_range"),      # kept as it is, as extract_confidence does
    ("Paris Confidence: 0.2 ... Confidence: 0.9", "Paris", 0.2, "ok"),   # the first statement, not the last
    ("Paris Confidence: .5", "Paris", 0.5, "ok"),
    ("Paris Confidence:0.5", "Paris", 1.0, "missing"),           # their pattern wants one space after the marker
    ("Paris confidence: 0.5", "Paris confidence: 0.5", 1.0, "missing"),   # and the marker as written
    ("Paris", "Paris", 1.0, "missing"),
])
def test_conqord_reads_a_statement_as_its_extract_confidence(text, answer, confidence, status):
    # CONQORD@7391fbb utils/data/data_utils.py extract_confidence: re.search('### Confidence: ([0-9]*\\.?[0-9]+)'),
    # float of the first match, 1 when none; the answer is cut before the first marker
    statement = conqord_statement(text)
    assert (statement.answer, statement.confidence, statement.status) == (answer, confidence, status)
    assert conqord_statement("; 0 Paris", ";", "before").answer == "Paris"


def test_conqord_rewards_three_completions_as_the_original():
    """Qualities 1, 0, 1 (right, wrong, right) stating 0.9, 80 and 0.2 (then 0.9): CONQORD reads 0.9, 80, 0.2;
    order terms (1-0)(0.9-80) = -79.1, (0-1)(80-0.9) + (0-1)(80-0.2) = -158.9, (1-0)(0.2-80) = -79.8; with alpha
    0.5 every reward falls below -5 and is clipped there (the last-marker, out-of-range-as-1.0 reading gave
    0.95, -0.10, 0.95)."""
    counts = StatementCounts()
    (reward,), _ = REWARDS["conqord"].functions({}, counts=counts)
    paris = grading(OPEN)
    completions = ["Paris Confidence: 0.9", "Lyon Confidence: 80", "Paris Confidence: 0.2 ... Confidence: 0.9"]
    assert reward(prompts=["a", "b", "c"], completions=completions, grading=[paris] * 3) == [-5.0, -5.0, -5.0]
    assert counts.counts == {"ok": 2, "missing": 0, "out_of_range": 1}


def test_the_order_term_compares_one_answer_per_prompt_batch_at_a_time():
    # GRPO's batch: prompts a, b, c with two answers each, in groups: a a b b c c
    assert order_groups(["a", "a", "b", "b", "c", "c"], 8) == [[0, 2, 4], [1, 3, 5]]
    assert order_groups(["a", "a", "b", "b", "c", "c"], 2) == [[0, 2], [4], [1, 3], [5]]
    assert order_groups(["a", "b"], 1) == [[0], [1]]      # run_step3.sh's batch of 1: no term at all
    # within groups only: answers 0 and 1 are not compared
    assert conqord_rewards([1.0, 0.0, 0.0, 1.0], [0.8, 0.3, 0.6, 0.9], alpha=0.5, clip=5.0,
                           groups=[[0, 2], [1, 3]]) == pytest.approx([1 + 0.5 * 0.2, 0 + 0.5 * 0.6, 0 + 0.5 * 0.2,
                                                                     1 + 0.5 * 0.6])
    (reward,), _ = REWARDS["conqord"].functions({"batch": 1})
    assert reward(prompts=["a", "b"], completions=["Paris Confidence: 0.1", "Lyon Confidence: 0.9"],
                  grading=[grading(OPEN)] * 2) == [1.0, 0.0]
    with pytest.raises(RaitError, match="batch"):
        REWARDS["conqord"].functions({"batch": 0})
