"""rait.risk against hand computations: abstention precision, recall and F1 (and scikit-learn's own on random
tables), the false-refusal and hallucination rates, penalty scores at confidence targets, and selective risk at a
coverage and coverage at a risk, ties and empty denominators included."""

from __future__ import annotations

import random

import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from rait.calibration import accuracy_at
from rait.errors import RaitError
from rait.intervals import intervals
from rait.metrics import METRICS, score
from rait.risk import (abstention, check_target, check_targets, coverage_at_risk, hallucination_rate, penalty_name, penalty_score,
                       risk_at_coverage, selective)

# six questions: two unanswerable (U), four answerable (A)
GRADES = ["refusal", "wrong", "correct", "refusal", "wrong", "unparsed"]
ANSWERABLE = [False, False, True, True, True, True]


def test_abstention_by_hand():
    """Refusals: questions 1 (U) and 4 (A): TP 1, FP 1; the unanswerable question 2 answered: FN 1.
    Precision 1/2, recall 1/2, F1 2*1/(2*1+1+1) = 1/2; refused among the four answerable: 1/4."""
    assert abstention(GRADES, ANSWERABLE) == {"abstention_precision": 0.5, "abstention_recall": 0.5,
                                              "abstention_f1": 0.5, "false_refusal_rate": 0.25}


def test_abstention_with_an_empty_denominator_is_not_measured_rather_than_zero():
    # no refusal: precision undefined (scikit-learn warns and says 0); recall 0 of 1; F1 2*0/(0+1) = 0
    assert abstention(["wrong", "correct"], [False, True]) == {
        "abstention_precision": None, "abstention_recall": 0.0, "abstention_f1": 0.0, "false_refusal_rate": 0.0}
    # every question answerable (TriviaQA): nothing should be refused, so recall is undefined; each refusal is false
    assert abstention(["refusal", "correct"], [True, True]) == {
        "abstention_precision": 0.0, "abstention_recall": None, "abstention_f1": 0.0, "false_refusal_rate": 0.5}
    # every question unanswerable: no false-refusal rate
    assert abstention(["refusal"], [False])["false_refusal_rate"] is None
    # neither a refusal nor an unanswerable question: F1 undefined too
    assert abstention(["correct"], [True])["abstention_f1"] is None


def test_abstention_equals_scikit_learns_on_random_tables():
    """AbstentionBench's definitions are scikit-learn's (analysis/tables.py): equal wherever both are defined."""
    rng = random.Random(0)
    for _ in range(300):
        n = rng.randint(1, 30)
        grades = [rng.choice(["correct", "wrong", "refusal", "unparsed"]) for _ in range(n)]
        answerable = [rng.random() < 0.6 for _ in range(n)]
        should, did = [not a for a in answerable], [g == "refusal" for g in grades]
        ours = abstention(grades, answerable)
        if any(did):
            assert ours["abstention_precision"] == pytest.approx(precision_score(should, did, zero_division=0))
        if any(should):
            assert ours["abstention_recall"] == pytest.approx(recall_score(should, did, zero_division=0))
        if any(did) or any(should):
            assert ours["abstention_f1"] == pytest.approx(f1_score(should, did, zero_division=0))


def test_hallucination_rate_counts_wrong_and_unparsed_among_the_attempted():
    assert hallucination_rate(GRADES) == 3 / 4  # attempted: wrong, correct, wrong, unparsed
    assert hallucination_rate(["refusal", "refusal"]) is None
    assert hallucination_rate(["correct", "refusal"]) == 0.0


def test_penalty_scores_by_hand():
    """t = 0.5: a wrong answer costs 1; 0.75: 3; 0.9: 9. GRADES: one right, two refusals, three wrong."""
    assert penalty_score(GRADES, 0.5) == pytest.approx((1 - 3) / 6)
    assert penalty_score(GRADES, 0.75) == pytest.approx((1 - 9) / 6)
    assert penalty_score(GRADES, 0.9) == pytest.approx((1 - 27) / 6)
    assert penalty_score(["refusal"] * 4, 0.9) == 0.0  # refusing everything scores 0 at any target
    assert penalty_score([], 0.5) is None
    # answering is worth it exactly above t: at t = 0.75 a guesser right 3 times in 4 breaks even
    assert penalty_score(["correct"] * 3 + ["wrong"], 0.75) == pytest.approx(0.0)


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.2, "0.5", True, None])
def test_a_confidence_target_outside_the_open_unit_interval_is_refused(bad):
    with pytest.raises(RaitError, match="confidence target lies strictly between 0 and 1"):
        check_target(bad)


