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
