"""Knowledge labels on hand-graded samples."""

from __future__ import annotations

import pytest

from rait.errors import RaitError
from rait.knowledge import label_split, summarize

PARIS = {"id": "q1", "question": "What is the capital of France?", "answers": ["Paris"]}
MC = {"id": "q2", "question": "2 + 2?", "choices": ["3", "4", "5", "6"], "gold": "B"}


def test_correctness_is_share_of_correct_samples_and_ik_uses_threshold():
    samples = [
        {"id": "q1", "greedy": "Paris.", "samples": ["Paris", "It is Paris", "Lyon", "I don't know"]},
        {"id": "q2", "greedy": "C", "samples": ["B", "(B)", "The answer is B", "B. 4"]},
    ]
    paris, mc = label_split([PARIS, MC], samples, threshold=0.75)
    assert paris["correctness"] == 0.5 and paris["ik"] is False and paris["greedy_correct"] is True
    assert (paris["n_correct"], paris["n_wrong"], paris["n_refusal"]) == (2, 1, 1)
    assert mc["correctness"] == 1.0 and mc["ik"] is True and mc["greedy_correct"] is False
    assert summarize([paris, mc]) == {"n": 2, "ik_share": 0.5, "greedy_accuracy": 0.5, "mean_correctness": 0.75}


def test_threshold_is_inclusive():
    samples = [{"id": "q1", "greedy": "Paris", "samples": ["Paris", "Lyon"]}]
    assert label_split([PARIS], samples, threshold=0.5)[0]["ik"] is True
    assert label_split([PARIS], samples, threshold=0.51)[0]["ik"] is False


def test_samples_are_joined_by_id_not_row_order():
    samples = [
        {"id": "q2", "greedy": "B", "samples": ["B"]},
        {"id": "q1", "greedy": "Lyon", "samples": ["Lyon"]},
    ]
    paris, mc = label_split([PARIS, MC], samples, threshold=1.0)
    assert (paris["id"], paris["ik"]) == ("q1", False)
    assert (mc["id"], mc["ik"]) == ("q2", True)


def test_missing_samples_name_the_ids():
    with pytest.raises(RaitError, match=r"samples.jsonl: no samples for 1 question id\(s\): q2"):
        label_split([PARIS, MC], [{"id": "q1", "greedy": "", "samples": ["x"]}], 1.0, samples_origin="samples.jsonl")


@pytest.mark.parametrize("threshold", [-0.1, 1.01])
def test_threshold_outside_unit_interval(threshold):
    with pytest.raises(RaitError, match="knowledge.threshold"):
        label_split([PARIS], [{"id": "q1", "greedy": "", "samples": ["x"]}], threshold)


def test_configured_refusal_sentence_is_never_wrong():
    samples = [{"id": "q1", "greedy": "Nope.", "samples": ["My knowledge ends here, sorry."]}]
    label = label_split([PARIS], samples, 1.0, refusals=["My knowledge ends here"])[0]
    assert label["grades"] == ["refusal"] and label["greedy_grade"] == "wrong"
