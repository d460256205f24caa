"""The workflow's front door: bad configuration and unknown keys are reported by key, without a traceback."""

from __future__ import annotations

from conftest import REPO, snakemake, write_config


def test_hub_target_plans_offline(tmp_path):
    result = snakemake(REPO, "-n", "results/knowledge/llama2_7b/triviaqa_train.jsonl")
    assert "sample_answers" in result.stdout and "gpu=1" in result.stdout


def test_threshold_outside_unit_interval_is_reported_by_key(tmp_path):
    config = write_config(tmp_path / "c.yaml", knowledge={"threshold": 1.5})
    result = snakemake(tmp_path, "-n", configfile=config, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "threshold" in output and "1.5" in output
    assert "Traceback" not in output


def test_unknown_model_key_is_named(tmp_path):
    config = write_config(tmp_path / "c.yaml")
    result = snakemake(tmp_path, "-n", "results/knowledge/gpt9/world_test.jsonl", configfile=config, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "unknown model key 'gpt9'" in output


def test_unknown_dataset_key_is_named(tmp_path):
    config = write_config(tmp_path / "c.yaml")
    result = snakemake(tmp_path, "-n", "results/knowledge/smollm2_135m/nosuch_test.jsonl", configfile=config, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "unknown dataset key 'nosuch'" in output
