"""The SLURM profile on a real one-node SLURM cluster (slurmctld + slurmd on this machine, see slurm_cluster.py).

One workflow run through `snakemake --profile slurm` to the synthetic world's SFT and DPO evaluations, in two
invocations: the first is interrupted by cancelling a running training job (`scancel`), the second resumes.
Together they show that every GPU rule is submitted with its GPUs to the `gpu` partition, the other submitted
rule to `cpu`, that the local rules never reach SLURM, that the rule processes in a GPU job see the job's GPU,
that a cancelled job leaves no output taken as finished, and that the rerun completes every output.

Needs root (it installs SLURM with apt-get if missing, writes /etc/slurm and starts the daemons); opt-in:
``python -m pytest -m slurm tests/test_slurm.py``. The GPUs are placeholders (/dev/rait_gpu0-1): SLURM sets
CUDA_VISIBLE_DEVICES, torch sees no GPU, so the tiny model runs on the CPU inside the GPU jobs and training
runs with RAIT_CPU_FALLBACK=1 (rait.training then trains on the CPU instead of refusing the job).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ONE_THREAD, REPO, deep_merge, gpu_rules, write_config
from rait.io import read_json, read_jsonl
from slurm_cluster import ClusterUnavailable, SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.xdist_group("slurm")]  # one cluster, one worker

PROFILE = REPO / "slurm"
# The rules whose resources come from the GPU helpers, which send a job with GPUs to slurm.gpu_partition
# (tests/test_workflow_config.py checks the plans).
GPU_RULES = gpu_rules()
SUBMITTED_RULES = {"pretrain_synthetic", "sample_answers", "train_stage", "sample_heldout", "predict_answers"}
LOCAL_RULES = {"generate_synthetic_world", "prepare_dataset", "gather_samples", "label_knowledge", "build_train_data",
               "evaluate_method"}

# The synthetic world at its smallest that still has known facts (about 1 in 5 after 10 epochs of a 1-layer
# model, under a second of pretraining). synth_tiny asks for one GPU, so its sampling, training and prediction
# jobs are GPU jobs.
TINY = {
    "synthetic": {"n_facts": 60,
                  "pretrain": {"epochs": 10, "layers": 1, "width": 64, "heads": 2, "lr": 0.01, "dropout": 0.0,
                               "threads": 1}},
    "sampling": {"n": 3},
    "models": {
        "synth_tiny": {
            "gpus": 1,
            "mem_mb": 1000,
            "runtime": 10,
            "threshold": 0.3,
            "training": {"sft": {"hparams": {"num_train_epochs": 3}}, "dpo": {"hparams": {"num_train_epochs": 1}}},
        }
    },
}
TARGETS = ["results/eval/synth_tiny_sft.json", "results/eval/synth_tiny_dpo.json"]

# Loaded by every Python process of a run (PYTHONPATH): inside a SLURM job, appends the process's job, step,
# node, CUDA_VISIBLE_DEVICES and command line to $RAIT_TEST_PROBE, so the test sees what each rule's process was given;
# then runs the sitecustomize it shadows, if the interpreter has one.
PROBE = """\
import importlib.machinery, json, os, sys
if os.environ.get("RAIT_TEST_PROBE") and os.environ.get("SLURM_JOB_ID", "") != os.environ["RAIT_TEST_OUTER_JOB"]:
    with open("/proc/self/cmdline", "rb") as _cmdline:
        _argv = [part.decode(errors="replace") for part in _cmdline.read().split(b"\\0") if part]
    with open(os.environ["RAIT_TEST_PROBE"], "a") as _probe:
        _probe.write(json.dumps({"job": os.environ["SLURM_JOB_ID"], "step": os.environ.get("SLURM_STEP_ID"),
                                 "node": os.environ.get("SLURMD_NODENAME"),
                                 "cuda": os.environ.get("CUDA_VISIBLE_DEVICES"), "argv": _argv}) + "\\n")