@pytest.mark.parametrize("bad, message", [
    ([0.5, 1.0], "confidence target lies strictly between 0 and 1"),
    ([0.0], "confidence target lies strictly between 0 and 1"),
    (["0.9"], "confidence target lies strictly between 0 and 1"),
    ([0.5, 0.75, 0.5], "penalty_50 asked for twice"),
    ([0.9, 0.9000000001], "penalty_90 asked for twice"),  # one column name: the same target to the column
    ("0.5", "expected a list of confidence targets"),
    (0.5, "expected a list of confidence targets"),
])
def test_a_list_of_targets_out_of_range_repeated_or_not_a_list_is_refused_naming_where(bad, message):
    with pytest.raises(RaitError, match=f"^grading.penalty_targets: .*{message}"):
        check_targets(bad, "grading.penalty_targets")


def test_the_configured_targets_are_the_penalty_columns_scored_and_bootstrapped():
    """t = 0.6: a wrong answer costs 1.5; t = 0.95: 19. GRADES: one right, two refusals, three wrong."""
    assert check_targets([]) == () and check_targets((0.6, 0.95)) == (0.6, 0.95)
    rows = [{"grade": g, "base_grade": "correct"} for g in GRADES]
    result = score(rows, (0.6, 0.95))
    assert result["penalty_60"] == pytest.approx((1 - 4.5) / 6)
    assert result["penalty_95"] == pytest.approx((1 - 57) / 6)
    assert "penalty_50" not in result and "penalty_75" not in result
    bounds = intervals(rows, resamples=20, penalty_targets=(0.6, 0.95))
    assert set(bounds["intervals"]) >= {"penalty_60", "penalty_95"} and "penalty_50" not in bounds["intervals"]
    # the base model answered all six right: 1 at any target, so the paired difference is the method's score - 1
    assert bounds["vs_base"]["penalty_95"]["difference"] == pytest.approx((1 - 57) / 6 - 1)
    assert set(score(rows, ())) & {"penalty_50", "penalty_75", "penalty_90"} == set()


def test_penalty_metric_names():
    assert [penalty_name(t) for t in (0.5, 0.75, 0.9, 0.995)] == ["penalty_50", "penalty_75", "penalty_90",
                                                                   "penalty_99.5"]


def test_selective_risk_and_coverage_by_hand():
    """Most confident first: 0.9 right, 0.8 wrong, 0.7 right, 0.6 right, 0.5 wrong (refusals are not right).
    Accuracy of the k most confident: 1, 1/2, 2/3, 3/4, 3/5; risks 0, 1/2, 1/3, 1/4, 2/5."""
    acc = accuracy_at([0.9, 0.8, 0.7, 0.6, 0.5], [True, False, True, True, False])
    assert risk_at_coverage(acc, 0.5) == pytest.approx(1 / 3)  # ceil(2.5) = 3 answers
    assert risk_at_coverage(acc, 0.8) == pytest.approx(1 / 4)  # 4 answers
    assert risk_at_coverage(acc, 0.9) == pytest.approx(2 / 5)  # ceil(4.5) = 5
    assert coverage_at_risk(acc, 0.05) == pytest.approx(1 / 5)  # only the most confident is within 5%
    assert coverage_at_risk(acc, 0.25) == pytest.approx(4 / 5)  # 1/4 <= 0.25 at k = 4
    assert coverage_at_risk(acc, 0.2) == pytest.approx(1 / 5)
    # even the most confident answer is wrong: nothing can be answered at 5% risk
    assert coverage_at_risk(accuracy_at([0.9, 0.1], [False, True]), 0.05) == 0.0
    assert risk_at_coverage([], 0.5) is None and coverage_at_risk([], 0.1) is None


def test_tied_confidences_count_in_expectation():
    """Four answers at one confidence, two right: the k most confident are right k/2 of the time in expectation,
    so the risk is 1/2 at every coverage, whatever order the rows come in."""
    acc = accuracy_at([0.5] * 4, [True, False, False, True])
    assert [risk_at_coverage(acc, c) for c in (0.25, 0.5, 0.9)] == pytest.approx([0.5, 0.5, 0.5])
    assert coverage_at_risk(acc, 0.2) == 0.0 and coverage_at_risk(acc, 0.5) == 1.0
    assert accuracy_at([0.5] * 4, [False, True, True, False]) == pytest.approx(acc)


