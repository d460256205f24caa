"""ConfQA's builder on Alignment for Honesty's hand table: the model's own greedy answer when it was right, else the
refusal; no sampled answer rescues a question (unlike ABSOLUTE), and the target is never the gold answer."""

from __future__ import annotations

import pytest

from rait.construct import BUILDERS
from rait.errors import RaitError
from test_construct_honesty import OPTIONS, REFUSAL, ROWS, by_id, samples, table


def test_confqa_keeps_the_greedy_answer_when_right_and_refuses_otherwise():
    built = by_id(BUILDERS["confqa"].build(table(ROWS), OPTIONS))
    # hand table: id -> (target, kind)
    assert {qid: (example["target"], example["kind"]) for qid, example in built.items()} == {
        "greedy_right": ("Paris, France", "answer"),  # the model's wording, not the gold "Paris"
        "one_in_ten": (REFUSAL, "refusal"),  # ABSOLUTE would keep the right sample "Paris 0"
        "seven": ("Paris!", "answer"),
        "never": (REFUSAL, "refusal"),
    }
    assert built["seven"]["prompt"] == "Q: question seven\nA:"  # rendered with the templates it is given
    assert BUILDERS["confqa"].options == ("refusal",)


def test_confqa_needs_both_answers_and_refusals():
    with pytest.raises(RaitError, match="ConfQA data"):
        BUILDERS["confqa"].build(table({"a": ("Nice", "wrong", samples(3)), "b": ("Lyon", "wrong", samples(0))}),
                                 OPTIONS)