_others = [d for d in sys.path if os.path.abspath(d or ".") != os.path.dirname(os.path.abspath(__file__))]
_spec = importlib.machinery.PathFinder.find_spec("sitecustomize", _others)
if _spec is not None:
    with open(_spec.origin) as _source:
        exec(compile(_source.read(), _spec.origin, "exec"), {"__name__": "sitecustomize", "__file__": _spec.origin})
"""


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """slurmctld + two slurmd (nodes) on this host, partitions cpu and gpu, a placeholder GPU per node; stopped
    at the end."""
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


# ---- running the profile -------------------------------------------------------


def profile_command(workdir: Path, configfile: Path, *args: str) -> list[str]:
    """`snakemake --profile slurm` on the repo's workflow, with the SLURM logs and status polling set for a test."""
    return [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "-d", str(workdir),
        "--profile", str(PROFILE),
        "--slurm-logdir", str(workdir / "slurm_logs"), "--slurm-keep-successful-logs",
        "--latency-wait", "5",
        # The plugin waits this long (default 40 s) before its first squeue, then 10 s longer after each squeue
        # where nothing finished: with 8, a job is seen at 8, 26, 54 s. The jobs here take 15-25 s.
        "--slurm-init-seconds-before-status-checks", "8",
        "--cores", "2", *ONE_THREAD,
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
            "OMP_NUM_THREADS": "1",  # two jobs share two cores (and the CI machine's other work)
            "RAIT_CPU_FALLBACK": "1", "PYTHONPATH": python_path, "RAIT_TEST_PROBE": str(probe_dir / "probe.jsonl"),
            "RAIT_TEST_OUTER_JOB": os.environ.get("SLURM_JOB_ID", "")}  # (when the tests themselves run in a job)


def run_id(output: str) -> str:
    """The executor's run id: the job name of every job one snakemake invocation submitted."""
    found = re.findall(r"SLURM run ID: (\S+)", output)
    assert len(found) == 1, output[-3000:]
    return found[0]


@dataclass
class Invocation:
    returncode: int
    output: str
    seconds: float
    jobs: list[dict] = field(default_factory=list)  # scontrol's record of the jobs it submitted, with "rule"

    @property
    def local_rules(self) -> list[str]:
        return re.findall(r"^localrule (\w+):", self.output, flags=re.M)


def record(cluster: SlurmCluster, returncode: int, output: str, seconds: float) -> Invocation:
    uuid = run_id(output)
    jobs = [job for job in cluster.jobs() if job.get("JobName") == uuid]
    for job in jobs:
        # a group job (an engine service and the predictions it answers) is named by its group id, not a rule
        found = re.match(r"rule_(\w+?)(_wildcards_|$)", job["Comment"])
        job["rule"] = found.group(1) if found and "group_" not in job.get("StdOut", "") else "group"
    return Invocation(returncode, output, seconds, jobs)


