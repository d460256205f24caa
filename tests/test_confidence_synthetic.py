"""R-Tuning, CONQORD, abstain_rl and calibrated_rl end to end on the synthetic world: each method's confidence
separates the facts the model saw often (exposure >= 4) from those it never saw (exposure 0). For abstain_rl,
whose answers state no confidence, the confidence is whether it answers (1) or refuses (0)."""

from __future__ import annotations

import pytest

from conftest import evaluate_synth, synth_block
from rait.calibration import roc_auc
from rait.grading import is_refusal
from rait.io import read_json, read_jsonl

# xdist: one worker runs every module of the synthetic world (tests/conftest.py, synth_run)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("world")]

METHODS = ("rtuning", "conqord", "abstain_rl", "calibrated_rl")


@pytest.fixture(scope="module")
def confident(synth_run):
    return evaluate_synth(synth_run, METHODS)


def planted_auroc(workdir, method: str) -> tuple[float, dict]:
    exposure = {fact["id"]: fact["exposure"] for fact in read_jsonl(workdir / "results/synthetic/world.jsonl")}
    predictions = read_jsonl(workdir / f"results/predictions/synth_tiny_{method}/synth_test.jsonl")
    scores, known = [], []
    for prediction in predictions:
        level = exposure[prediction["id"]]
        if level == 0 or level >= 4:
            if "confidence" in prediction:
                scores.append(prediction["confidence"])
            elif method == "abstain_rl":
                scores.append(0.0 if is_refusal(prediction["answer"], ["I don't know."]) else 1.0)
            else:  # a missing statement: least sure (counted in the eval file's confidence_unstated)
                scores.append(0.0)
            known.append(level >= 4)
    return roc_auc(scores, known), {"n": len(scores), "known": sum(known)}


def test_each_methods_confidence_separates_planted_known_from_unknown_facts(confident):
    found = {}
    for method in METHODS:
        block = synth_block(confident, method)
        auroc, counts = planted_auroc(confident, method)
        found[method] = {"planted_auroc": round(auroc, 3), **counts, "auroc": block["auroc"], "ece": block["ece"],
                         "accuracy": round(block["accuracy"], 3), "refusal_rate": round(block["refusal_rate"], 3),
                         "confidence_n": block["confidence_n"], "unstated": block["confidence_unstated"]}
    print("\nconfidence on the synthetic world:", found)
    for method, result in found.items():
        assert result["planted_auroc"] > 0.7, (method, result)
    for method in ("rtuning", "conqord", "calibrated_rl"):
        assert found[method]["confidence_n"] > 0 and found[method]["auroc"] is not None, found[method]


def test_rl_stages_keep_their_reward_and_statement_counts(confident):
    for method, reward in (("conqord", "conqord"), ("abstain_rl", "abstention"), ("calibrated_rl", "calibration")):
        stats = read_json(confident / f"results/checkpoints/synth_tiny_{method}/training_stats.json")
        assert stats["reward"] == reward and stats["last_logged_reward"] is not None, stats
        read = sum(stats["statements"].values())  # every sampled answer's statement, parsed or not
        assert read == 0 if reward == "abstention" else read > 0, stats
    rows = read_jsonl(confident / "results/train_data/synth_tiny_rtuning.jsonl")
    assert {row["kind"] for row in rows} == {"sure", "unsure"}
    assert all(row["target"].endswith(("The answer is: yes.", "The answer is: no.")) for row in rows)
