"""R-Tuning's and the stated-confidence builders (rait.construct.confidence) on hand tables, the follow-up's
answer cut and confidence mix (rait.followup), and the stated_after_marker strategy."""

from __future__ import annotations

import math

import pytest

from rait.answering import STRATEGIES
from rait.construct import BUILDERS
from rait.construct.confidence import RTUNING_DEFAULTS, followup_context
from rait.errors import RaitError
from rait.followup import answer_before_followup, mixed_confidence, sure_share

from test_construct_honesty import ROWS, TEMPLATES, by_id, samples, table

FOLLOWUP = "Are you sure you accurately answered the question based on your internal knowledge?"


def test_rtuning_keeps_the_gold_answer_and_says_sure_when_the_greedy_answer_was_right():
    inputs = table(ROWS)
    examples = by_id(BUILDERS["rtuning"].build(inputs, {"templates": TEMPLATES}))
    assert examples["greedy_right"]["target"] == f"Paris. {FOLLOWUP} I am sure."
    assert examples["seven"]["kind"] == "sure"
    # one sample in ten right but the greedy answer wrong: unsure (their label is the greedy output)
    assert examples["one_in_ten"]["target"] == f"Paris. {FOLLOWUP} I am unsure."
    assert examples["never"]["kind"] == "unsure"
    assert examples["never"]["prompt"] == "Q: question never\nA:"


def test_rtuning_takes_its_wording_from_the_answer_settings_and_needs_both_labels():
    wording = {"followup": "Sure?", "prefix": "Answer:", "sure": "yes", "unsure": "no", "answer_weight": 0.3}
    examples = by_id(BUILDERS["rtuning"].build(table(ROWS), {"templates": TEMPLATES, "followup": wording}))
    assert examples["seven"]["target"] == "Paris. Sure? Answer: yes."
    with pytest.raises(RaitError, match="only"):
        BUILDERS["rtuning"].build(table({"a": ("Nice", "wrong", samples(0))}), {"templates": TEMPLATES})
    with pytest.raises(RaitError, match="must differ"):
        BUILDERS["rtuning"].build(table(ROWS), {"templates": TEMPLATES, "followup": {"sure": "x", "unsure": "x"}})


def test_stated_confidence_states_the_share_of_right_samples_after_the_answer():
    examples = by_id(BUILDERS["stated_confidence"].build(table(ROWS), {"templates": TEMPLATES,
                                                                      "confidence_marker": "Confidence:"}))
    assert examples["greedy_right"]["target"] == "Paris, France Confidence: 0.0"  # greedy right, no sample right
    assert examples["one_in_ten"]["target"] == "Paris 0 Confidence: 0.1"  # the first right sample
    assert examples["seven"]["target"] == "Paris! Confidence: 0.7"
    assert examples["never"]["target"] == "Nice Confidence: 0.0"  # what the model says, never a refusal
    assert {e["kind"] for e in examples.values()} == {"answer"}
    before = by_id(BUILDERS["stated_confidence"].build(table(ROWS), {"templates": TEMPLATES, "confidence_marker": ";",
                                                                    "confidence_position": "before"}))
    assert before["seven"]["target"] == "; 0.7 Paris!"
    with pytest.raises(RaitError, match="confidence_position"):
        BUILDERS["stated_confidence"].build(table(ROWS), {"templates": TEMPLATES, "confidence_position": "middle"})
    with pytest.raises(RaitError, match="same confidence"):
        BUILDERS["stated_confidence"].build(table({"a": ("Nice", "wrong", samples(0))}), {"templates": TEMPLATES})


def test_graded_prompts_carry_what_a_reward_grades_with():
    inputs = table(ROWS)
    inputs["questions"][0]["dataset"] = "world"
    for record in inputs["questions"]:
        record["dataset"] = "world"
    options = {"templates": TEMPLATES, "refusals": ["I don't know."], "exact_match": False,
               "grading_profile": {"world": "sidk"}}
    rows = BUILDERS["graded_prompts"].build(inputs, options)
    assert len(rows) == 4 and rows[0]["kind"] == "prompt"
    assert rows[0]["grading"] == {"question": inputs["questions"][0], "profile": "sidk",
                                  "refusals": ["I don't know."], "exact_match": False}


