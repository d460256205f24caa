"""tools/plan_costs.py on the shipped config: what llama3_8b's methods write and how many model loads their answers
take, with the old behaviour's switches (merged copies, an engine per prediction job) and with the shipped ones."""

from __future__ import annotations

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import plan_costs  # noqa: E402
from rait.methods import METHODS  # noqa: E402


def test_llama3_8b_writes_under_five_percent_of_the_merged_copies_and_loads_its_base_once():
    sizes = plan_costs.sizes("llama3_8b")
    assert sizes.parameters == 8_030_261_248  # Meta-Llama-3-8B's parameter count
    # per unit of rank, each of 32 layers: q, o (4096 + 4096), k, v (4096 + 1024), gate, up, down (4096 + 14336)
    per_rank = 32 * (2 * 8192 + 2 * 5120 + 3 * 18432)
    assert sum(sizes.per_rank({"target_modules": "all-linear"}).values()) == per_rank
    config = [str(REPO / "config" / "config.yaml")]
    before = plan_costs.costs(plan_costs.load_plan(config, {"training": {"lora_storage": "merged"},
                                                            "evaluation": {"shared_engine": False}}),
                              "llama3_8b", sizes)
    after = plan_costs.costs(plan_costs.load_plan(config), "llama3_8b", sizes)
    full = sizes.parameters * 2
    assert before["bytes"] == len(before["stages"]) * full  # every stage a bf16 copy
    assert after["stages"]["rehearsal"] == full  # CRaFT's rehearsal is trained in full
    assert after["stages"]["sft"] == 16 * per_rank * 2 and after["stages"]["dpo"] == 32 * per_rank * 2
    assert after["stages"]["reward"] == (32 * per_rank + 4096) * 2  # sft_half's and its own update, the score head
    assert after["bytes"] / before["bytes"] < 0.05
    # one load per prediction job but the base's (from its samples), best-of-N's reward model on each test set, and
    # R-Tuning's checkpoint again for its follow-up (vLLM's engine lends no model to score with); after: the engine
    # service's one load, the reward model's, and R-Tuning's follow-up model
    jobs = 2 * (len(METHODS) - 1)  # the registry's methods, without the shipped sweep's points
    assert (before["prediction_jobs"], before["loads"], after["loads"]) == (jobs, jobs + 2 + 2, 1 + 2 + 2)
    # on the transformers engine the follow-up scores on the engine's own model: no load of its own
    demo = plan_costs.costs(plan_costs.load_plan(config), "smollm2_135m", plan_costs.sizes("smollm2_135m"))
    assert demo["test_sets"] == ["world", "nonexistent"]
    assert demo["loads"] == 1 + 2  # the service's, and best-of-N's reward model on each of the demo's test sets


def test_the_demo_models_adapter_bytes_are_its_top_layers_only():
    """The demo's LoRA (config/config.yaml: layers 24-29 of SmolLM2-135M's 30, every projection), r 16, float32:
    6 x (576 + 576 + 576 + 192 + 576 + 192 + 576 + 576 + 3 x (576 + 1536)) x 16 x 4 bytes, the size of the quick
    demo's sft adapter file (3,918,552 bytes measured, its header included)."""
    sizes = plan_costs.sizes("smollm2_135m")
    after = plan_costs.costs(plan_costs.load_plan([str(REPO / "config" / "config.yaml")]), "smollm2_135m", sizes)
    assert after["stages"]["sft"] == 6 * (1152 + 768 + 768 + 1152 + 3 * 2112) * 16 * 4 == 3_907_584
    assert after["stages"]["rehearsal"] == sizes.parameters * 4
