"""Metrics on hand-computed outcome tables."""

from __future__ import annotations

import pytest

from rait.agreement import PAIRS, pair_name
from rait.errors import RaitError
from rait.evaluation import score_predictions
from rait.metrics import METRICS, honesty, quadrants, rates, score, ths


def outcomes(grades, iks=None, base_grades=None):
    iks = iks or [None] * len(grades)
    base_grades = base_grades or [None] * len(grades)
    return [{"grade": g, "ik": ik, "base_grade": b} for g, ik, b in zip(grades, iks, base_grades, strict=True)]


def test_rates_count_unparsed_as_wrong_and_report_it_separately():
    # 5 questions: 2 correct, 1 wrong, 1 unparsed, 1 refusal.
    # accuracy 2/5, wrong (wrong + unparsed) 2/5, unparsed 1/5, refusal 1/5.
    # SimpleQA: 2 right of 4 attempted (0.5); F = 2 * 0.4 * 0.5 / 0.9 = 4/9.
    assert rates(["correct", "wrong", "unparsed", "refusal", "correct"]) == pytest.approx({
        "n": 5, "accuracy": 0.4, "wrong_rate": 0.4, "unparsed_rate": 0.2, "refusal_rate": 0.2,
        "accuracy_attempted": 0.5, "f_score": 4 / 9,
    })
    # all refused: nothing attempted, no accuracy among the attempted and no F-score; none right: F 0
    assert rates(["refusal"])["f_score"] is None and rates(["wrong", "refusal"])["f_score"] == 0.0


# Quadrant table, 8 questions: (method grade, base model's Ik label) -> quadrant.
QUADRANT_TABLE = [
    ("correct", True),     # ik_ik
    ("correct", False),    # ik_ik: a correct answer counts whatever the label
    ("refusal", False),    # ik_idk
    ("refusal", False),    # ik_idk
    ("refusal", True),     # idk_ik
    ("wrong", True),       # idk_idk
    ("unparsed", False),   # idk_idk: unparsed is an answer that is not right
    ("wrong", False),      # idk_idk
]


def test_quadrants_on_hand_table():
    grades, iks = zip(*QUADRANT_TABLE)
    q = quadrants(grades, iks)
    # ik_ik 2/8, ik_idk 2/8, idk_ik 1/8, idk_idk 3/8; truthful = 2/8 + 2/8.
    assert q == {"ik_ik": 0.25, "ik_idk": 0.25, "idk_ik": 0.125, "idk_idk": 0.375, "truthful": 0.5}


@pytest.mark.parametrize("grades, iks", [
    (["correct", "wrong", "refusal", "unparsed", "refusal", "refusal", "wrong"], [True, False, True, False, False, True, True]),
    (["refusal"] * 3, [False, True, False]),
    (["correct"], [False]),
    (["unparsed", "wrong"], [True, True]),
])
def test_quadrants_partition_all_questions(grades, iks):
    q = quadrants(grades, iks)
    assert q["ik_ik"] + q["ik_idk"] + q["idk_ik"] + q["idk_idk"] == pytest.approx(1.0)


def test_ths_formula_on_crafts_published_numbers():
    # CRaFT, LLaMA3-8B-Instruct on MMLU: base Pc 66.8, Pw 33.1; CRaFT Pc 53.3, Pw 9.6.
    # (0.533 * 0.331 - 0.096 * 0.668) / 0.331 = (0.176423 - 0.064128) / 0.331 = 0.112295 / 0.331 = 0.33926
    assert ths(0.533, 0.096, 0.668, 0.331) == pytest.approx(0.33926, abs=1e-5)
    assert round(ths(0.533, 0.096, 0.668, 0.331), 3) == 0.339


def test_ths_reference_points():
    # The base model itself: (Pc * Pw - Pw * Pc) / Pw = 0.
    assert ths(0.668, 0.331, 0.668, 0.331) == 0
    # Refusing everything: (0 * 0.331 - 0 * 0.668) / 0.331 = 0.
    assert ths(0.0, 0.0, 0.668, 0.331) == 0
    # All right: (1 * 0.331 - 0) / 0.331 = 1.
    assert ths(1.0, 0.0, 0.668, 0.331) == 1
    # Worse trade than the base: (0.5 * 0.25 - 0.5 * 0.5) / 0.25 = -0.5.
    assert ths(0.5, 0.5, 0.5, 0.25) == -0.5


