"""Whether a change of the workflow's code changes what any job is given: its params, inputs or command.

A dry run shows no params (a script rule's options, a training set's builder options, an evaluation's provenance),
and comparing two runs' results takes hours. Snakemake records each job's params, inputs and command when the job
finishes, and reruns a job whose record differs; `--touch` records them without running anything. So:

    python tools/compare_params.py record OLD_CHECKOUT WORKDIR CONFIG TARGET...  # made-up outputs, touched
    python tools/compare_params.py check  NEW_CHECKOUT WORKDIR CONFIG TARGET...  # a dry run: what would rerun

``record`` plans TARGET with the old checkout's workflow, creates each planned output empty (a folder for a name
without a suffix) and touches every job, which records its params. ``check`` dry-runs the new checkout's workflow
in the same WORKDIR and exits 0 when nothing would run, 1 with the jobs and Snakemake's reasons otherwise. Use the
same checkout path for both (apply the change in place between the two): a param that holds the checkout's path
would otherwise differ. GPU counts are not checked here (RAIT_CPU_FALLBACK=1): no job runs.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".md", ".tsv", ".txt", ".svg")


def snakemake(checkout: Path, workdir: Path, config: Path, targets: list[str], *args: str):
    command = [sys.executable, "-m", "snakemake", "-s", str(checkout / "workflow" / "Snakefile"), "-d", str(workdir),
               "-c", "1", *args, *targets, "--configfile", str(config)]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, "RAIT_CPU_FALLBACK": "1"})


def planned_outputs(dry_run: str) -> list[str]:
    return [path for line in re.findall(r"^\s+output: (.*)$", dry_run, flags=re.M) for path in line.split(", ")]


def record(checkout: Path, workdir: Path, config: Path, targets: list[str]) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    dry = snakemake(checkout, workdir, config, targets, "-n")
    if dry.returncode:
        print(dry.stdout[-3000:], dry.stderr[-3000:], sep="\n", file=sys.stderr)
        return 1
    outputs = planned_outputs(dry.stdout)
    for output in outputs:
        path = workdir / output
        if path.suffix in FILE_SUFFIXES:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        else:  # a checkpoint, a model, a report folder
            path.mkdir(parents=True, exist_ok=True)
    touched = snakemake(checkout, workdir, config, targets, "--touch", "--forceall")
    if touched.returncode:
        print(touched.stderr[-3000:], file=sys.stderr)
        return 1
    print(f"recorded {len(outputs)} outputs' params, inputs and commands in {workdir}")
    return 0


def check(checkout: Path, workdir: Path, config: Path, targets: list[str]) -> int:
    dry = snakemake(checkout, workdir, config, targets, "-n")
    if dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr:
        print("nothing would rerun: every job's params, inputs and command are as recorded")
        return 0
    print(dry.stdout[-6000:], dry.stderr[-3000:], sep="\n")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("record", "check"))
    parser.add_argument("checkout", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("config", type=Path)
    parser.add_argument("targets", nargs="+")
    args = parser.parse_args(argv)
    run = record if args.mode == "record" else check
    return run(args.checkout.resolve(), args.workdir.resolve(), args.config.resolve(), args.targets)


if __name__ == "__main__":
    sys.exit(main())
