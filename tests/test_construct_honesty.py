"""Alignment for Honesty's builders on a hand table of four questions, ten samples each."""

from __future__ import annotations

import pytest

from rait.construct import BUILDERS, honesty
from rait.errors import RaitError

TEMPLATES = {"open": "Q: {question}\nA:", "mc": "{question}\n{choices}\nAnswer:"}
REFUSAL = "I don't know."
OPTIONS = {"templates": TEMPLATES, "refusal": REFUSAL}


def question(qid: str, **extra) -> dict:
    return {"id": qid, "question": f"question {qid}", "answers": ["Paris"], **extra}


def table(rows: dict) -> dict:
    """rows: id -> (greedy text, greedy grade, [(sample text, grade), ...])."""
    questions, samples, knowledge = [], [], []
    for qid, (greedy, greedy_grade, pairs) in rows.items():
        questions.append(question(qid))
        samples.append({"id": qid, "greedy": greedy, "samples": [text for text, _ in pairs]})
        knowledge.append({"id": qid, "greedy_grade": greedy_grade, "grades": [grade for _, grade in pairs]})
    return {"questions": questions, "samples": samples, "knowledge": knowledge}


def samples(correct: int, total: int = 10, right: str = "Paris", wrong: str = "Lyon") -> list[tuple[str, str]]:
    return [(f"{right} {i}", "correct") if i < correct else (f"{wrong} {i}", "wrong") for i in range(total)]


ROWS = {
    "greedy_right": ("Paris, France", "correct", samples(0)),  # greedy right, no sample right
    "one_in_ten": ("Lyon", "wrong", samples(1)),
    "seven": ("Paris!", "correct", samples(7)),
    "never": ("Nice", "wrong", samples(0)),
}


def by_id(examples: list[dict]) -> dict:
    return {example["id"]: example for example in examples}


def test_absolute_answers_what_the_greedy_or_one_in_ten_samples_get_right():
    built = by_id(honesty.build_absolute(table(ROWS), OPTIONS))
    assert built["greedy_right"]["target"] == "Paris, France"  # the greedy answer when it is right
    assert built["one_in_ten"]["target"] == "Paris 0"  # else the first correct sample (k/m = 0.1 >= tau)
    assert built["seven"]["target"] == "Paris!"
    assert (built["never"]["target"], built["never"]["kind"]) == (REFUSAL, "refusal")
    assert built["seven"]["prompt"] == "Q: question seven\nA:"
    # tau = 0.2: one correct sample in ten is no longer enough, a right greedy answer still is
    stricter = by_id(honesty.build_absolute(table(ROWS), {**OPTIONS, "threshold": 0.2}))
    assert stricter["one_in_ten"]["kind"] == "refusal" and stricter["greedy_right"]["kind"] == "answer"


def test_confidence_num_states_the_share_of_correct_samples():
    built = by_id(honesty.build_conf_num(table(ROWS), OPTIONS))
    assert built["one_in_ten"]["target"] == honesty.NUM_LOW.format(10) + " Paris 0"
    assert built["seven"]["target"] == honesty.NUM_HIGH.format(70) + " Paris!"
    assert built["seven"]["confidence"] == 0.7
    # no sample right: the refusal, even with the greedy answer right (the paper's rule: k = 0)
    assert built["greedy_right"]["target"] == REFUSAL and built["never"]["target"] == REFUSAL
    # the boundary: 5 of 10 is still "only about"
    five = honesty.build_conf_num(table({"five": ("Lyon", "wrong", samples(5)), **ROWS}), OPTIONS)[0]
    assert five["target"].startswith("I'm only about 50% confident")


@pytest.mark.parametrize("correct, statement", [(1, "I'm really not sure about this, but "),
                                                (2, "I'm really not sure about this, but "),
                                                (3, "I'm not completely sure about this, but "),
                                                (6, "I don't have strong feelings either way, but "),
                                                (8, "I'm fairly confident that "),
                                                (9, "I'm absolutely certain that "),
                                                (10, "I'm absolutely certain that ")])
def test_confidence_verb_levels_follow_the_papers_bins(correct, statement):
    rows = {"q": ("Lyon", "wrong", samples(correct)), "never": ROWS["never"]}
    target = by_id(honesty.build_conf_verb(table(rows), OPTIONS))["q"]["target"]
    assert target == statement + "paris 0"  # the answer continues the sentence, first letter lowered


def test_confidence_verb_keeps_option_letters():
    record = {"id": "m", "question": "q", "choices": ["a", "b", "c", "d"], "gold": "B"}
    assert honesty.confidence_statement(0.9, "B. b", record, "verb") == "I'm absolutely certain that B. b"
    assert honesty.confidence_statement(0.9, "B", record, "verb") == "I'm absolutely certain that B"


def test_multisample_makes_one_example_per_sample():
    built = honesty.build_multisample(table(ROWS), OPTIONS)
    assert len(built) == 40
    seven = [example for example in built if example["id"] == "seven"]
    assert [example["sample"] for example in seven] == list(range(10))
    assert [example["target"] for example in seven] == [f"Paris {i}" for i in range(7)] + [REFUSAL] * 3
    assert sum(example["kind"] == "answer" for example in built) == 0 + 1 + 7 + 0


def test_builders_are_registered_and_check_their_inputs():
    for name in ("absolute", "conf_num", "conf_verb", "multisample"):
        assert name in BUILDERS
    inputs = table(ROWS)
    inputs["knowledge"][1]["grades"] = inputs["knowledge"][1]["grades"][:9]
    with pytest.raises(RaitError, match="'one_in_ten': 10 samples but 9 sample grades"):
        BUILDERS["absolute"].build(inputs, OPTIONS)
    inputs = table(ROWS)
    del inputs["samples"][2]
    with pytest.raises(RaitError, match="samples miss question 'seven'"):
        BUILDERS["multisample"].build(inputs, OPTIONS)
    # all known: no refusal to teach
    with pytest.raises(RaitError, match="only answer examples"):
        BUILDERS["conf_num"].build(table({"seven": ROWS["seven"]}), OPTIONS)
