"""Per-question knowledge labels from graded samples.

correctness = share of the n samples graded correct; the question is "I know"
(Ik) when correctness >= threshold (Say-I-Dont-Know released 1.0 for
Llama-2-7b-chat: every sample must be right).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rait.errors import RaitError
from rait.grading import GRADES, grade
from rait.profiles import log_quirks


def check_threshold(threshold: float) -> float:
    if not 0.0 <= threshold <= 1.0:
        raise RaitError(f"knowledge.threshold must lie in [0, 1], got {threshold}")
    return threshold


def label_question(record: dict, sampled: dict, threshold: float, *, exact: bool = False, refusals: Sequence[str] = (),
                   profile: str = "rait") -> dict:
    samples = sampled["samples"]
    if not samples:
        raise RaitError(f"question {record['id']!r} has no samples; knowledge labels need n >= 1")
    grades = [grade(record, text, exact=exact, refusals=refusals, profile=profile) for text in samples]
    counts = Counter(grades)
    correctness = counts["correct"] / len(grades)
    greedy_grade = grade(record, sampled["greedy"], exact=exact, refusals=refusals, profile=profile)
    return {
        "id": record["id"],
        "correctness": correctness,
        "greedy_correct": greedy_grade == "correct",
        "greedy_grade": greedy_grade,
        "ik": correctness >= threshold,
        "n_samples": len(grades),
        **{f"n_{name}": counts[name] for name in GRADES},
        "grades": grades,
    }


def label_split(records: list[dict], samples: list[dict], threshold: float, *, samples_origin: str = "samples", **grading) -> list[dict]:
    """Join samples to questions by id (never by row order) and label each question."""
    check_threshold(threshold)
    by_id = {}
    for sampled in samples:
        if sampled["id"] in by_id:  # two shards or runs written into one file: which would be labelled?
            raise RaitError(f"{samples_origin}: question id {sampled['id']!r} is sampled twice")
        by_id[sampled["id"]] = sampled
    missing = [record["id"] for record in records if record["id"] not in by_id]
    if missing:
        preview = ", ".join(map(str, missing[:5]))
        raise RaitError(f"{samples_origin}: no samples for {len(missing)} question id(s): {preview}")
    log_quirks(records, grading.get("profile", "rait"), samples_origin)
    return [label_question(record, by_id[record["id"]], threshold, **grading) for record in records]


def summarize(labels: list[dict]) -> dict:
    n = len(labels)
    return {
        "n": n,
        "ik_share": sum(label["ik"] for label in labels) / n if n else 0.0,
        "greedy_accuracy": sum(label["greedy_correct"] for label in labels) / n if n else 0.0,
        "mean_correctness": sum(label["correctness"] for label in labels) / n if n else 0.0,
    }