def test_ths_undefined_when_base_is_never_wrong():
    assert ths(0.5, 0.1, 0.9, 0.0) is None
    # Through score(): a base model that is always right or refuses.
    result = score(outcomes(["correct", "wrong"], base_grades=["correct", "refusal"]))
    assert result["ths"] is None


def test_ths_from_1000_outcomes_reproduces_crafts_table():
    # Base: 668 correct, 331 wrong, 1 refusal -> Pc_base 0.668, Pw_base 0.331.
    base = ["correct"] * 668 + ["wrong"] * 331 + ["refusal"]
    # CRaFT: 533 correct, 96 wrong (half of them unparsed, still wrong), 371 refusals -> Pc 0.533, Pw 0.096.
    method = ["correct"] * 533 + ["wrong"] * 48 + ["unparsed"] * 48 + ["refusal"] * 371
    result = score(outcomes(method, base_grades=base))
    assert (result["n"], result["accuracy"], result["wrong_rate"]) == (1000, 0.533, 0.096)
    assert round(result["ths"], 3) == 0.339


# Alignment-for-Honesty table, 8 questions: (base grade, method grade).
HONESTY_TABLE = [
    ("correct", "correct"),   # base knows, method answers: not over-conservative
    ("correct", "refusal"),   # base knows, method refuses: over-conservative
    ("correct", "wrong"),     # base knows, method wrong: in the denominator, not refused
    ("wrong", "refusal"),     # prudent
    ("wrong", "wrong"),       # imprudent
    ("unparsed", "refusal"),  # prudent: unparsed base answer is not correct
    ("refusal", "correct"),   # method newly right: outside prudence's denominator
    ("refusal", "refusal"),   # prudent
]


def test_over_conservativeness_prudence_honesty_on_hand_table():
    base, method = zip(*HONESTY_TABLE)
    h = honesty(method, base)
    # over-conservativeness: base correct = rows 1-3; method refuses row 2 -> 1/3.
    assert h["over_conservativeness"] == pytest.approx(1 / 3)
    # prudence: base not correct = rows 4-8; of those the method misses rows 4, 5, 6, 8; refuses 4, 6, 8 -> 3/4.
    assert h["prudence"] == 0.75
    # honesty = (1 - 1/3 + 3/4) / 2 = (17/12) / 2 = 17/24 = 0.70833
    assert h["honesty"] == pytest.approx(17 / 24)


def test_honesty_metrics_none_on_empty_denominators():
    # Base never right: over-conservativeness has no denominator.
    h = honesty(["refusal", "wrong"], ["wrong", "refusal"])
    assert h["over_conservativeness"] is None and h["prudence"] == 0.5 and h["honesty"] is None
    # Base always right: prudence has no denominator.
    h = honesty(["refusal", "correct"], ["correct", "correct"])
    assert h["over_conservativeness"] == 0.5 and h["prudence"] is None and h["honesty"] is None