def wait_for_training(cluster: SlurmCluster, process: subprocess.Popen, workdir: Path, stage: str,
                      timeout: float = 400) -> dict:
    """The train_stage job of ``stage`` once its `python -m rait.training` process has started, while it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"snakemake ended before a train_stage job trained:\n{process.stdout.read()[-4000:]}")
        started = {entry["job"] for entry in probed(workdir) if "rait.training" in entry["argv"]}
        for job in cluster.jobs():
            if job.get("Comment") == f"rule_train_stage_wildcards_synth_tiny_{stage}" and job["JobState"] == "RUNNING" \
                    and job["JobId"] in started:
                return {**job, "stage": stage}
        time.sleep(0.2)
    raise AssertionError(f"no train_stage {stage} job was training within {timeout}s")


def probed(workdir: Path) -> list[dict]:
    """What the probe recorded of the Python processes in SLURM jobs so far."""
    path = workdir / "probe" / "probe.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.endswith("}")]


def require_cpu_fallback() -> None:
    """The training jobs ask for a GPU that torch cannot see: rait.training must train on the CPU then."""
    import torch

    from rait.errors import RaitError
    from rait.training import check_gpus

    if torch.cuda.device_count():
        return
    previous = os.environ.get("RAIT_CPU_FALLBACK")
    os.environ["RAIT_CPU_FALLBACK"] = "1"
    try:
        check_gpus(1)
    except RaitError as err:
        pytest.fail(f"rait.training refuses a 1-GPU job on a machine without CUDA even with RAIT_CPU_FALLBACK=1 "
                    f"({err}); the placeholder GPUs of this test need that fallback")
    finally:
        if previous is None:
            del os.environ["RAIT_CPU_FALLBACK"]
        else:
            os.environ["RAIT_CPU_FALLBACK"] = previous


@dataclass
class Runs:
    workdir: Path
    cancelled: dict  # the train_stage job cancelled while its training process ran (scontrol fields, plus "stage")
    after_cancel: dict  # what lay in results/checkpoints right after the interrupted run
    first: Invocation
    second: Invocation


@pytest.fixture(scope="module")
def runs(slurm_cluster, tmp_path_factory) -> Runs:
    """The interrupted run (a running train_stage job cancelled, no retries) and the rerun that completes it.

    The job cancelled is the half-data SFT at the head of the DPO branch: the SFT branch finishes in the first
    run (keep-going), the DPO branch in the second.
    """
    require_cpu_fallback()
    workdir = tmp_path_factory.mktemp("slurm_run")
    configfile = write_config(workdir / "config.yaml", **TINY)
    env = job_env(workdir)

    started = time.monotonic()
    # --retries 0 (the profile has 1): the cancelled job must fail this invocation, not be retried in it
    process = subprocess.Popen(profile_command(workdir, configfile, "--retries", "0", *TARGETS), cwd=workdir,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        cancelled = wait_for_training(slurm_cluster, process, workdir, "sft_half")
        subprocess.run(["scancel", cancelled["JobId"]], check=True)
        output = process.communicate(timeout=600)[0]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    first = record(slurm_cluster, process.returncode, output, time.monotonic() - started)
    checkpoints = workdir / "results/checkpoints"
    after_cancel = {path.name: path.is_dir() for path in checkpoints.iterdir()} if checkpoints.exists() else {}

    started = time.monotonic()
    result = subprocess.run(profile_command(workdir, configfile, *TARGETS), cwd=workdir, env=env,
                            capture_output=True, text=True, timeout=900)
    second = record(slurm_cluster, result.returncode, result.stdout + result.stderr, time.monotonic() - started)
    print(f"\nSLURM runs: interrupted {first.seconds:.0f}s ({len(first.jobs)} jobs, cancelled {cancelled['JobId']} "
          f"train_stage {cancelled['stage']}), rerun {second.seconds:.0f}s ({len(second.jobs)} jobs)")
    return Runs(workdir, cancelled, after_cancel, first, second)


# ---- the tests -------------------------------------------------------------------


def gpus_of(job: dict[str, str]) -> tuple[int, int]:
    """The GPUs a job asked for (TresPerJob gres:gpu:N, from sbatch --gpus) and was allocated (JOB_GRES gpu:N)."""

    def count(value: str) -> int:
        found = re.search(r"gpu(?::[^:,]+)?[:=](\d+)", value or "")
        return int(found.group(1)) if found else 0

    return count(job.get("TresPerJob", "")), count(job.get("JOB_GRES", ""))


def test_cancelled_job_fails_the_run_and_leaves_no_checkpoint(runs):
    first, stage = runs.first, runs.cancelled["stage"]
    assert first.returncode != 0, first.output[-4000:]
    assert f"SLURM-job '{runs.cancelled['JobId']}' failed" in first.output, first.output[-4000:]
    states = {job["JobId"]: job["JobState"] for job in first.jobs}
    assert states[runs.cancelled["JobId"]] == "CANCELLED", states
    # nothing at the cancelled job's output path, so no later run can take it as finished
    assert f"synth_tiny_{stage}" not in runs.after_cancel, runs.after_cancel
    # keep-going: the jobs that did not depend on it went on
    assert all(state == "COMPLETED" for jobid, state in states.items() if jobid != runs.cancelled["JobId"]), states


def test_rerun_completes_every_output(runs):
    from transformers import AutoModelForCausalLM

    second = runs.second
    assert second.returncode == 0, second.output[-6000:]
    assert all(job["JobState"] == "COMPLETED" for job in second.jobs), second.jobs
    # the cancelled training ran again, then the DPO stage that starts from it; what the first run finished (the
    # SFT branch) was kept
    retrained = [job["Comment"] for job in second.jobs if job["rule"] == "train_stage"]
    assert retrained == [runs.cancelled["Comment"], "rule_train_stage_wildcards_synth_tiny_dpo"], retrained
    assert "pretrain_synthetic" not in {job["rule"] for job in second.jobs}

    results = runs.workdir / "results"
    leftovers = sorted(str(path.relative_to(results)) for path in results.rglob(".*") if path.name.endswith(".tmp"))
    assert not leftovers, f"temporary outputs left behind: {leftovers}"
    questions = {split: read_jsonl(results / f"data/synth/{split}.jsonl") for split in ("train", "test")}
    for split, records in questions.items():
        ids = [record["id"] for record in records]
        for kind in ("samples", "knowledge"):
            written = read_jsonl(results / f"{kind}/synth_tiny/synth_{split}.jsonl")
            assert [record["id"] for record in written] == ids, (kind, split)
    assert all(len(record["samples"]) == TINY["sampling"]["n"]
               for record in read_jsonl(results / "samples/synth_tiny/synth_train.jsonl"))
    assert read_jsonl(results / "samples/synth_tiny/sft_half/heldout.jsonl")
    assert {pair["kind"] for pair in read_jsonl(results / "train_data/synth_tiny_dpo.jsonl")} == {"answer", "refusal"}
    for method in ("sft", "dpo"):
        predictions = read_jsonl(results / f"predictions/synth_tiny_{method}/synth_test.jsonl")
        assert [record["id"] for record in predictions] == [record["id"] for record in questions["test"]]
        evaluated = read_json(results / f"eval/synth_tiny_{method}.json")
        assert (evaluated["model"], evaluated["method"], list(evaluated["test_sets"])) == ("synth_tiny", method,
                                                                                         ["synth"])
    for checkpoint in ("models/synth_tiny", "checkpoints/synth_tiny_sft", "checkpoints/synth_tiny_sft_half",
                       "checkpoints/synth_tiny_dpo"):
        AutoModelForCausalLM.from_pretrained(results / checkpoint)
    for stage in ("sft", "sft_half", "dpo"):
        assert (results / f"checkpoints/synth_tiny_{stage}/training_stats.json").exists(), stage


def test_gpu_rules_go_to_the_gpu_partition_with_their_gpus(runs):
    jobs = runs.first.jobs + runs.second.jobs
    assert {job["rule"] for job in jobs} == SUBMITTED_RULES, sorted({job["rule"] for job in jobs})
    assert SUBMITTED_RULES - {"pretrain_synthetic"} <= GPU_RULES
    for job in jobs:
        if job["rule"] in GPU_RULES:
            assert (job["Partition"], gpus_of(job)) == ("gpu", (1, 1)), job
        else:
            assert (job["Partition"], gpus_of(job)) == ("cpu", (0, 0)), job
    # each SLURM job logged where --slurm-logdir says, under its rule
    logdir = runs.workdir / "slurm_logs"
    logged = {path.relative_to(logdir).parts[0] for path in logdir.rglob("*.log")}
    assert logged == {f"rule_{rule}" for rule in SUBMITTED_RULES}, logged


def test_cheap_rules_run_locally(runs):
    ran_locally = runs.first.local_rules + runs.second.local_rules
    assert set(ran_locally) == LOCAL_RULES, sorted(set(ran_locally))
    assert not set(ran_locally) & {job["rule"] for job in runs.first.jobs + runs.second.jobs}
    # once each: 2 prepare_dataset, 2 gather_samples, 2 label_knowledge, 1 evaluate_method per method, 1 training
    # set per stage
    assert sorted(ran_locally) == sorted(["generate_synthetic_world", "prepare_dataset", "prepare_dataset",
                                          "gather_samples", "gather_samples",
                                          "label_knowledge", "label_knowledge", "build_train_data", "build_train_data",
                                          "build_train_data", "evaluate_method", "evaluate_method"]), ran_locally


def test_rule_processes_in_gpu_jobs_see_the_job_gpu(runs):
    """The process that runs the rule (its script, or `python -m rait.training`) inside the job step."""
    seen: dict[str, set] = {}
    for process in probed(runs.workdir):
        if process["step"] not in (None, "batch") and process["argv"][1:3] != ["-m", "snakemake"]:
            seen.setdefault(process["job"], set()).add(process["cuda"])
    for job in runs.first.jobs + runs.second.jobs:
        assert job["JobId"] in seen, (job["rule"], job["JobId"], sorted(seen))
        allowed = {"0", "1"} if job["rule"] in GPU_RULES else {None}
        assert seen[job["JobId"]] <= allowed, (job["rule"], seen[job["JobId"]])


# ---- one engine per model: a service and its prediction jobs as one SLURM job ---------------------------------


@pytest.fixture(scope="module")
def served(runs, slurm_cluster) -> dict:
    """The base model's prompted answers (method `prompt`) on the cluster, once through the model's engine service
    (issue 26: Snakemake submits the service and the prediction job as one group job) and once with
    evaluation.shared_engine off (a prediction job of its own); the invocations and the predictions' bytes."""
    target = "results/eval/synth_tiny_prompt.json"
    predictions = runs.workdir / "results/predictions/synth_tiny_prompt/synth_test.jsonl"
    out = {}
    for shared in (True, False):
        configfile = write_config(runs.workdir / f"config_shared_{shared}.yaml",
                                  **deep_merge(TINY, {"evaluation": {"shared_engine": shared}}))
        started = time.monotonic()
        result = subprocess.run(profile_command(runs.workdir, configfile, target), cwd=runs.workdir,
                                env=job_env(runs.workdir), capture_output=True, text=True, timeout=900)
        invocation = record(slurm_cluster, result.returncode, result.stdout + result.stderr, time.monotonic() - started)
        assert invocation.returncode == 0, invocation.output[-6000:]
        out[shared] = (invocation, predictions.read_bytes())
    print(f"\nengine service on SLURM: {out[True][0].seconds:.0f}s; own engine: {out[False][0].seconds:.0f}s")
    return out