def test_the_answer_is_cut_before_the_follow_up_the_model_writes():
    wording = dict(RTUNING_DEFAULTS)
    assert answer_before_followup(f"Paris. {FOLLOWUP} I am sure.", wording) == "Paris"
    assert answer_before_followup("Paris. Are you sure you acc", wording) == "Paris"  # cut off by max_new_tokens
    assert answer_before_followup("St. Louis", wording) == "St. Louis"
    assert followup_context("Paris.", wording) == f"Paris. {FOLLOWUP} I am"


def test_sure_share_and_the_mix_of_r_tunings_average_precision():
    assert sure_share(math.log(0.3), math.log(0.1)) == pytest.approx(0.75)
    assert sure_share(-1000.0, -1001.0) == pytest.approx(1 / (1 + math.exp(-1)))
    assert mixed_confidence(0.6, 0.75, 0.5) == pytest.approx(0.675)
    assert mixed_confidence(0.6, 0.75, 0.0) == 0.75


def test_stated_after_marker_grades_the_answer_and_keeps_every_status():
    generated = [{"id": "a", "prompt": "p", "greedy": "Paris Confidence: 0.9"},
                 {"id": "b", "prompt": "p", "greedy": "Lyon"},
                 {"id": "c", "prompt": "p", "greedy": "Nice ; 0 . 3"}]
    rows = STRATEGIES["stated_after_marker"].predictions(generated[:2], {"confidence_marker": "Confidence:"})
    assert rows[0] == {"id": "a", "prompt": "p", "answer": "Paris", "response": "Paris Confidence: 0.9",
                       "statement": "ok", "confidence": 0.9}
    assert rows[1]["statement"] == "missing" and "confidence" not in rows[1]
    (row,) = STRATEGIES["stated_after_marker"].predictions(generated[2:], {"confidence_marker": ";"})
    assert (row["answer"], row["confidence"]) == ("Nice", 0.3)


def test_rtuning_labels_by_r_tunings_substring_rule_or_by_rait_s_grade():
    # greedy answer, rait's grade: R-Tuning's rule reads the gold "Paris" in the greedy text up to its first "."
    rows = {"sentence": ("It is Paris. Or Lyon.", "correct", samples(0)),
            "after_the_stop": ("Lyon. Not Paris", "wrong", samples(0)),     # "Paris" only after the first "."
            "case": ("paris", "correct", samples(0)),                       # their `in` is case-sensitive
            "no_stop": ("Paris", "correct", samples(0)),                    # kept whole: their [:-1] would cut it
            "wrong": ("Nice", "wrong", samples(0))}
    substring = by_id(BUILDERS["rtuning"].build(table(rows), {"templates": TEMPLATES}))
    assert {qid: example["kind"] for qid, example in substring.items()} == {
        "sentence": "sure", "after_the_stop": "unsure", "case": "unsure", "no_stop": "sure", "wrong": "unsure"}
    graded = by_id(BUILDERS["rtuning"].build(table(rows), {"templates": TEMPLATES, "label": "grade"}))
    assert {qid: example["kind"] for qid, example in graded.items()} == {
        "sentence": "sure", "after_the_stop": "unsure", "case": "sure", "no_stop": "sure", "wrong": "unsure"}
    with pytest.raises(RaitError, match="methods.rtuning.data.label"):
        BUILDERS["rtuning"].build(table(rows), {"templates": TEMPLATES, "label": "exact"})
    without_samples = {**table(rows), "samples": []}
    with pytest.raises(RaitError, match="greedy answer"):
        BUILDERS["rtuning"].build(without_samples, {"templates": TEMPLATES})
