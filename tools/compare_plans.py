"""Whether two dry runs plan the same jobs: `snakemake -n` output of two checkouts, compared job by job.

Snakemake numbers jobs and orders them, their reasons and their input lists from sets, so two dry runs of the
same plan differ as text. This compares what a job is: its rule, inputs and resources (as sets), outputs, log,
benchmark, wildcards and command. Used to show that a change of the plan's code left the plan alone:

    snakemake -n --profile slurm TARGETS > before.txt   # at the old commit
    snakemake -n --profile slurm TARGETS > after.txt    # at the new one
    python tools/compare_plans.py before.txt after.txt [--strip /old/dir /new/dir]

Exit 0 and the job count when the plans are the same; 1 and the jobs that differ otherwise.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

_STATS = re.compile(r"^(job +count|-+ +-+|\S+ +\d+)$")
_VOLATILE = re.compile(r"^\s+(jobid|reason):|^\[\w{3} \w{3} +\d+ [\d:]+ \d{4}\]$")  # and the timestamps
_JOB_START = re.compile(r"^(local)?(rule|checkpoint) \w+:")
_SET_ORDERED = re.compile(r"^\s+(input|resources): ")


def planned_jobs(text: str, strip: str = "") -> Counter:
    """Each job of a dry run's output as normalised text (a multiset: a plan may repeat a job's text only by
    mistake, and that should count)."""
    if strip:
        text = text.replace(strip, "<DIR>")
    text = re.split(r"\nReasons:", text)[0]  # the closing summary of why jobs run
    jobs, current = [], None
    for line in text.splitlines():
        if _JOB_START.match(line):
            current = [line]
            jobs.append(current)
        elif not line.strip():
            current = None  # a job's block ends at a blank line
        elif current is None or line.startswith(("Would remove", "Job stats:")) or _STATS.match(line) \
                or _VOLATILE.match(line):
            continue
        elif _SET_ORDERED.match(line):
            head, items = line.split(": ", 1)
            current.append(f"{head}: " + ", ".join(sorted(items.split(", "))))
        else:
            current.append(line)
    return Counter("\n".join(job) for job in jobs)


def compare(before: str, after: str, strip_before: str = "", strip_after: str = "") -> tuple[int, list[str]]:
    old, new = planned_jobs(before, strip_before), planned_jobs(after, strip_after)
    differ = [f"only before:\n{job}" for job in sorted((old - new).elements())]
    differ += [f"only after:\n{job}" for job in sorted((new - old).elements())]
    return sum(old.values()), differ


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--strip", nargs=2, metavar=("BEFORE_DIR", "AFTER_DIR"), default=("", ""),
                        help="directories (checkout, working directory) that differ between the runs")
    args = parser.parse_args(argv)
    count, differ = compare(args.before.read_text(), args.after.read_text(), *args.strip)
    if differ:
        print("\n\n".join(differ))
        print(f"{len(differ)} job(s) differ", file=sys.stderr)
        return 1
    print(f"the same {count} jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
