"""Shared fixtures: configs derived from the shipped one, and Snakemake runs in scratch directories."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# One thread per torch process in the tests. Two xdist workers, each with Snakemake jobs or in-process training, share
# two cores; torch's OpenMP threads spin while they wait, so oversubscribed they burn the cores they wait for.
# Measured on the 2-core AMD CI machine (python bench/thread_oversubscription.py: three processes side by side):
# torch's default threads 15.5-17.0 s each, one thread 0.82-1.04 s; alone 0.62 s and 0.52 s. Snakemake sets a job's
# OMP_NUM_THREADS to its threads, so its runs get --max-threads 1 (ONE_THREAD); this process and its own children,
# the variable.
os.environ["OMP_NUM_THREADS"] = "1"
if "torch" in sys.modules:  # a plugin imported it before this file
    sys.modules["torch"].set_num_threads(1)
ONE_THREAD = ["--max-threads", "1"]


def pytest_xdist_node_collection_finished(node, ids):
    """Under --dist loadgroup a worker's tests of an xdist_group carry "@group" in their ids, which is how the
    scheduler keeps a group on one worker. pytest-xdist writes it into a private attribute of pytest's nodes (pytest
    9.2 renamed it); where it could not, the run would go on with the synthetic world built by both workers."""
    if node.config.getvalue("dist") != "loadgroup":
        return
    grouped_files = {path.relative_to(REPO).as_posix() for path in (REPO / "tests").glob("test_*.py")
                     if "xdist_group(" in path.read_text()}
    ungrouped = [test for test in ids if test.split("::")[0] in grouped_files and "@" not in test]
    if ungrouped:
        pytest.exit(f"pytest-xdist did not group {len(ungrouped)} test(s) of an xdist_group (e.g. {ungrouped[0]}) "
                    f"under pytest {pytest.__version__}: install the versions pyproject.toml's test extra pins "
                    f"(bash tools/setup.sh)", returncode=4)


def deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def write_config(path: Path, **overrides) -> Path:
    """The shipped config with ``overrides`` merged in, written to ``path``."""
    shipped = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    path.write_text(yaml.safe_dump(deep_merge(shipped, overrides)))
    return path


def plan_split(stdout: str) -> list[str]:
    """A dry run's output cut before each job's ``rule`` line (the jobs of a group, such as an engine service and
    the predictions it answers, are printed indented)."""
    import re

    return re.split(r"\n[ \t]*rule ", stdout)


def snakemake(workdir: Path, *args: str, configfile: Path | None = None, check: bool = True, timeout: int = 1800):
    """Run the repo's workflow with ``workdir`` as working directory; returns the CompletedProcess."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "-d", str(workdir), "-c", "2",
               *ONE_THREAD]
    command += list(args)
    if configfile is not None:  # last: --configfile takes every following word as a file
        command += ["--configfile", str(configfile)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


# The synthetic world, small enough for a 2-core CI machine.
# `demo` points at the synthetic model too: the summary table covers the demo's methods.
# the shipped abstention sweep cut to one point of each kind (its four refusal values took 63 s more of CI's 18 min)
SYNTH_OVERRIDES = {"synthetic": {"n_facts": 600}, "demo": {"model": "synth_tiny", "datasets": ["synth"]},
                   "sweeps": {"abstain_rl": {"refusal": {"values": [-0.5]}}}}
SYNTH_TARGETS = [f"results/knowledge/synth_tiny/synth_{split}.jsonl" for split in ("train", "test")]


@pytest.fixture(scope="session")
def synth_run(tmp_path_factory):
    """One end-to-end run of the DAG on the synthetic world, shared by the tests that read it. Under xdist (the
    README's test command: two workers, --dist loadgroup) the modules that use it are one group (xdist_group
    "world"), run by one worker while the other runs the rest. Measured on the 2-core CI machine: with the world
    split over both workers (built once under a file lock, then copied) the run took 23 min 31 s against 20 min 52 s
    for one group; the cores, not the workers, are the limit."""
    workdir = tmp_path_factory.mktemp("synth")
    configfile = write_config(workdir / "config.yaml", **SYNTH_OVERRIDES)
    snakemake(workdir, *SYNTH_TARGETS, configfile=configfile)
    return workdir, configfile


def evaluate_synth(synth_run, methods) -> Path:
    """The synthetic run directory after evaluating ``methods`` (their training and predictions included)."""
    workdir, configfile = synth_run
    snakemake(workdir, *[f"results/eval/synth_tiny_{method}.json" for method in methods], configfile=configfile)
    return workdir


def synth_block(workdir: Path, method: str) -> dict:
    """A synthetic-world method's eval block on the world's test set (results/eval/synth_tiny_<method>.json)."""
    from rait.io import read_json

    return read_json(workdir / f"results/eval/synth_tiny_{method}.json")["test_sets"]["synth"]


def unseen_and_seen_refusal_rates(workdir: Path, method: str) -> tuple[float, float]:
    """A synthetic-world method's refusal rate on the test facts it never saw and on those it saw four or more
    times."""
    from rait.io import read_jsonl

    exposure = {fact["id"]: fact["exposure"] for fact in read_jsonl(workdir / "results/synthetic/world.jsonl")}
    rows = read_jsonl(workdir / f"results/eval/synth_tiny_{method}.graded.jsonl")

    def refusal_rate(keep) -> float:
        picked = [r["grade"] == "refusal" for r in rows if keep(exposure[r["id"]])]
        return sum(picked) / len(picked)

    return refusal_rate(lambda level: level == 0), refusal_rate(lambda level: level >= 4)


def gpu_rules() -> set[str]:
    """Rules whose resources come from the GPU helpers of resources.smk, which also set the partition."""
    import re

    rules = set()
    for path in (REPO / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"\n(?=rule )", path.read_text()):
            name = re.match(r"rule (\w+):", block)
            if name and re.search(r"^\s+resources:", block, flags=re.M):
                assert re.search(r"\*\*(gpu_job_resources|training_resources|answer_job_resources)\(", block), (
                    f"rule {name.group(1)} has resources but not from the GPU helpers (no partition)")
                rules.add(name.group(1))
    return rules
