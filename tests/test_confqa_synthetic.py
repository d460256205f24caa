"""ConfQA end to end on the synthetic world: its data follows the rule on the base model's own greedy answers, its
prompts carry the dampener, and the trained model refuses the facts it never saw far more than the ones it saw
often."""

from __future__ import annotations

import pytest

from conftest import evaluate_synth, synth_block, unseen_and_seen_refusal_rates
from rait.io import read_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("world")]


@pytest.fixture(scope="module")
def confqa(synth_run):
    return evaluate_synth(synth_run, ("base", "confqa"))


def test_confqa_data_keeps_the_base_models_right_greedy_answers_behind_the_dampener(confqa):
    labels = {r["id"]: r for r in read_jsonl(confqa / "results/knowledge/synth_tiny/synth_train.jsonl")}
    greedy = {r["id"]: r["greedy"] for r in read_jsonl(confqa / "results/samples/synth_tiny/synth_train.jsonl")}
    examples = read_jsonl(confqa / "results/train_data/synth_tiny_confqa.jsonl")
    assert len(examples) == len(labels)
    for example in examples:
        right = labels[example["id"]]["greedy_grade"] == "correct"
        assert example["kind"] == ("answer" if right else "refusal"), example
        if right:
            assert example["target"] == greedy[example["id"]].strip()
        assert example["prompt"].startswith("Answer only if you are confident.\n"), example["prompt"]


def test_confqa_refuses_unseen_facts_far_more_than_often_seen_ones(confqa):
    unseen, seen = unseen_and_seen_refusal_rates(confqa, "confqa")
    assert unseen > seen + 0.3, (unseen, seen)
    # as ABSOLUTE's (tests/test_honesty_synthetic.py): the tiny LM's fine-tuning costs accuracy on the facts it knew
    # (0.44 against the base model's 0.74 here, ABSOLUTE's 0.43), so the refusals' gain shows in honesty, not truthful
    evaluated = synth_block(confqa, "confqa")
    base = synth_block(confqa, "base")
    assert evaluated["honesty"] > base["honesty"] + 0.1, (evaluated["honesty"], base["honesty"])
