"""Confidence metrics (rait.calibration) on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from rait.calibration import confidence_metrics, coverage_curve, expected_calibration_error
from rait.errors import RaitError
from rait.metrics import score


def test_a_perfectly_calibrated_toy_has_zero_ece():
    # bin [0.2, 0.3): five answers at 0.2, one right; bin [0.8, 0.9): five at 0.8, four right
    confidences = [0.2] * 5 + [0.8] * 5
    right = [True, False, False, False, False, True, True, True, True, False]
    assert expected_calibration_error(confidences, right) == pytest.approx(0.0)


def test_ece_by_hand():
    # bin [0.9, 1.0]: 0.9 and 1.0, one right: |0.5 - 0.95| = 0.45, weight 2/3; bin [0.3, 0.4): 0.3 wrong: 0.3, 1/3
    assert expected_calibration_error([0.9, 1.0, 0.3], [True, False, False]) == pytest.approx(2 / 3 * 0.45 + 1 / 3 * 0.3)


def test_constant_confidence_gives_auroc_one_half():
    metrics = confidence_metrics([0.7] * 4, [True, False, True, False])
    assert metrics["auroc"] == 0.5


def test_ap_matches_scikit_learn_on_a_hand_table():
    confidences, right = [0.9, 0.8, 0.6, 0.4, 0.2], [True, False, True, False, False]
    # ranked: hit at 1 (precision 1), miss, hit at 3 (2/3): AP = (1 + 2/3) / 2
    assert confidence_metrics(confidences, right)["ap"] == pytest.approx((1 + 2 / 3) / 2)
    assert confidence_metrics(confidences, right)["ap"] == pytest.approx(average_precision_score(right, confidences))


def test_brier_and_the_accuracy_coverage_curve_by_hand():
    confidences, right = [0.9, 0.5, 0.5, 0.1], [True, False, True, False]
    metrics = confidence_metrics(confidences, right)
    assert metrics["brier"] == pytest.approx((0.01 + 0.25 + 0.25 + 0.01) / 4)
    # most confident first; the two at 0.5 are one group with one right: half a right answer one step into it
    assert np.allclose(coverage_curve(confidences, right), [[0.25, 1.0], [0.5, 1.5 / 2], [0.75, 2 / 3], [1.0, 0.5]])
    assert metrics["aurc"] == pytest.approx((0 + 0.25 + 1 / 3 + 0.5) / 4)
    assert metrics["auroc"] == pytest.approx(0.875)  # pairs (right, wrong): 0.9>0.5, 0.9>0.1, 0.5=0.5 (half), 0.5>0.1


def test_undefined_metrics_are_none_and_bad_confidences_an_error():
    assert confidence_metrics([], []) == dict.fromkeys(("ap", "auroc", "ece", "brier", "aurc"))
    none_right = confidence_metrics([0.3, 0.6], [False, False])
    assert none_right["ap"] is None and none_right["auroc"] is None and none_right["brier"] == pytest.approx(0.225)
    with pytest.raises(RaitError, match=r"\[0, 1\]"):
        confidence_metrics([1.5], [True])


def test_score_uses_the_answers_that_carry_a_confidence():
    rows = [{"grade": "correct", "confidence": 0.9}, {"grade": "refusal"}, {"grade": "wrong", "confidence": 0.2}]
    result = score(rows)
    assert result["confidence_n"] == 2 and result["auroc"] == 1.0 and result["ap"] == 1.0


def test_stated_confidences_of_alignment_for_honestys_statements():
    from rait.answering import STRATEGIES, stated_level, stated_number
    from rait.construct.honesty import NUM_HIGH, NUM_LOW, VERB_LEVELS, confidence_statement

    record = {"id": "q", "question": "Capital of France?", "answers": ["Paris"]}
    assert stated_number(confidence_statement(0.3, "Paris", record, "num")) == 0.3
    assert stated_number(NUM_HIGH.format(80) + " Paris") == 0.8 and stated_number(NUM_LOW.format(5) + " x") == 0.05
    assert stated_number("Paris") is None and stated_number("I'm about 250% confident") is None
    # the middle of each bin of k/m: (0, 0.2] -> 0.1, (0.2, 0.4] -> 0.3, ..., (0.8, 1] -> 0.9
    for share, middle in ((0.1, 0.1), (0.4, 0.3), (0.5, 0.5), (0.7, 0.7), (1.0, 0.9)):
        assert stated_level(confidence_statement(share, "Paris", record, "verb")) == pytest.approx(middle)
    assert len(VERB_LEVELS) == 5 and stated_level("Paris") is None and stated_level("I don't know.") is None
    rows = STRATEGIES["stated_verb"].predictions([
        {"id": "a", "prompt": "p", "greedy": "I'm fairly confident that paris", "samples": []},
        {"id": "b", "prompt": "p", "greedy": "I don't know.", "samples": []}])
    assert rows[0]["confidence"] == pytest.approx(0.7) and "confidence" not in rows[1]


def test_ap_and_auroc_equal_scikit_learns_on_random_tables_with_ties():
    import random

    from sklearn.metrics import roc_auc_score

    from rait.calibration import average_precision, roc_auc

    rng = random.Random(0)
    for _ in range(50):
        n = rng.randint(2, 60)
        confidences = [rng.choice([0.1, 0.5, 0.9, rng.random()]) for _ in range(n)]
        right = [rng.random() < 0.4 for _ in range(n)]
        if 0 < sum(right) < n:
            assert average_precision(confidences, right) == pytest.approx(average_precision_score(right, confidences))
            assert roc_auc(confidences, right) == pytest.approx(roc_auc_score(right, confidences))


def test_aurc_of_tie_tables_by_hand():
    # [0.5, 0.5] with one right: in either order the expected accuracy is 1/2 at both coverages, so AURC 0.5
    # (ties broken by position gave 0.25 for [right, wrong] and 0.75 for [wrong, right])
    for right in ([True, False], [False, True]):
        assert confidence_metrics([0.5, 0.5], right)["aurc"] == pytest.approx(0.5)
    # ten answers stated at 0.8, five right: 0.5 whatever their order (it was anything from 0.18 to 0.82)
    assert confidence_metrics([0.8] * 10, [True] * 5 + [False] * 5)["aurc"] == pytest.approx(0.5)
    assert confidence_metrics([0.8] * 10, [False] * 5 + [True] * 5)["aurc"] == pytest.approx(0.5)
    # groups 0.9 (right, wrong), 0.4 (right, right, wrong): expected right answers so far 0.5, 1, 1 + 2/3,
    # 1 + 4/3, 3 at k = 1..5
    expected = [0.5 / 1, 1 / 2, (1 + 2 / 3) / 3, (1 + 4 / 3) / 4, 3 / 5]
    metrics = confidence_metrics([0.9, 0.4, 0.9, 0.4, 0.4], [True, True, False, False, True])
    assert metrics["aurc"] == pytest.approx(sum(1 - a for a in expected) / 5)


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from([0.0, 0.2, 0.5, 0.8, 1.0]) | st.floats(0, 1), st.booleans()),
                      min_size=1, max_size=30), data=st.data())
def test_aurc_and_the_curve_do_not_depend_on_the_order_of_the_questions(pairs, data):
    shuffled = data.draw(st.permutations(pairs))
    first = confidence_metrics([c for c, _ in pairs], [r for _, r in pairs])
    again = confidence_metrics([c for c, _ in shuffled], [r for _, r in shuffled])
    assert again["aurc"] == pytest.approx(first["aurc"], abs=1e-12)
    assert np.allclose(coverage_curve([c for c, _ in shuffled], [r for _, r in shuffled]),
                       coverage_curve([c for c, _ in pairs], [r for _, r in pairs]), rtol=0, atol=1e-12)
    # without ties it is the plain sorted value: the mean risk of the k most confident
    if len({c for c, _ in pairs}) == len(pairs):
        ranked = [r for _, r in sorted(pairs, key=lambda p: -p[0])]
        plain = sum(1 - sum(ranked[:k]) / k for k in range(1, len(ranked) + 1)) / len(ranked)
        assert first["aurc"] == pytest.approx(plain)


def test_a_score_gets_the_ranking_metrics_only():
    from rait.calibration import curves

    rows = [{"grade": "correct", "confidence": 0.9, "confidence_scale": "score"},
            {"grade": "wrong", "confidence": 0.4, "confidence_scale": "score"}]
    result = score(rows)
    assert (result["ap"], result["auroc"], result["aurc"]) == (1.0, 1.0, 0.25)  # risks 0 and 1/2
    assert result["ece"] is None and result["brier"] is None
    assert curves(rows)["reliability"] == [] and len(curves(rows)["coverage_accuracy"]) == 2
    probabilities = score([{k: v for k, v in row.items() if k != "confidence_scale"} for row in rows])
    assert probabilities["ece"] == pytest.approx((0.1 + 0.4) / 2) and probabilities["brier"] is not None
