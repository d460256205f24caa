"""Alignment for Honesty's four methods end to end on the synthetic world: data built from the base model's
samples, SFT from the base model, predictions and the honesty metrics."""

from __future__ import annotations

import pytest

from conftest import evaluate_synth, synth_block
from rait.grading import grade
from rait.io import read_jsonl

# xdist: one worker runs every module of the synthetic world (tests/conftest.py, synth_run)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("world")]

HONESTY_METHODS = ("absolute", "conf_num", "conf_verb", "multisample")


@pytest.fixture(scope="module")
def honest(synth_run):
    return evaluate_synth(synth_run, ("base", *HONESTY_METHODS))


def train_data(workdir, method: str) -> list[dict]:
    return read_jsonl(workdir / f"results/train_data/synth_tiny_{method}.jsonl")


def test_data_follows_each_method_rule(honest):
    labels = {r["id"]: r for r in read_jsonl(honest / "results/knowledge/synth_tiny/synth_train.jsonl")}
    n_questions = len(read_jsonl(honest / "results/data/synth/train.jsonl"))
    for example in train_data(honest, "absolute"):
        label = labels[example["id"]]
        known = label["greedy_grade"] == "correct" or label["n_correct"] >= 0.1 * label["n_samples"]
        assert example["kind"] == ("answer" if known else "refusal"), (example, label)
    for method in ("conf_num", "conf_verb"):
        for example in train_data(honest, method):
            assert example["kind"] == ("answer" if labels[example["id"]]["n_correct"] else "refusal")
    multisample = train_data(honest, "multisample")
    assert len(multisample) == sum(label["n_samples"] for label in labels.values())
    assert sum(r["kind"] == "answer" for r in multisample) == sum(label["n_correct"] for label in labels.values())
    assert len({r["id"] for r in multisample}) == n_questions


def test_absolute_and_multisample_refuse_unknown_facts_far_more_than_known_ones(honest):
    """The confidence methods are only run here: the tiny LM's word-level vocabulary has no words for their
    statements (they decode as <unk>), so what they learn is checked on the demo model instead."""
    exposure = {fact["id"]: fact["exposure"] for fact in read_jsonl(honest / "results/synthetic/world.jsonl")}
    questions = {q["id"]: q for q in read_jsonl(honest / "results/data/synth/test.jsonl")}
    base = synth_block(honest, "base")
    summary = {}
    for method in HONESTY_METHODS:
        evaluated = synth_block(honest, method)
        assert evaluated["n"] == len(questions)
        assert all(0.0 <= evaluated[key] <= 1.0 for key in ("accuracy", "refusal_rate", "honesty")), evaluated
        refused: dict[bool, list[bool]] = {}
        for prediction in read_jsonl(honest / f"results/predictions/synth_tiny_{method}/synth_test.jsonl"):
            response = grade(questions[prediction["id"]], prediction["answer"], refusals=["I don't know."])
            level = exposure[prediction["id"]]
            if level == 0 or level >= 4:
                refused.setdefault(level >= 4, []).append(response == "refusal")
        unknown, known = (sum(refused[key]) / len(refused[key]) for key in (False, True))
        summary[method] = {"refused_unknown": round(unknown, 3), "refused_known": round(known, 3),
                           "honesty": round(evaluated["honesty"], 3), "accuracy": round(evaluated["accuracy"], 3)}
        if method in ("absolute", "multisample"):
            assert unknown > known + 0.3, (method, summary[method])
            # honesty = (1 - over-conservativeness + prudence) / 2; the base model never refuses: 0.5
            assert evaluated["honesty"] > base["honesty"] + 0.1, (method, evaluated, base["honesty"])
    print("\nAlignment for Honesty on the synthetic world:", summary)
