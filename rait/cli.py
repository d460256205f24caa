"""The ``rait`` console command.

    rait score PREDICTIONS.jsonl [--questions FILE] [--profile P] [--refusal SENTENCE ...] [--exact]
               [--resamples N] [--seed S] [--output FILE]

PREDICTIONS.jsonl is self-contained: each line is a question record
(rait.records: ``answers``, or ``choices`` + ``gold``; ``subject``) plus the
answer as the workflow's prediction files have it (``answer``, optional
``confidence`` in [0, 1]) and optionally ``ik``, ``base_answer`` and a judge's
``judge`` / ``base_judge`` verdicts (accept, reject, unparsed). With
``--questions`` the gold answers come from that file instead, joined by id, and
each line needs only ``id`` and ``answer`` (a workflow prediction file works as
it is). The output is the block the workflow's eval file has for a test set,
built by the same code (``rait.evaluation``): metrics, bootstrap intervals and
differences from the base model. Bad input is reported as one line naming the
file and line (or ids), exit status 65 (EX_DATAERR, as the workflow's jobs), and
no output file is written.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from collections.abc import Callable, Sequence

from rait.errors import BAD_INPUT_EXIT, RaitError, where
from rait.evaluation import check_scored_prediction, score_predictions
from rait.io import iter_jsonl, write_json
from rait.profiles import PROFILES
from rait.records import check_record, is_multiple_choice
from rait.risk import PENALTY_TARGETS, check_targets
from rait.intervals import DEFAULTS as BOOTSTRAP


def _read_checked(path: str, check: Callable[[dict, str], dict]) -> list[dict]:
    """Every record of ``path``, each checked with its file:line as origin.

    Line-level checks happen here rather than in rait.metrics because only the
    reader knows line numbers; a duplicate id names both of its lines.
    """
    if not Path(path).is_file():
        raise RaitError(f"{path}: {'not a file' if Path(path).exists() else 'no such file'}")
    records, first_line = [], {}
    try:
        numbered = list(iter_jsonl(path))
    except UnicodeDecodeError as err:
        raise RaitError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    for number, record in numbered:
        origin = where(path, number)
        check(record, origin)
        if isinstance(record["id"], bool) or not isinstance(record["id"], (str, int)):
            raise RaitError(f"{origin}: id must be text or an integer, got {record['id']!r}")
        if record["id"] in first_line:
            raise RaitError(f"{origin}: duplicate id {record['id']!r} (first on line {first_line[record['id']]})")
        first_line[record["id"]] = number
        records.append(record)
    if not records:
        raise RaitError(f"{path}: empty file, expected at least one record")
    return records


def _check_question(record: dict, origin: str) -> dict:
    # rait.records.check_record tests ``gold in LETTERS[:n]`` as a substring, so
    # a missing gold raises TypeError and "" or "AB" pass; require one letter first.
    gold = record.get("gold")
    if is_multiple_choice(record) and not (isinstance(gold, str) and len(gold) == 1):
        raise RaitError(f"{origin}: gold {gold!r} is not a single choice letter")
    return check_record(record, origin)


def _check_self_contained(record: dict, origin: str) -> dict:
    return check_scored_prediction(_check_question(record, origin), origin)


def _score(args: argparse.Namespace) -> int:
    if args.questions:
        questions = _read_checked(args.questions, _check_question)
        predictions = _read_checked(args.predictions, check_scored_prediction)
    else:
        questions = predictions = _read_checked(args.predictions, _check_self_contained)
    bootstrap = {"resamples": args.resamples, "level": args.level, "seed": args.seed}
    targets = check_targets(args.penalty_target or PENALTY_TARGETS, "--penalty-target")
    metrics = score_predictions(questions, predictions, refusals=args.refusal, exact=args.exact,
                                profile=args.profile, bootstrap=bootstrap, penalty_targets=targets,
                                origin=args.predictions)
    if args.output:
        # Atomic: an interrupted write never leaves a half file that looks finished.
        write_json(args.output, metrics)
    else:
        json.dump(metrics, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rait", description="Refusal-aware instruction tuning tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    score = commands.add_parser(
        "score",
        help="grade predictions and print the test-set metrics as JSON",
        description="Grade each line's answer (and base_answer) and report what the workflow's evaluation reports "
        "for a test set: accuracy, refusal and wrong rates, Say-I-Dont-Know's knowledge quadrants (needs ik), "
        "CRaFT's THS and Alignment for Honesty's metrics (need base_answer), the confidence metrics (need "
        "confidence), each with its bootstrap interval. Metrics whose inputs are missing are null.",
    )
    score.add_argument("predictions", metavar="PREDICTIONS.jsonl", help="one JSON object a line: question fields, answer, optional confidence, ik, base_answer, judge, base_judge")
    score.add_argument("--questions", metavar="FILE", help="question records (JSONL) to take the gold answers from, joined by id")
    score.add_argument("--refusal", metavar="SENTENCE", action="append", default=[], help="an extra refusal sentence (repeatable), on top of the built-in ones")
    score.add_argument("--exact", action="store_true", help="open questions: the normalized answer must equal an alias, not merely contain one")
    score.add_argument("--profile", default="rait", choices=list(PROFILES),
                       help="grade as rait does (default) or as a paper's code does: sidk, craft, honesty")
    score.add_argument("--resamples", type=int, default=BOOTSTRAP["resamples"],
                       help=f"bootstrap resamples for the intervals (default {BOOTSTRAP['resamples']}, as the workflow)")
    score.add_argument("--level", type=float, default=BOOTSTRAP["level"], help="the intervals' confidence level")
    score.add_argument("--seed", type=int, default=BOOTSTRAP["seed"], help="the bootstrap's seed")
    score.add_argument("--penalty-target", metavar="T", type=float, action="append",
                       help="a confidence target of the penalty scores, strictly between 0 and 1 (repeatable; "
                       f"default {', '.join(map(str, PENALTY_TARGETS))}, as the workflow's grading.penalty_targets)")
    score.add_argument("--output", metavar="FILE", help="write the JSON here (atomically) instead of to stdout")
    score.set_defaults(run=_score)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # warnings of the graders (a paper's quirk met) go to stderr beside the result
    logging.basicConfig(level=logging.WARNING, format=f"rait {args.command}: %(levelname)s: %(message)s")
    try:
        return args.run(args)
    except RaitError as err:
        print(f"rait {args.command}: {err}", file=sys.stderr)
        return BAD_INPUT_EXIT
    except OSError as err:
        # Unreadable input or unwritable output: the OS message names the path.
        print(f"rait {args.command}: {err}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
