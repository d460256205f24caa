"""Compare two versions of the workflow: their plans, or what their runs produced. For refactors that must
keep behaviour: same jobs with the same resources, byte-identical training data, equal metrics.

    python tools/compare_runs.py plans OLD_DRYRUN.txt NEW_DRYRUN.txt [--rename OLD=NEW ...] [--ignore PATH ...]
    python tools/compare_runs.py results OLD_WORKDIR NEW_WORKDIR [--rename OLD=NEW ...]

``plans`` reads the output of ``snakemake -n`` (with ``--profile slurm`` to see the resources) and lists every
job as (rule, outputs, resources); ``results`` compares every training set byte for byte and every eval file's
metrics. ``--rename`` maps an old rule name or path fragment to its new one before comparing, ``--ignore``
leaves out of a job's outputs those ending with PATH (an output one side adds or drops); both repeatable.
Exit status 0 when they agree, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

IGNORED_RESOURCES = {"tmpdir"}


def _renamed(text: str, renames: list[tuple[str, str]]) -> str:
    for old, new in renames:  # a bare name as a whole word; a path fragment wherever it occurs
        text = re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", new, text) if re.fullmatch(r"\w+", old) else text.replace(old, new)
    return text


def plan_jobs(path: Path, renames: list[tuple[str, str]], ignored: tuple[str, ...] = ()) -> dict[tuple, dict]:
    """(rule, outputs) -> resources, from a dry run's job blocks."""
    jobs: dict[tuple, dict] = {}
    for block in re.split(r"\n(?:localrule|rule) ", path.read_text())[1:]:
        rule = _renamed(block.split(":", 1)[0].strip(), renames)
        if rule == "all":
            continue
        outputs = re.search(r"^\s+output: (.*)$", block, flags=re.M)
        resources = re.search(r"^\s+resources: (.*)$", block, flags=re.M)
        outs = [_renamed(o.strip(), renames) for o in outputs.group(1).split(",")] if outputs else []
        outs = tuple(sorted(o for o in outs if not o.endswith(ignored)))
        res = {}
        if resources:
            for item in resources.group(1).split(", "):
                key, _, value = item.partition("=")
                if key not in IGNORED_RESOURCES:
                    res[key] = value
        jobs[(rule, outs)] = res
    return jobs


def compare_plans(old: Path, new: Path, renames, ignored=()) -> bool:
    before, after = plan_jobs(old, renames, ignored), plan_jobs(new, renames, ignored)
    same = True
    for key in sorted(set(before) | set(after)):
        if key not in after or key not in before:
            print(f"{'only before' if key in before else 'only after '}: {key[0]} {', '.join(key[1])}")
            same = False
        elif before[key] != after[key]:
            print(f"resources differ: {key[0]} {', '.join(key[1])}\n  before {before[key]}\n  after  {after[key]}")
            same = False
    print(f"{len(before)} jobs before, {len(after)} after: {'the same jobs with the same resources' if same else 'DIFFERENT'}")
    return same


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def compare_results(old: Path, new: Path, renames, ignored=()) -> bool:
    same = True
    old_data = {_renamed(p.name, renames): p for p in (old / "results/train_data").glob("*.jsonl")}
    new_data = {p.name: p for p in (new / "results/train_data").glob("*.jsonl")}
    for name in sorted(set(old_data) | set(new_data)):
        if name not in old_data or name not in new_data:
            print(f"training set {name}: only {'before' if name in old_data else 'after'}")
            continue
        equal = old_data[name].read_bytes() == new_data[name].read_bytes()
        same &= equal
        lines = sum(1 for _ in new_data[name].open())
        print(f"training set {name}: {lines} examples, sha256 {_digest(new_data[name])} "
              f"{'byte-identical' if equal else 'DIFFERS from ' + _digest(old_data[name])}")
    for path in sorted((old / "results/eval").glob("*.json")):
        other = new / "results/eval" / _renamed(path.name, renames)
        if not other.exists():
            print(f"eval {path.name}: missing after")
            same = False
            continue
        before, after = json.loads(path.read_text())["test_sets"], json.loads(other.read_text())["test_sets"]
        equal = before == after
        same &= equal
        summary = {name: {k: round(v, 4) for k, v in metrics.items() if k in ("n", "accuracy", "refusal_rate", "truthful")}
                   for name, metrics in after.items()}
        print(f"eval {path.name}: metrics {'equal' if equal else 'DIFFER'} {summary}")
        if not equal:
            for name in before:
                diff = {k: (before[name].get(k), after.get(name, {}).get(k)) for k in before[name]
                        if before[name].get(k) != after.get(name, {}).get(k)}
                print(f"  {name}: {diff}")
    return same


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("plans", "results"))
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--rename", action="append", default=[], metavar="OLD=NEW")
    parser.add_argument("--ignore", action="append", default=[], metavar="PATH")
    args = parser.parse_args(argv)
    renames = [tuple(item.split("=", 1)) for item in args.rename]
    compare = compare_plans if args.what == "plans" else compare_results
    return 0 if compare(args.old, args.new, renames, tuple(args.ignore)) else 1


if __name__ == "__main__":
    sys.exit(main())