def test_an_engine_service_and_its_predictions_run_as_one_gpu_job_and_answer_as_a_job_alone(served):
    (service_run, through_service), (alone_run, alone) = served[True], served[False]
    assert [(job["rule"], job["Partition"], gpus_of(job)) for job in service_run.jobs] == [("group", "gpu", (1, 1))]
    # the group's Snakemake on the node stopped the service once the prediction was written
    assert "Terminating service job" in Path(service_run.jobs[0]["StdOut"]).read_text()
    assert [(job["rule"], job["Partition"], gpus_of(job)) for job in alone_run.jobs] == [
        ("predict_answers", "gpu", (1, 1))]
    assert through_service == alone and through_service


# ---- training on two nodes ---------------------------------------------------------


@dataclass
class MultiNode:
    invocation: Invocation
    processes: list[dict]  # what the probe saw in the job
    stats: dict  # the checkpoint's training_stats.json


@pytest.fixture(scope="module")
def multi_node(runs, slurm_cluster) -> MultiNode:
    """The SFT training again, with the model on two nodes (config `nodes: 2`) and nothing else changed."""
    configfile = write_config(runs.workdir / "config_2nodes.yaml",
                              **deep_merge(TINY, {"models": {"synth_tiny": {"nodes": 2}}}))
    target = "results/checkpoints/synth_tiny_sft"
    started = time.monotonic()
    result = subprocess.run(profile_command(runs.workdir, configfile, target, "--forcerun", "train_stage"),
                            cwd=runs.workdir, env=job_env(runs.workdir), capture_output=True, text=True, timeout=900)
    invocation = record(slurm_cluster, result.returncode, result.stdout + result.stderr, time.monotonic() - started)
    assert invocation.returncode == 0, invocation.output[-6000:]
    jobs = {job["JobId"] for job in invocation.jobs}
    stats = read_json(runs.workdir / target / "training_stats.json")
    print(f"\ntwo-node training: {invocation.seconds:.0f}s, world size {stats['world_size']}")
    return MultiNode(invocation, [entry for entry in probed(runs.workdir) if entry["job"] in jobs], stats)


