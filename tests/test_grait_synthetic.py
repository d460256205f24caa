"""GRAIT end to end on the synthetic world: LESS's gradients at the LoRA warm-up cover every train question, the data
follows GRAIT's groups and counts, and the trained model refuses the facts it never saw far more than the ones it saw
often."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import evaluate_synth, synth_block, unseen_and_seen_refusal_rates
from rait.influence import read_features
from rait.io import read_jsonl

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("world")]


@pytest.fixture(scope="module")
def grait(synth_run):
    return evaluate_synth(synth_run, ("base", "grait"))


def test_gradients_cover_every_train_question_at_the_lora_warmup(grait):
    questions = [q["id"] for q in read_jsonl(grait / "results/data/synth/train.jsonl")]
    features = read_features(grait / "results/knowledge/synth_tiny/gradients/synth_train.npz")
    assert [row["id"] for row in features] == questions
    answer = np.stack([row["answer"] for row in features])
    refusal = np.stack([row["refusal"] for row in features])
    assert answer.shape == refusal.shape == (len(questions), 1024)  # models.synth_tiny.grait.gradients.dim
    np.testing.assert_allclose(np.linalg.norm(answer, axis=1), 1.0, rtol=1e-4)
    # one prompt, two targets: the gradients differ, and the refusal's point the same way more than the answers'
    assert float(np.mean(np.sum(answer * refusal, axis=1))) < 0.99
    assert (refusal @ refusal.T).mean() > (answer @ answer.T).mean()
    assert (grait / "results/checkpoints/synth_tiny_grait_warmup/adapter_config.json").is_file()


def test_grait_data_follows_its_groups_and_counts(grait):
    correctness = {r["id"]: r["correctness"]
                   for r in read_jsonl(grait / "results/knowledge/synth_tiny/certainty/synth_train.jsonl")}
    examples = read_jsonl(grait / "results/train_data/synth_tiny_grait.jsonl")
    answered = [e for e in examples if e["kind"] == "answer"]
    refused = [e for e in examples if e["kind"] == "refusal"]
    candidates = sum(value < 0.5 for value in correctness.values())
    assert len(answered) == 100 and len(refused) == min(70, candidates - 70)  # models.synth_tiny.grait.selection
    assert all(correctness[e["id"]] > 0.5 for e in answered) and all(correctness[e["id"]] < 0.5 for e in refused)
    # the most often right questions are the answered ones
    assert min(correctness[e["id"]] for e in answered) >= sorted(
        (v for v in correctness.values() if v > 0.5), reverse=True)[99]
    assert sum(e["grait_weight"] for e in refused) == pytest.approx(500)
    assert {e["target"] for e in refused} == {"I don't know."}


def test_grait_refuses_unseen_facts_far_more_than_often_seen_ones(grait):
    unseen, seen = unseen_and_seen_refusal_rates(grait, "grait")
    assert unseen > seen + 0.3, (unseen, seen)
    evaluated = synth_block(grait, "grait")
    base = synth_block(grait, "base")
    assert evaluated["honesty"] > base["honesty"] + 0.1, (evaluated["honesty"], base["honesty"])
