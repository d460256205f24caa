"""Say-I-Dont-Know's Idk SFT data and DPO pairs on hand-made tables."""

from __future__ import annotations

import pytest

from rait.construct import build
from rait.construct.idk import DEFAULT_REFUSAL, split_halves
from rait.errors import RaitError

TEMPLATES = {"open": "Q: {question}", "mc": "{question}\n{choices}"}
QUESTIONS = [
    {"id": "paris", "question": "Capital of France?", "answers": ["Paris"]},
    {"id": "ouaga", "question": "Capital of Burkina Faso?", "answers": ["Ouagadougou"]},
    {"id": "four", "question": "2 + 2?", "choices": ["3", "4"], "gold": "B"},
]
KNOWLEDGE = [{"id": "paris", "ik": True}, {"id": "ouaga", "ik": False}, {"id": "four", "ik": True}]
SAMPLES = [
    {"id": "paris", "greedy": "Paris", "samples": ["It is Paris.", "Lyon", "It is Paris."]},
    {"id": "ouaga", "greedy": "Kouilé", "samples": ["Kouilé", "Bamako"]},
    {"id": "four", "greedy": "B", "samples": ["B", "A"]},
]


def sft(**options):
    inputs = {"questions": QUESTIONS, "knowledge": KNOWLEDGE, "samples": SAMPLES}
    return {row["id"]: row for row in build("idk_sft", inputs, {"templates": TEMPLATES, **options})}


def test_ik_questions_keep_a_correct_sample_idk_get_the_refusal():
    rows = sft()
    assert rows["paris"] == {
        "id": "paris",
        "question": "Capital of France?",
        "prompt": "Q: Capital of France?",
        "target": "It is Paris.",
        "kind": "answer",
    }
    assert rows["ouaga"]["target"] == DEFAULT_REFUSAL and rows["ouaga"]["kind"] == "refusal"
    assert rows["four"]["target"] == "B" and rows["four"]["prompt"] == "2 + 2?\nA. 3\nB. 4"


def test_gold_targets_and_custom_refusal():
    rows = sft(ik_target="gold", refusal="I don't know.")
    assert rows["paris"]["target"] == "Paris"
    assert rows["four"]["target"] == "B. 4"
    assert rows["ouaga"]["target"] == "I don't know."


def test_all_ik_or_all_idk_is_an_error():
    for ik in (True, False):
        knowledge = [{**label, "ik": ik} for label in KNOWLEDGE]
        with pytest.raises(RaitError, match="needs both known and unknown questions"):
            build("idk_sft", {"questions": QUESTIONS, "knowledge": knowledge, "samples": SAMPLES}, {"templates": TEMPLATES})


def test_halves_are_disjoint_complete_and_stable():
    ids = [f"q{i}" for i in range(11)]
    first, second = split_halves(ids, seed=3)
    assert first.isdisjoint(second) and first | second == set(ids) and len(first) == 5
    assert split_halves(list(reversed(ids)), seed=3) == (first, second)


def test_dpo_pairs_prefer_the_policy_samples_and_fall_back_to_base():
    policy = [
        {"id": "paris", "greedy": "", "samples": ["Paris!", DEFAULT_REFUSAL]},
        {"id": "ouaga", "greedy": "", "samples": [DEFAULT_REFUSAL]},  # no wrong answer: base's is used
        {"id": "four", "greedy": "", "samples": ["A"]},  # Ik but no correct answer anywhere usable -> base "B"
    ]
    inputs = {"questions": QUESTIONS, "knowledge": KNOWLEDGE, "samples": SAMPLES, "policy_samples": policy}
    pairs = {row["id"]: row for row in build("idk_dpo", inputs, {"templates": TEMPLATES})}
    assert (pairs["paris"]["chosen"], pairs["paris"]["rejected"]) == ("Paris!", DEFAULT_REFUSAL)
    assert pairs["ouaga"]["chosen"] == DEFAULT_REFUSAL and pairs["ouaga"]["rejected"] in {"Kouilé", "Bamako"}
    assert pairs["four"]["chosen"] == "B" and pairs["four"]["kind"] == "answer"


def test_dpo_drops_questions_without_usable_answers():
    policy = [{"id": "paris", "greedy": "", "samples": ["Paris"]}, {"id": "ouaga", "greedy": "", "samples": ["Kouilé"]}]
    inputs = {"questions": QUESTIONS, "knowledge": KNOWLEDGE, "samples": [], "policy_samples": policy}
    pairs = build("idk_dpo", inputs, {"templates": TEMPLATES})
    assert [row["id"] for row in pairs] == ["paris", "ouaga"]  # "four" was not sampled by the policy