def test_two_node_training_job_gets_both_nodes_with_their_gpus(multi_node):
    (job,) = multi_node.invocation.jobs
    assert job["rule"] == "train_stage" and job["JobState"] == "COMPLETED", job
    assert (job["Partition"], job["NumNodes"], job["NumTasks"]) == ("gpu", "2", "2"), job
    assert job.get("TresPerNode") == "gres:gpu:1", job  # the model's gpus, per node
    assert "TresPerJob" not in job, job  # one GPU mechanism: not --gpus as well
    assert job["JOB_GRES"] == "gpu:2", job


def test_two_node_training_starts_one_launcher_per_node_and_trains_one_model(multi_node):
    def nodes_running(predicate) -> dict[str, set]:
        seen: dict[str, set] = {}
        for process in multi_node.processes:
            if process["step"] not in (None, "batch") and predicate(process["argv"]):
                seen.setdefault(process["node"], set()).add(process["cuda"])
        return seen

    node_tasks = nodes_running(lambda argv: "rait.training" in argv and "--node-task" in argv)
    assert node_tasks == {"rait1": {"0"}, "rait2": {"0"}}, multi_node.processes  # each sees its node's GPU
    launchers = nodes_running(lambda argv: "torch.distributed.run" in argv)  # the CPU fallback's launcher
    trainers = nodes_running(lambda argv: "rait.training" in argv and "--node-task" not in argv
                             and "torch.distributed.run" not in argv)
    assert set(launchers) == set(trainers) == {"rait1", "rait2"}, multi_node.processes
    # one process group across the two nodes, not two trainings racing for the same checkpoint
    assert multi_node.stats["world_size"] == 2, multi_node.stats


def test_a_model_asking_for_more_gpus_than_any_node_has_is_refused_before_the_first_job(slurm_cluster, tmp_path):
    """sinfo says each node of the gpu partition has one GPU: two per job could never be scheduled."""
    configfile = write_config(tmp_path / "config.yaml", **deep_merge(TINY, {"models": {"synth_tiny": {"gpus": 2}}}))
    result = subprocess.run(profile_command(tmp_path, configfile, "results/knowledge/synth_tiny/synth_test.jsonl"),
                            cwd=tmp_path, env=job_env(tmp_path), capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback (most recent call last)" not in output
    assert ("model 'synth_tiny' asks for 2 GPU(s) per job (config key models.synth_tiny.gpus) but no node of SLURM "
            "partition 'gpu' (config key slurm.gpu_partition) has more than 1") in output, output[-3000:]
    assert not (tmp_path / "results" / "synthetic").exists()  # not even the local first job ran