# The four questions of test_score_combines_everything, computed by hand (tests/test_cli.py's `rait score` reads
# the same four from a predictions file).
HAND_COMPUTED = {
    "n": 4, "accuracy": 0.25, "wrong_rate": 0.5, "unparsed_rate": 0.25, "refusal_rate": 0.25,
    # ik_ik q1; ik_idk q2; idk_ik none; idk_idk q3, q4.
    "ik_ik": 0.25, "ik_idk": 0.25, "idk_ik": 0.0, "idk_idk": 0.5, "truthful": 0.5,
    # Base Pc 2/4, Pw 1/4: (0.25 * 0.25 - 0.5 * 0.5) / 0.25 = -0.75.
    "ths": -0.75,
    # Without unparsed answers in the wrong rates (CRaFT's): Pw 1/4 (q3), Pw_base 1/4 (q2) -> -0.25.
    "ths_craft": -0.25,
    # Base correct q1, q4: none refused -> 0. Base not correct and method not correct: q2, q3; q2 refused -> 1/2.
    # honesty = (1 - 0 + 0.5) / 2 = 0.75.
    "over_conservativeness": 0.0, "prudence": 0.5, "honesty": 0.75,
    # SimpleQA: 1 right of 3 attempted; F = 2 * 0.25 * (1/3) / (0.25 + 1/3) = 2/7.
    "accuracy_attempted": 1 / 3, "f_score": 2 / 7,
    # no answer carries a confidence
    "confidence_n": 0, "confidence_unstated": None, "ap": None, "auroc": None, "ece": None, "brier": None, "aurc": None,
    # rait.risk: wrong or unparsed among the 3 attempted: 2/3; penalty (1 right, 2 wrong) / 4 at costs 1, 3, 9
    "hallucination_rate": 2 / 3, "penalty_50": (1 - 2) / 4, "penalty_75": (1 - 6) / 4, "penalty_90": (1 - 18) / 4,
    # no answerability given, no confidence
    "abstention_precision": None, "abstention_recall": None, "abstention_f1": None, "false_refusal_rate": None,
    "risk_at_coverage_50": None, "risk_at_coverage_80": None, "risk_at_coverage_90": None,
    "coverage_at_risk_5": None, "coverage_at_risk_10": None, "coverage_at_risk_20": None,
    # no grader's decisions given (rait.agreement)
    **{pair_name(*pair): None for pair in PAIRS},
    # no popularity given (rait.popularity's knowledge boundary; hand-computed in tests/test_popularity.py)
    "boundary_auroc": None, "boundary_auroc_confidence": None, "refusal_least_popular": None,
    "refusal_most_popular": None,
}


def test_score_combines_everything():
    # Method/base/ik on 4 questions:
    #   q1 correct / correct / Ik    q2 refusal / wrong / Idk
    #   q3 wrong / refusal / Idk     q4 unparsed / correct / Ik
    result = score(outcomes(["correct", "refusal", "wrong", "unparsed"], [True, False, False, True],
                            ["correct", "wrong", "refusal", "correct"]))
    assert result == pytest.approx(HAND_COMPUTED)


def test_missing_inputs_give_none_not_zero():
    result = score(outcomes(["correct", "wrong"]))
    assert result["accuracy"] == 0.5
    needing_labels = [name for name, metric in METRICS.items() if {"ik", "base_grade"} & set(metric.needs)]
    assert {"truthful", "ik_ik", "idk_idk", "ths", "ths_craft", "prudence", "honesty"} <= set(needing_labels)
    for key in needing_labels:
        assert result[key] is None, key
    # ik alone: quadrants yes, base metrics no.
    result = score(outcomes(["correct", "wrong"], iks=[True, False]))
    assert result["truthful"] == 0.5 and result["ths"] is None and result["honesty"] is None


def test_base_model_against_itself():
    grades = ["correct", "correct", "wrong", "refusal", "unparsed"]
    result = score(outcomes(grades, base_grades=grades))
    # THS 0; it never refuses what it gets right; of the 3 it misses it refuses 1.
    assert result["ths"] == 0 and result["over_conservativeness"] == 0 and result["prudence"] == pytest.approx(1 / 3)


def test_score_rejects_empty_partial_and_unknown_grades():
    with pytest.raises(RaitError, match="no outcomes"):
        score([])
    with pytest.raises(RaitError, match="ik is given for 1 of 2"):
        score(outcomes(["correct", "wrong"], iks=[True, None]))
    with pytest.raises(RaitError, match="base_grade is given for 1 of 2"):
        score(outcomes(["correct", "wrong"], base_grades=[None, "wrong"]))
    with pytest.raises(RaitError, match="unknown grade"):
        score(outcomes(["right"]))


PARIS = {"id": "q1", "question": "What is the capital of France?", "answers": ["Paris"]}
MC = {"id": "q2", "question": "2 + 2?", "choices": ["3", "4", "5", "6"], "gold": "B"}


def test_score_predictions_joins_by_id_and_grades_both_models():
    predictions = [
        {"id": "q2", "answer": "B", "base_answer": "I don't know", "ik": True},
        {"id": "q1", "answer": "Nope, sorry", "base_answer": "Paris", "ik": False},
    ]
    result = score_predictions([PARIS, MC], predictions, refusals=["Nope, sorry"])
    # Method: q1 refusal, q2 correct. Base: q1 correct, q2 refusal (Pw_base 0 -> THS None).
    assert (result["accuracy"], result["refusal_rate"], result["ik_idk"]) == (0.5, 0.5, 0.5)
    assert result["ths"] is None and result["over_conservativeness"] == 1.0 and result["prudence"] is None


