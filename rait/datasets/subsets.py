"""A question subset stratified by what a model knows: the demo's choice of questions (issue 28).

A 135M model knows about one open question in six of the embedded world set (at 10 samples, temperature 1.0 and
an Ik threshold of 0.5), so a random subset leaves Idk-SFT's data mostly refusals and the trained model refusing
everything. The papers ran where the model knew 38-59% of its questions. ``stratified_ids`` keeps a seeded sample
with a chosen share of Ik questions from a run's knowledge labels; ``tools/select_demo_subset.py`` writes it as a
dataset's ``ids`` file. It is a choice of questions, said as such: the share is the one chosen, not one measured.
"""

from __future__ import annotations

import random

from rait.errors import RaitError


def stratified_ids(labels: list[dict], size: int, ik_share: float, seed: int, where: str = "labels") -> list[str]:
    """``size`` ids of ``labels`` (knowledge records: ``id``, ``ik``), round(size * ik_share) of them Ik, drawn
    with ``seed`` from each group; sorted. Too few questions of either group is an error naming both counts."""
    if not 0.0 <= ik_share <= 1.0:
        raise RaitError(f"{where}: an Ik share of {ik_share} is not between 0 and 1")
    known = sorted(str(record["id"]) for record in labels if record["ik"])
    unknown = sorted(str(record["id"]) for record in labels if not record["ik"])
    want_known = round(size * ik_share)
    want_unknown = size - want_known
    if want_known > len(known) or want_unknown > len(unknown):
        raise RaitError(f"{where}: {size} questions at an Ik share of {ik_share} need {want_known} Ik and "
                        f"{want_unknown} others; the labels hold {len(known)} and {len(unknown)}")
    rng = random.Random(seed)
    return sorted(rng.sample(known, want_known) + rng.sample(unknown, want_unknown))