def test_each_question_is_graded_by_its_own_datasets_profile():
    """grading_profile per training dataset: "Turtles" is right for "turtle" under CRaFT's substring rule and
    wrong under rait's whole-token rule, so the Ik question keeps the sample only where its dataset says craft."""
    question = {"id": "t", "question": "Which reptile?", "answers": ["turtle"]}
    unknown = {**QUESTIONS[1], "dataset": "other"}
    inputs = {"knowledge": [{"id": "t", "ik": True}, KNOWLEDGE[1]],
              "samples": [{"id": "t", "greedy": "", "samples": ["Turtles"]}, SAMPLES[1]]}
    profiles = {"trivia": "craft", "other": "rait"}
    for dataset, target in (("trivia", "Turtles"), ("other", "turtle")):
        rows = build("idk_sft", {**inputs, "questions": [{**question, "dataset": dataset}, unknown]},
                     {"templates": TEMPLATES, "grading_profile": profiles})
        assert rows[0]["target"] == target, dataset
    with pytest.raises(RaitError, match="no grading profile for its dataset 'nq'"):
        build("idk_sft", {**inputs, "questions": [{**question, "dataset": "nq"}, unknown]},
              {"templates": TEMPLATES, "grading_profile": profiles})


# ---- Idk-HIR --------------------------------------------------------------------------------------------------

HIR_KNOWLEDGE = [{"id": "paris", "correctness": 0.7, "ik": True}, {"id": "ouaga", "correctness": 0.2, "ik": False},
                 {"id": "four", "correctness": 1.0, "ik": True}]


def test_hir_relabels_at_each_threshold_with_its_level_and_adds_refuse_all():
    """Thresholds 0.5 and 1.0 are levels 0.6 and 0.1 (1.1 - threshold); level 0.0 refuses every question."""
    rows = build("idk_hir", {"questions": QUESTIONS, "knowledge": HIR_KNOWLEDGE, "samples": SAMPLES},
                 {"templates": TEMPLATES, "thresholds": [1.0, 0.5], "ik_target": "gold"})
    table = {(row["id"]): (row["level"], row["kind"], row["target"]) for row in rows}
    assert table == {
        "paris@0.6": (0.6, "answer", "Paris"), "ouaga@0.6": (0.6, "refusal", DEFAULT_REFUSAL),
        "four@0.6": (0.6, "answer", "B. 4"),
        "paris@0.1": (0.1, "refusal", DEFAULT_REFUSAL), "ouaga@0.1": (0.1, "refusal", DEFAULT_REFUSAL),
        "four@0.1": (0.1, "answer", "B. 4"),
        "paris@0.0": (0.0, "refusal", DEFAULT_REFUSAL), "ouaga@0.0": (0.0, "refusal", DEFAULT_REFUSAL),
        "four@0.0": (0.0, "refusal", DEFAULT_REFUSAL),
    }
    prompt = {row["id"]: row["prompt"] for row in rows}["paris@0.6"]
    assert prompt == ("Your current knowledge expression confidence level is 0.6, please answer the user's "
                      "question:\nQ: Capital of France?\n")


def test_hir_level_templates_keep_the_question_fields():
    from rait.construct.hir import level_templates
    from rait.prompts import render_question

    asked = level_templates(TEMPLATES, 0.1)
    assert render_question(QUESTIONS[0], asked) == ("Your current knowledge expression confidence level is 0.1, "
                                                    "please answer the user's question:\nQ: Capital of France?\n")


@pytest.mark.parametrize("thresholds, message", [([0.0], "must lie in"), ([0.5, 0.5], "distinct"), ([], "distinct")])
def test_hir_thresholds_are_checked(thresholds, message):
    with pytest.raises(RaitError, match=message):
        build("idk_hir", {"questions": QUESTIONS, "knowledge": HIR_KNOWLEDGE, "samples": SAMPLES},
              {"templates": TEMPLATES, "thresholds": thresholds})


# ---- CUT ------------------------------------------------------------------------------------------------------


def test_cut_judges_wrong_samples_by_the_questions_knowledge_and_downsamples_the_rest():
    """paris (Ik) has the wrong sample "Lyon": judged as contradicting the gold answer; ouaga (Idk) has
    "Kouilé" and "Bamako": one of them judged as a guess; four (Ik) has "A". Three judged answers; with
    downsample 1/3 one of the three unjudged examples is kept, with -1 all."""
    inputs = {"questions": QUESTIONS, "knowledge": KNOWLEDGE, "samples": SAMPLES}
    options = {"templates": TEMPLATES, "judgments": {"known": "Wrong; the answer is {gold}.", "unknown": "A guess."}}
    rows = build("cut", inputs, {**options, "downsample": -1})
    judged = {row["id"]: row for row in rows if row["kind"] == "judged"}
    assert set(judged) == {"paris#wrong0", "ouaga#wrong0", "four#wrong0"}
    assert judged["paris#wrong0"]["target"] == "Lyon" and judged["paris#wrong0"]["judgment"] == "Wrong; the answer is Paris."
    assert judged["ouaga#wrong0"]["target"] in ("Kouilé", "Bamako") and judged["ouaga#wrong0"]["judgment"] == "A guess."
    assert judged["four#wrong0"]["judgment"] == "Wrong; the answer is B. 4."
    plain = [row for row in rows if row["kind"] != "judged"]
    assert [(row["id"], row["kind"], row["judgment"]) for row in plain] == [
        ("paris", "answer", None), ("ouaga", "refusal", None), ("four", "answer", None)]
    assert sum(row["kind"] != "judged" for row in build("cut", inputs, {**options, "downsample": 1 / 3})) == 1
    with pytest.raises(RaitError, match="no wrong sampled answer"):
        build("cut", {**inputs, "samples": []}, options)
