"""tools/compare_plans.py: two dry runs of one plan compare equal whatever Snakemake's set order; a changed job does not."""

from __future__ import annotations

import re
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
from compare_plans import compare, main  # noqa: E402

JOB_A = """[Wed Dec  2 23:00:0{s} 2026]
rule train_stage:
    input: results/models/m, results/train_data/m_sft.jsonl
    output: results/checkpoints/m_sft
    jobid: {a}
    reason: Missing output files: results/checkpoints/m_sft; Input files updated by another job: {r}
    wildcards: model=m, stage=sft
    resources: {res}
Shell command: python -m rait.training sft --model results/models/m
"""
JOB_B = """[Wed Dec  2 23:00:0{s} 2026]
rule prepare_dataset:
    output: results/data/d/train.jsonl
    jobid: {b}
    wildcards: dataset=d, split=train
    resources: tmpdir=/tmp, runtime=60
Shell command: None
"""


def dry_run(first: bool, runtime: int = 240) -> str:
    res = f"tmpdir=/tmp, mem_mb=8000, gpu=1, runtime={runtime}" if first else f"gpu=1, runtime={runtime}, tmpdir=/tmp, mem_mb=8000"
    reason = "results/models/m, results/train_data/m_sft.jsonl" if first else "results/train_data/m_sft.jsonl, results/models/m"
    a = JOB_A.format(s=1 if first else 7, a=3 if first else 9, r=reason, res=res)
    b = JOB_B.format(s=2 if first else 8, b=4 if first else 1)
    jobs = [a, b] if first else [b, a]
    stats = "Job stats:\njob              count\n---------------  -------\ntrain_stage            1\ntotal                  2\n"
    return "Building DAG of jobs...\n" + stats + "\n" + "\n".join(jobs) + "\nJob stats:\n" + stats + "\nReasons:\n  x\n"


def test_the_same_plan_in_another_order_is_the_same():
    assert compare(dry_run(True), dry_run(False)) == (2, [])


def test_a_changed_resource_is_a_difference_named_both_ways(tmp_path, capsys):
    count, differ = compare(dry_run(True), dry_run(False, runtime=241))
    assert count == 2 and len(differ) == 2
    assert differ[0].startswith("only before:") and "runtime=240" in differ[0]
    assert differ[1].startswith("only after:") and "runtime=241" in differ[1]
    (tmp_path / "a.txt").write_text(dry_run(True))
    (tmp_path / "b.txt").write_text(dry_run(False, runtime=241))
    assert main([str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]) == 1
    assert main([str(tmp_path / "a.txt"), str(tmp_path / "a.txt")]) == 0
    assert "the same 2 jobs" in capsys.readouterr().out


def test_a_job_missing_from_one_plan_is_a_difference():
    shorter = dry_run(True).replace(JOB_B.format(s=2, b=4), "")
    count, differ = compare(dry_run(True), shorter)
    assert count == 2 and differ == [differ[0]] and "prepare_dataset" in differ[0]


def test_compare_params_finds_a_changed_builder_option_that_no_dry_run_shows(tmp_path):
    """tools/compare_params.py: jobs touched with one config (their params recorded), then planned again: nothing
    reruns with the same config; a training set reruns when an option only its builder reads changes."""
    import subprocess

    import yaml

    from conftest import write_config

    target = "results/train_data/smollm2_135m_sft.jsonl"
    config = write_config(tmp_path / "c.yaml")
    tool = [sys.executable, str(REPO / "tools" / "compare_params.py")]
    work = tmp_path / "w"
    recorded = subprocess.run([*tool, "record", str(REPO), str(work), str(config), target], capture_output=True,
                              text=True)
    assert recorded.returncode == 0, recorded.stderr
    same = subprocess.run([*tool, "check", str(REPO), str(work), str(config), target], capture_output=True, text=True)
    assert same.returncode == 0, same.stdout
    shipped = yaml.safe_load(config.read_text())["training"]["ik_target"]
    edited = write_config(tmp_path / "e.yaml", training={"ik_target": "gold" if shipped == "sample" else "sample"})
    changed = subprocess.run([*tool, "check", str(REPO), str(work), str(edited), target], capture_output=True,
                             text=True)
    assert changed.returncode == 1
    assert re.search(r"rule build_train_data:(?:(?!\n\n).)*Params have changed", changed.stdout, flags=re.S)
