"""The plan's settings as pure functions of the config (rait.plan), without running Snakemake."""

from __future__ import annotations

import pytest

from rait.errors import RaitError
from rait.plan import check_local_gpus, check_slurm_gpus, deep_merge, default_resource, stage_training


def test_deep_merge_merges_nested_sections_key_by_key_and_leaves_its_inputs_alone():
    base = {"a": 1, "hparams": {"lr": 1, "steps": 2}, "lora": {"r": 16}}
    override = {"hparams": {"lr": 3}, "lora": None, "new": {"x": 1}}
    assert deep_merge(base, override) == {"a": 1, "hparams": {"lr": 3, "steps": 2}, "lora": None, "new": {"x": 1}}
    assert base == {"a": 1, "hparams": {"lr": 1, "steps": 2}, "lora": {"r": 16}}
    assert deep_merge(base, None) == base


def test_defaults_go_under_what_is_written_and_the_written_order_stays():
    """A trainer's defaults fill what a config leaves out; a section the config writes keeps its keys' order (a
    job's options are JSON text: another order would rerun it)."""
    from rait.plan.settings import merge_under

    defaults = {"hparams": {"learning_rate": 1e-4, "num_train_epochs": 3, "max_length": 512}, "beta": 0.1}
    written = {"beta": 0.2, "hparams": {"max_length": 64, "learning_rate": 1e-5}}
    merged = merge_under(defaults, written)
    assert merged == {"beta": 0.2, "hparams": {"max_length": 64, "learning_rate": 1e-5, "num_train_epochs": 3}}
    assert list(merged) == ["beta", "hparams"] and list(merged["hparams"]) == ["max_length", "learning_rate",
                                                                              "num_train_epochs"]
    assert list(merge_under(defaults, None)) == ["hparams", "beta"] and merge_under(defaults, {"hparams": None}) == {
        "hparams": None, "beta": 0.1}
    assert defaults == {"hparams": {"learning_rate": 1e-4, "num_train_epochs": 3, "max_length": 512}, "beta": 0.1}


def _config(model_training=None, model_methods=None):
    return {
        "training": {"seed": 0, "grpo": {"hparams": {"learning_rate": 1e-5, "num_generations": 8, "max_steps": -1}}},
        "methods": {"conqord": {"training": {"grpo": {"hparams": {"learning_rate": 1e-6, "beta": 0.1},
                                                      "conqord": {"batch": 8}}}},
                    "absolute": {"data": {"threshold": 0.1}}},
        "models": {"big": {}, "demo": {"training": model_training or {}, "methods": model_methods or {}}},
    }


def test_a_methods_own_defaults_beat_the_trainers_and_a_models_entry_beats_both():
    config = _config(model_training={"grpo": {"hparams": {"learning_rate": 1e-4, "max_steps": 16}}},
                     model_methods={"conqord": {"training": {"grpo": {"hparams": {"max_steps": 4}}}}})
    # the cluster model: the method's defaults over the trainer's
    big = stage_training(config, "big", "conqord")["grpo"]
    assert big["hparams"] == {"learning_rate": 1e-6, "num_generations": 8, "max_steps": -1, "beta": 0.1}
    assert big["conqord"] == {"batch": 8}
    # the laptop model: its own run length and rate over the method's, the method's KL kept; its per-method
    # setting over everything
    demo = stage_training(config, "demo", "conqord")["grpo"]["hparams"]
    assert demo == {"learning_rate": 1e-4, "num_generations": 8, "max_steps": 4, "beta": 0.1}
    # another stage of the same trainer takes none of conqord's defaults
    assert stage_training(config, "big", "abstain_rl")["grpo"]["hparams"] == config["training"]["grpo"]["hparams"]
    # a method without training settings, or set to null, changes nothing
    assert stage_training(config, "big", "absolute") == config["training"]
    assert stage_training({**config, "methods": {"absolute": None}}, "big", "absolute") == config["training"]


def test_a_gpu_count_this_machine_has_passes_and_one_more_is_named_by_key():
    check_local_gpus("m", 0, 0)
    check_local_gpus("m", 2, 2)
    with pytest.raises(RaitError, match=r"model 'm' asks for 3 GPU\(s\) per job \(config key models\.m\.gpus\) but the "
                                        r"jobs run on this machine, which has 2"):
        check_local_gpus("m", 3, 2)


def test_a_gpu_count_no_slurm_node_has_is_named_with_the_partition_and_gpu_model():
    check_slurm_gpus("m", 4, 4, "gpu", None)
    check_slurm_gpus("m", 64, None, "gpu", None)  # sinfo told nothing: not checked
    with pytest.raises(RaitError, match=r"no node of SLURM partition 'gpu' \(config key slurm\.gpu_partition\) has more "
                                        r"than 4 a100; lower models\.m\.gpus"):
        check_slurm_gpus("m", 8, 4, "gpu", "a100")
    with pytest.raises(RaitError, match=r"has more than 4; lower"):
        check_slurm_gpus("m", 8, 4, "gpu", None)


def test_a_profiles_default_resource_is_read_quoted_or_not():
    assert default_resource(["mem_mb=8000", "slurm_partition='cpu'"], "slurm_partition") == "cpu"
    assert default_resource(['slurm_partition = "batch"'], "slurm_partition") == "batch"
    assert default_resource(["slurm_partition=cpu"], "slurm_partition") == "cpu"
    assert default_resource(["mem_mb=8000"], "slurm_partition") is None
    assert default_resource([], "slurm_partition") is None