def test_selective_metrics_are_none_without_confidences():
    assert set(selective(None).values()) == {None}
    assert set(selective(None)) == {"risk_at_coverage_50", "risk_at_coverage_80", "risk_at_coverage_90",
                                    "coverage_at_risk_5", "coverage_at_risk_10", "coverage_at_risk_20"}


def test_score_reports_them_with_intervals_and_registers_each():
    rows = [{"grade": g, "answerable": a, "base_grade": "wrong"} for g, a in zip(GRADES, ANSWERABLE, strict=True)]
    result = score(rows)
    assert result["abstention_f1"] == 0.5 and result["hallucination_rate"] == 0.75
    assert result["penalty_75"] == pytest.approx(-8 / 6)
    assert result["risk_at_coverage_50"] is None  # no confidence
    bounds = intervals(rows, resamples=50)
    assert bounds["intervals"]["penalty_50"][0] <= result["penalty_50"] <= bounds["intervals"]["penalty_50"][1]
    assert "false_refusal_rate" in bounds["vs_base"]  # the base model refused nothing answerable: paired
    for name in ("hallucination_rate", "penalty_50", "abstention_precision", "false_refusal_rate",
                 "risk_at_coverage_80", "coverage_at_risk_10"):
        assert name in METRICS
    # rows without answerability (a mix is refused, as for every outcome field)
    assert score([{"grade": "refusal"}])["abstention_recall"] is None
    with pytest.raises(RaitError, match="answerable is given for 1 of 2"):
        score([{"grade": "refusal", "answerable": True}, {"grade": "correct"}])


# ---- rait.agreement: the graders' Cohen's kappa --------------------------------------------------------------------


def test_kappa_by_hand_and_equal_to_scikit_learns():
    """Ten answers: both right on 4, both not on 3, only the first on 2, only the second on 1. p_o = 7/10;
    rates 6/10 and 5/10, p_e = 0.6*0.5 + 0.4*0.5 = 1/2; kappa (0.7 - 0.5) / 0.5 = 0.4."""
    from sklearn.metrics import cohen_kappa_score

    from rait.agreement import kappa

    first = [True] * 4 + [False] * 3 + [True] * 2 + [False]
    second = [True] * 4 + [False] * 3 + [False] * 2 + [True]
    assert kappa(first, second) == pytest.approx(0.4)
    rng = random.Random(1)
    for _ in range(300):
        n = rng.randint(1, 25)
        a = [rng.random() < 0.5 for _ in range(n)]
        b = [x if rng.random() < 0.7 else not x for x in a]
        ours = kappa(a, b)
        if ours is None:  # both constant and alike: scikit-learn divides by zero
            assert len(set(a)) == 1 and a == b
        else:
            assert ours == pytest.approx(cohen_kappa_score(a, b))
    assert kappa([True, True], [True, True]) is None and kappa([], []) is None
    assert kappa([True, False], [False, True]) == pytest.approx(-1.0)


def test_each_grader_decides_and_pairs_agree_over_what_both_decided():
    """An open question: "paris" is right for rait's, CRaFT's and Alignment for Honesty's rules, not for
    Say-I-Dont-Know's case-sensitive substring test; the judge accepts. A multiple-choice question: Say-I-Dont-Know's
    rules never graded one, so they give no decision there."""
    from rait.agreement import PAIRS, agreement, decisions, pair_name

    open_record = {"id": "q1", "question": "Capital of France?", "answers": ["Paris"]}
    mc_record = {"id": "q2", "question": "2 + 2?", "choices": ["3", "4"], "gold": "B"}
    first = decisions(open_record, "paris", judgment={"verdict": "accept"})
    assert first == {"rait": True, "sidk": False, "craft": True, "honesty": True, "judge": True}  # CRaFT lowercases
    second = decisions(mc_record, "B", judgment={"verdict": "unparsed"})
    assert "sidk" not in second and "judge" not in second and second["rait"] is True
    values = agreement([{"graders": first}, {"graders": second}])
    assert values["kappa_rait_honesty"] is None  # both right on both: constant and alike
    # one shared answer (q1), on which they split: agreement 0, chance agreement 0 (each says one thing), kappa 0
    assert values["kappa_sidk_honesty"] == 0.0
    assert values["kappa_rait_judge"] is None  # the judge decided q1 only, right like rait: constant and alike
    assert set(values) == {pair_name(a, b) for a, b in PAIRS}
