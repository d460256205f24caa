"""End to end on the synthetic world: the DAG's Ik labels recover the planted knowledge boundary,
and a config edit reruns exactly what depends on it."""

from __future__ import annotations

import re

import pytest
from sklearn.metrics import roc_auc_score

from conftest import SYNTH_OVERRIDES, SYNTH_TARGETS, snakemake, write_config
from rait.io import read_jsonl

# xdist: one worker runs every module of the synthetic world (tests/conftest.py, synth_run)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("world")]


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {name: int(count) for name, count in re.findall(r"^(\w+)\s+(\d+)\s*$", table, flags=re.M)}


def test_ik_labels_recover_planted_boundary(synth_run):
    workdir, _ = synth_run
    exposure = {fact["id"]: fact["exposure"] for fact in read_jsonl(workdir / "results/synthetic/world.jsonl")}
    labels = [label for target in SYNTH_TARGETS for label in read_jsonl(workdir / target)]
    assert len(labels) == len(exposure)
    # The planted boundary: facts shown 4+ times are known, never-shown ones are not.
    judged = [label for label in labels if exposure[label["id"]] == 0 or exposure[label["id"]] >= 4]
    known = [exposure[label["id"]] >= 4 for label in judged]
    auroc = roc_auc_score(known, [label["correctness"] for label in judged])
    assert auroc >= 0.9, f"sample correctness separates seen from unseen facts with AUROC {auroc:.3f} only"
    unseen_ik = [label["ik"] for label in labels if exposure[label["id"]] == 0]
    assert sum(unseen_ik) / len(unseen_ik) < 0.05


def test_threshold_edit_plans_labeling_not_sampling(synth_run, tmp_path):
    workdir, _ = synth_run
    edited = write_config(tmp_path / "edited.yaml", **SYNTH_OVERRIDES, knowledge={"threshold": 0.3})
    plan = planned_jobs(snakemake(workdir, "-n", *SYNTH_TARGETS, configfile=edited).stdout)
    assert plan.get("label_knowledge") == 2
    assert "sample_answers" not in plan and "pretrain_synthetic" not in plan and "prepare_dataset" not in plan

    snakemake(workdir, *SYNTH_TARGETS, configfile=edited)
    for target in SYNTH_TARGETS:
        for label in read_jsonl(workdir / target):
            assert label["ik"] == (label["correctness"] >= 0.3)


def test_sampling_edit_plans_sampling_and_labeling(synth_run, tmp_path):
    workdir, _ = synth_run
    edited = write_config(tmp_path / "edited.yaml", **SYNTH_OVERRIDES, sampling={"n": 5})
    plan = planned_jobs(snakemake(workdir, "-n", *SYNTH_TARGETS, configfile=edited).stdout)
    assert plan.get("sample_answers") == 2 and plan.get("label_knowledge") == 2
    assert "pretrain_synthetic" not in plan


def test_sharded_sampling_gives_the_same_samples(synth_run, tmp_path):
    """How a split is cut into jobs is not what is sampled: sampled afresh in three shards, the gathered samples
    equal the unsharded ones byte for byte (seeds per sample), and the shards are gone once gathered."""
    import shutil

    workdir, _ = synth_run
    sharded = write_config(tmp_path / "sharded.yaml", **SYNTH_OVERRIDES, sampling={"shard_size": 100})
    fresh = tmp_path / "fresh"
    for folder in ("synthetic", "models", "data"):
        shutil.copytree(workdir / "results" / folder, fresh / "results" / folder)
    target = "results/samples/synth_tiny/synth_test.jsonl"
    result = snakemake(fresh, target, configfile=sharded)
    assert planned_jobs(result.stdout + result.stderr).get("sample_answers") == 3, result.stderr[-2000:]
    assert (fresh / target).read_bytes() == (workdir / target).read_bytes()
    assert not list((fresh / "results/samples/synth_tiny/shards").rglob("*.jsonl"))  # temporary, gone once gathered
