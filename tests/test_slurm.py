"""The SLURM profile on a real one-node SLURM cluster (slurmctld + slurmd on this machine, see slurm_cluster.py).

`snakemake --profile slurm` builds a synthetic-world eval target: every GPU rule is submitted with its GPUs to
the `gpu` partition, the other rules that are not local to the `cpu` partition, and the local rules never reach
SLURM. A job cancelled mid-run leaves nothing half-written behind, and a rerun finishes the DAG.

Needs root (it installs SLURM with apt-get if missing and writes /etc/slurm); opt-in:
``python -m pytest -m slurm tests/test_slurm.py``. The GPUs are placeholders (/dev/rait_gpu0-1): SLURM sets
CUDA_VISIBLE_DEVICES, torch sees no GPU, so the tiny model runs on the CPU inside the GPU jobs, and training
runs with RAIT_CPU_FALLBACK=1 (rait.training trains on the CPU when a job's GPUs are not CUDA devices).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO, write_config
from rait.io import read_json, read_jsonl
from slurm_cluster import ClusterUnavailable, SlurmCluster

pytestmark = pytest.mark.slurm

PROFILE = REPO / "slurm"
# The rules that declare `gpu` resources are the ones the profile maps to the GPU partition
# (tests/test_workflow_config.py checks that mapping statically).
GPU_RULES = set(yaml.safe_load((PROFILE / "config.yaml").read_text())["set-resources"])

# The synthetic world at its smallest; synth_tiny asks for one GPU, so its sampling, training and prediction
# jobs are GPU jobs. The 1-layer model knows little after 2 epochs: threshold 0.1 still gives Ik questions.
TINY = {
    "synthetic": {"n_facts": 60, "pretrain": {"epochs": 2, "layers": 1, "width": 64, "heads": 2}},
    "sampling": {"n": 3},
    "models": {
        "synth_tiny": {
            "gpus": 1,
            "mem_mb": 1000,
            "runtime": 10,
            "threshold": 0.1,
            "training": {"sft": {"num_train_epochs": 1}, "dpo": {"hparams": {"num_train_epochs": 1}}},
        }
    },
}
TARGET = "results/eval/synth_tiny_sft.json"


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """slurmctld + slurmd on this host, partitions cpu and gpu, two placeholder GPUs; stopped at the end."""
    if os.geteuid() != 0:
        pytest.skip("the SLURM tests start a cluster on this machine: they need root")
    cluster = SlurmCluster()
    try:
        cluster.start()
    except ClusterUnavailable as err:
        pytest.skip(f"no SLURM cluster: {err}")
    try:
        visible = cluster.check_gpu_job(tmp_path_factory.mktemp("gpu_check"))
        assert visible in ("0", "1"), f"a --gpus=1 job saw CUDA_VISIBLE_DEVICES={visible!r}"
        yield cluster
    finally:
        cluster.stop()


# Loaded by every Python process of a run (PYTHONPATH): inside a SLURM job, appends the process's job, step,
# CUDA_VISIBLE_DEVICES and command line to $RAIT_TEST_PROBE, so the test sees what each rule's script was given.
PROBE = """\
import json, os
if os.environ.get("SLURM_JOB_ID") and os.environ.get("RAIT_TEST_PROBE"):
    with open("/proc/self/cmdline", "rb") as _cmdline:
        _argv = [part.decode(errors="replace") for part in _cmdline.read().split(b"\\0") if part]
    with open(os.environ["RAIT_TEST_PROBE"], "a") as _probe:
        _probe.write(json.dumps({"job": os.environ["SLURM_JOB_ID"], "step": os.environ.get("SLURM_STEP_ID"),
                                 "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "argv": _argv}) + "\\n")
"""


def profile_command(workdir: Path, configfile: Path, *args: str) -> list[str]:
    """`snakemake --profile slurm` on the repo's workflow, the SLURM logs and status polling set for a test."""
    return [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
        "--profile", str(PROFILE),
        "--slurm-logdir", str(workdir / "slurm_logs"), "--slurm-keep-successful-logs",
        "--latency-wait", "5",
        # the plugin waits 40 s before its first squeue, then 10 s more each time nothing finished
        "--slurm-init-seconds-before-status-checks", "1",
        "--cores", "2",
        *args,
        "--configfile", str(configfile),  # last: takes every following word as a file
    ]


def job_env(workdir: Path) -> dict[str, str]:
    """The run's environment; the executor submits with --export=ALL, so the jobs see it too."""
    probe_dir = workdir / "probe"
    probe_dir.mkdir(exist_ok=True)
    (probe_dir / "sitecustomize.py").write_text(PROBE)
    python_path = os.pathsep.join(filter(None, [str(probe_dir), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "RAIT_CPU_FALLBACK": "1", "PYTHONPATH": python_path, "RAIT_TEST_PROBE": str(probe_dir / "probe.jsonl")}


def probed(workdir: Path) -> list[dict]:
    path = workdir / "probe" / "probe.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run_profile(workdir: Path, configfile: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(profile_command(workdir, configfile, *args), cwd=workdir, env=job_env(workdir),
                            capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake --profile slurm failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
                             f"{result.stderr[-8000:]}")
    return result


def run_id(output: str) -> str:
    """The executor's run id: the job name of every job this snakemake run submitted."""
    found = re.findall(r"SLURM run ID: (\S+)", output)
    assert len(found) == 1, output[-3000:]
    return found[0]


def submitted(cluster: SlurmCluster, output: str) -> list[dict[str, str]]:
    """scontrol's record of the jobs a run submitted (kept MinJobAge after they end), each with its rule."""
    jobs = [job for job in cluster.jobs() if job.get("JobName") == run_id(output)]
    for job in jobs:
        job["rule"] = re.match(r"rule_(\w+?)(_wildcards_|$)", job["Comment"]).group(1)
    return jobs


def local_rules(output: str) -> set[str]:
    return set(re.findall(r"^localrule (\w+):", output, flags=re.M))


def gpus_of(job: dict[str, str]) -> tuple[int, int]:
    """The GPUs a job asked for (TresPerJob gres:gpu:N, from sbatch --gpus) and was allocated (JOB_GRES gpu:N)."""

    def count(value: str) -> int:
        found = re.search(r"gpu(?::[^:,]+)?[:=](\d+)", value or "")
        return int(found.group(1)) if found else 0

    return count(job.get("TresPerJob", "")), count(job.get("JOB_GRES", ""))


def assert_complete(workdir: Path) -> None:
    """Every output of the DAG is whole: JSONL files parse to the right questions, checkpoints load."""
    from transformers import AutoModelForCausalLM

    results = workdir / "results"
    leftovers = [path for path in results.rglob(".*.tmp")]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    questions = {split: read_jsonl(results / f"data/synth/{split}.jsonl") for split in ("train", "test")}
    for split, records in questions.items():
        ids = [record["id"] for record in records]
        for kind in ("samples", "knowledge"):
            written = read_jsonl(results / f"{kind}/synth_tiny/synth_{split}.jsonl")
            assert [record["id"] for record in written] == ids, (kind, split)
    samples = read_jsonl(results / "samples/synth_tiny/synth_train.jsonl")
    assert all(len(record["samples"]) == TINY["sampling"]["n"] for record in samples)
    predictions = read_jsonl(results / "predictions/synth_tiny_sft/synth_test.jsonl")
    assert [record["id"] for record in predictions] == [record["id"] for record in questions["test"]]
    for checkpoint in ("models/synth_tiny", "checkpoints/synth_tiny_sft"):
        AutoModelForCausalLM.from_pretrained(results / checkpoint)
    result = read_json(results / "eval/synth_tiny_sft.json")
    assert (result["model"], result["method"], list(result["test_sets"])) == ("synth_tiny", "sft", ["synth"])


def test_profile_submits_gpu_rules_to_gpu_partition_and_runs_cheap_rules_locally(slurm_cluster, tmp_path):
    configfile = write_config(tmp_path / "config.yaml", **TINY)
    started = time.monotonic()
    result = run_profile(tmp_path, configfile, TARGET)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr

    jobs = submitted(slurm_cluster, output)
    by_rule: dict[str, list[dict]] = {}
    for job in jobs:
        by_rule.setdefault(job["rule"], []).append(job)
    assert set(by_rule) == {"pretrain_synthetic", "sample_answers", "train_sft", "predict_answers"}, sorted(by_rule)
    assert len(by_rule["sample_answers"]) == 2  # train and test split
    for job in jobs:
        assert job["JobState"] == "COMPLETED", job
        if job["rule"] in GPU_RULES:
            assert (job["Partition"], gpus_of(job)) == ("gpu", (1, 1)), job
        else:
            assert (job["Partition"], gpus_of(job)) == ("cpu", (0, 0)), job
    ran_locally = local_rules(output)
    assert ran_locally == {"generate_synthetic_world", "prepare_dataset", "label_knowledge", "build_idk_sft",
                           "evaluate_method"}, ran_locally
    assert not ran_locally & set(by_rule)
    # each SLURM job wrote its log where --slurm-logdir says; no local rule has one
    logged = {path.relative_to(tmp_path / "slurm_logs").parts[0] for path in (tmp_path / "slurm_logs").rglob("*.log")}
    assert logged == {f"rule_{rule}" for rule in by_rule}, logged
    # the rule's own process (script or `python -m rait.training`) in the job step had the job's GPU
    seen = {}
    for process in probed(tmp_path):
        if process["step"] not in (None, "batch") and "snakemake" not in " ".join(process["argv"]):
            seen.setdefault(process["job"], set()).add(process["cuda"])
    for job in jobs:
        assert job["JobId"] in seen, (job["rule"], job["JobId"], probed(tmp_path))
        allowed = {"0", "1"} if job["rule"] in GPU_RULES else {None}
        assert seen[job["JobId"]] <= allowed, (job["rule"], seen[job["JobId"]])
    assert_complete(tmp_path)
    print(f"\nprofile run: {elapsed:.0f}s, {len(jobs)} SLURM jobs, {len(ran_locally)} local rules")


def seconds(runtime: str) -> int:
    """scontrol's RunTime ([days-]hh:mm:ss) in seconds."""
    days, _, clock = runtime.rpartition("-")
    hours, minutes, secs = (int(part) for part in clock.split(":"))
    return int(days or 0) * 86400 + hours * 3600 + minutes * 60 + secs


def wait_for_running(cluster: SlurmCluster, process: subprocess.Popen, rule: str, timeout: float = 300) -> dict:
    """The first job of ``rule`` once it has run a few seconds (its script has started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"snakemake ended before a {rule} job ran:\n{process.stdout.read()[-4000:]}")
        for job in cluster.jobs():
            if job.get("Comment", "").startswith(f"rule_{rule}_") and job.get("JobState") == "RUNNING" \
                    and seconds(job["RunTime"]) >= 4:
                return job
        time.sleep(0.5)
    raise AssertionError(f"no {rule} job was running within {timeout}s")


def test_cancelled_job_leaves_no_partial_output_and_rerun_completes(slurm_cluster, tmp_path):
    configfile = write_config(tmp_path / "config.yaml", **TINY)
    started = time.monotonic()
    # no automatic retry (the profile has retries: 1): the cancelled job must fail this run
    process = subprocess.Popen(profile_command(tmp_path, configfile, "--retries", "0", TARGET), cwd=tmp_path,
                               env=job_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        victim = wait_for_running(slurm_cluster, process, "sample_answers")
        subprocess.run(["scancel", victim["JobId"]], check=True)
        output = process.communicate(timeout=600)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    first = time.monotonic() - started
    assert process.returncode != 0, output[-4000:]
    assert f"SLURM-job '{victim['JobId']}' failed" in output, output[-4000:]
    split = re.search(r"_wildcards_.*?(train|test)", victim["Comment"]).group(1)
    killed_output = tmp_path / f"results/samples/synth_tiny/synth_{split}.jsonl"
    assert not killed_output.exists(), "the cancelled job's output was left in place"
    assert not list(killed_output.parent.glob(".*.tmp")), "the cancelled job left a temporary file"

    started = time.monotonic()
    result = run_profile(tmp_path, configfile, TARGET)
    second = time.monotonic() - started
    jobs = submitted(slurm_cluster, result.stdout + result.stderr)
    resubmitted = [job for job in jobs if job["rule"] == "sample_answers"]
    assert len(resubmitted) == 1 and split in resubmitted[0]["Comment"], [job["Comment"] for job in jobs]
    assert all(job["JobState"] == "COMPLETED" for job in jobs), jobs
    assert "pretrain_synthetic" not in {job["rule"] for job in jobs}  # finished in the first run, kept
    assert_complete(tmp_path)
    print(f"\ncancelled {victim['JobId']} ({victim['Comment']}); first run {first:.0f}s, rerun {second:.0f}s")