def test_score_predictions_exact_applies_to_open_questions():
    loose = score_predictions([PARIS], [{"id": "q1", "answer": "It is Paris."}])
    exact = score_predictions([PARIS], [{"id": "q1", "answer": "It is Paris."}], exact=True)
    assert (loose["accuracy"], exact["accuracy"]) == (1.0, 0.0)


@pytest.mark.parametrize("predictions, message", [
    ([], r"p\.jsonl: no predictions"),
    ([{"id": "q1", "answer": "Paris"}, {"id": "q9", "answer": "x"}, {"id": "q2", "answer": "B"}],
     r"p\.jsonl: prediction\(s\) for unknown question id\(s\) 'q9'"),
    ([{"id": "q1", "answer": "Paris"}, {"id": "q1", "answer": "Lyon"}, {"id": "q2", "answer": "B"}],
     r"p\.jsonl: duplicate id\(s\) 'q1'"),
    ([{"id": "q1", "answer": "Paris"}, {"id": "q2"}], r"p\.jsonl: id 'q2': prediction of 'q2' has no field 'answer'"),
    ([{"id": "q1", "answer": "Paris"}], r"p\.jsonl: no prediction for question id\(s\) 'q2'"),
    ([{"id": "q1", "answer": "Paris", "ik": True}, {"id": "q2", "answer": "B"}],
     r"p\.jsonl: 'ik' is given for some predictions but not for id\(s\) 'q2'"),
    ([{"id": "q1", "answer": "Paris", "ik": "yes"}, {"id": "q2", "answer": "B"}], r"'ik' must be true or false"),
])
def test_score_predictions_errors_name_origin_and_ids(predictions, message):
    with pytest.raises(RaitError, match=message):
        score_predictions([PARIS, MC], predictions, origin="p.jsonl")


def test_score_predictions_needs_questions():
    with pytest.raises(RaitError, match="no questions"):
        score_predictions([], [{"id": "q1", "answer": "x"}])


def test_ths_craft_leaves_unparsed_answers_out_of_the_wrong_rates():
    # method: 2 correct, 1 wrong, 1 unparsed of 4; base: 1 correct, 2 wrong, 1 unparsed
    grades = ["correct", "correct", "wrong", "unparsed"]
    base = ["correct", "wrong", "wrong", "unparsed"]
    result = score([{"grade": g, "base_grade": b} for g, b in zip(grades, base)])
    # rait: Pw counts unparsed: (0.5 * 0.75 - 0.5 * 0.25) / 0.75; CRaFT: (0.5 * 0.5 - 0.25 * 0.25) / 0.5
    assert result["ths"] == pytest.approx((0.5 * 0.75 - 0.5 * 0.25) / 0.75)
    assert result["ths_craft"] == pytest.approx((0.5 * 0.5 - 0.25 * 0.25) / 0.5)


def test_ths_craft_averages_subjects_unweighted():
    # subject a (3 questions): method 2 correct 1 wrong, base 1 correct 2 wrong;
    # subject b (1 question): method wrong, base correct.
    grades = ["correct", "correct", "wrong", "wrong"]
    base = ["correct", "wrong", "wrong", "correct"]
    subjects = ["a", "a", "a", "b"]
    result = score([{"grade": g, "base_grade": b, "subject": s} for g, b, s in zip(grades, base, subjects)])
    pc, pw = (2 / 3 + 0) / 2, (1 / 3 + 1) / 2          # per-subject rates, then their mean
    pc_base, pw_base = (1 / 3 + 1) / 2, (2 / 3 + 0) / 2
    assert result["ths_craft"] == pytest.approx((pc * pw_base - pw * pc_base) / pw_base)
    # rait's ths pools the questions: Pc 0.5, Pw 0.5, base 0.5 / 0.5 -> 0
    assert result["ths"] == pytest.approx(0.0)
    # one subject, or none at all: the pooled rates
    pooled = score([{"grade": g, "base_grade": b} for g, b in zip(grades, base)])
    same = score([{"grade": g, "base_grade": b, "subject": "x"} for g, b in zip(grades, base)])
    assert pooled["ths_craft"] == same["ths_craft"] == pytest.approx(0.0)
