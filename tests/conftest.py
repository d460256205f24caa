"""Shared fixtures: configs derived from the shipped one, and Snakemake runs in scratch directories."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


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


def snakemake(workdir: Path, *args: str, configfile: Path | None = None, check: bool = True, timeout: int = 1800):
    """Run the repo's workflow with ``workdir`` as working directory; returns the CompletedProcess."""
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "-d", str(workdir), "-c", "2"]
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
SYNTH_OVERRIDES = {"synthetic": {"n_facts": 600}, "demo": {"model": "synth_tiny", "datasets": ["synth"]}}
SYNTH_TARGETS = [f"results/knowledge/synth_tiny/synth_{split}.jsonl" for split in ("train", "test")]


@pytest.fixture(scope="session")
def synth_run(tmp_path_factory):
    """One end-to-end run of the DAG on the synthetic world (world, pretrained model, samples and knowledge labels),
    shared by the tests that read it.

    Under xdist (the README's test command: two workers, --dist loadgroup) the modules that use it form two groups,
    each run by one worker in its own copy: "world" (the methods, whose every-method test reads what the others
    evaluated) and "world_b" (plans, sharding, the extension test). The first worker to need it builds it once, under
    a file lock, in the session's shared folder, and each copies it with its Snakemake records, so the model is
    pretrained once, not once per worker on the same two cores."""
    workdir = tmp_path_factory.mktemp("synth")
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        build_synth(workdir)
    else:
        from filelock import FileLock

        shared = tmp_path_factory.getbasetemp().parent  # the session's folder, common to its workers
        base = shared / "synth_base"
        with FileLock(str(shared / "synth_base.lock")):
            if not (shared / "synth_base.built").exists():
                build_synth(base)
                (shared / "synth_base.built").touch()
        shutil.copytree(base, workdir, symlinks=True, dirs_exist_ok=True)  # copy2: modification times kept
    return workdir, workdir / "config.yaml"


def build_synth(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    configfile = write_config(workdir / "config.yaml", **SYNTH_OVERRIDES)
    snakemake(workdir, *SYNTH_TARGETS, configfile=configfile)


def evaluate_synth(synth_run, methods) -> Path:
    """The synthetic run directory after evaluating ``methods`` (their training and predictions included)."""
    workdir, configfile = synth_run
    snakemake(workdir, *[f"results/eval/synth_tiny_{method}.json" for method in methods], configfile=configfile)
    return workdir
