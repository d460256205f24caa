import random

import pytest

from rait.errors import RaitError
from rait.metrics import score
from rait.intervals import intervals


def rows(n, seed=0, p_correct=0.5):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        grade = "correct" if rng.random() < p_correct else rng.choice(["wrong", "refusal"])
        out.append({"grade": grade, "ik": rng.random() < 0.5, "base_grade": rng.choice(["correct", "wrong"])})
    return out


def width(interval):
    return interval[1] - interval[0]


def test_constant_outcome_has_a_zero_width_interval():
    same = [{"grade": "correct", "ik": True, "base_grade": "correct"}] * 50
    result = intervals(same, resamples=200)
    assert result["intervals"]["accuracy"] == [1.0, 1.0]
    assert result["intervals"]["refusal_rate"] == [0.0, 0.0]
    # the method is the base model here: every paired difference is exactly 0
    assert result["vs_base"]["accuracy"] == {"difference": 0.0, "interval": [0.0, 0.0]}


def test_a_larger_test_set_gives_a_narrower_interval():
    small = intervals(rows(60), resamples=500)["intervals"]
    large = intervals(rows(2000), resamples=500)["intervals"]
    for metric in ("accuracy", "refusal_rate", "truthful", "honesty"):
        assert width(large[metric]) < width(small[metric]) / 2, metric


@pytest.mark.parametrize("seed", range(5))
def test_the_interval_covers_the_point_estimate(seed):
    outcomes = rows(80, seed=seed)
    point = score(outcomes)
    result = intervals(outcomes, resamples=300, seed=seed)
    for metric, interval in result["intervals"].items():
        assert interval[0] <= point[metric] <= interval[1], metric


def test_a_95_percent_interval_of_a_share_is_about_four_standard_errors_wide():
    outcomes = [{"grade": "correct" if i % 2 else "wrong"} for i in range(400)]  # p = 0.5, se = 0.025
    low, high = intervals(outcomes, resamples=2000)["intervals"]["accuracy"]
    assert 0.08 < high - low < 0.12
    assert intervals(outcomes, resamples=2000)["vs_base"] == {}  # no base grades, no differences


def test_paired_difference_cancels_shared_difficulty():
    """A method that fixes exactly one of the base model's wrong answers in 200: the paired interval of the
    accuracy gain stays near 0.005, far narrower than either model's own interval."""
    outcomes = [{"grade": "correct" if i < 100 else "wrong", "base_grade": "correct" if i < 99 else "wrong"}
                for i in range(200)]
    result = intervals(outcomes, resamples=1000)
    versus = result["vs_base"]["accuracy"]
    assert versus["difference"] == pytest.approx(0.005)
    assert width(versus["interval"]) < width(result["intervals"]["accuracy"]) / 4


def test_same_seed_same_interval_and_bad_settings_are_named():
    outcomes = rows(50)
    assert intervals(outcomes, seed=3, resamples=100) == intervals(outcomes, seed=3, resamples=100)
    with pytest.raises(RaitError, match="resamples"):
        intervals(outcomes, resamples=1)
    with pytest.raises(RaitError, match="level"):
        intervals(outcomes, level=95)
