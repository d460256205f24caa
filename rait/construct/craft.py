"""CRaFT's refusal-aware data (Zhu et al., AAAI-25) and its baselines.

Inputs: ``questions`` (train split records) and ``scores`` (per question id:
``correctness`` and ``certainty``, plus ``flow`` after rehearsal). Questions are
selected per kind, open and multiple choice, with the counts of that kind.

Open questions (CRaFT on TriviaQA): vanilla = correctness >= ``correct``,
highest certainty first, gold answer as target; idk = correctness <= ``wrong``
and flow <= 0, lowest certainty first, refusal as target. (The issue wrote
flow < 0; a question the model never answers right has correctness 0 and
cannot flow down, so that rule would never teach refusal on the questions the
model knows least. What the flow reveals is the questions rehearsal moves up:
those are dropped, as on multiple choice.)
Multiple choice (CRaFT on MMLU): learn (vanilla) when correctness >= ``learn``;
otherwise drop when flow > 0, else idk; vanilla by highest certainty (lowest
entropy), idk by lowest; short lists are upsampled with replacement.

Variants drop a signal: ``craft_noflow`` (no flow filter, no rehearsal needed),
``craft_nocer`` (flow, random order instead of certainty), ``cor_rait``
(correctness only, random order), ``van_tuning`` (a random sample with gold
targets, no refusals). Ties in certainty fall back to the question id, so the
selection does not depend on file order.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass

from rait.construct.idk import check_both_kinds, gold_answer, graded_samples, index_by_id
from rait.errors import RaitError
from rait.prompts import render_question
from rait.records import question_kind

log = logging.getLogger(__name__)

KINDS = ("open", "mc")


@dataclass(frozen=True)
class Variant:
    certainty: bool  # order candidates by certainty (else a seeded shuffle)
    flow: bool  # filter refusals by the knowledge flow


VARIANTS = {
    "craft": Variant(certainty=True, flow=True),
    "craft_noflow": Variant(certainty=True, flow=False),
    "craft_nocer": Variant(certainty=False, flow=True),
    "cor_rait": Variant(certainty=False, flow=False),
}


def question_score(scores: dict, record: dict, field: str):
    row = scores.get(record["id"])
    if row is None:
        raise RaitError(f"no scores for question {record['id']!r} (certainty or flow file)")
    if field not in row:
        raise RaitError(f"scores of question {record['id']!r} have no {field!r}")
    return row[field]


def partition(records: list[dict], scores: dict, kind: str, rules: dict, use_flow: bool) -> tuple[list, list]:
    """(vanilla, idk) candidates of one kind, before ordering."""
    vanilla, idk = [], []
    for record in records:
        correctness = question_score(scores, record, "correctness")
        flow = question_score(scores, record, "flow") if use_flow else None
        if kind == "open":
            if correctness >= rules["correct"]:
                vanilla.append(record)
            elif correctness <= rules["wrong"] and (flow is None or flow <= 0):
                idk.append(record)
        elif correctness >= rules["learn"]:
            vanilla.append(record)
        elif flow is None or flow <= 0:
            idk.append(record)
    return vanilla, idk


def order(records: list[dict], scores: dict, *, by_certainty: bool, highest_first: bool, rng: random.Random) -> list:
    ranked = sorted(records, key=lambda r: str(r["id"]))  # file order never decides
    if by_certainty:
        return sorted(ranked, key=lambda r: question_score(scores, r, "certainty"), reverse=highest_first)
    rng.shuffle(ranked)
    return ranked


def take(ranked: list[dict], count: int, *, upsample: bool, rng: random.Random, what: str) -> list[dict]:
    """The first ``count``; when short, all of them, plus draws with replacement if ``upsample``."""
    if len(ranked) >= count:
        return ranked[:count]
    if upsample and ranked:
        extra = [rng.choice(ranked) for _ in range(count - len(ranked))]
        log.info("%s: %d candidates for %d; upsampled with replacement", what, len(ranked), count)
        return ranked + extra
    log.info("%s: %d candidates for %d; using all of them", what, len(ranked), count)
    return list(ranked)


def example(record: dict, options: dict, target: str, kind: str, scores: dict | None = None) -> dict:
    row = {
        "id": record["id"],
        "question": record["question"],
        "prompt": render_question(record, options["templates"]),
        "target": target,
        "kind": kind,
    }
    if scores is not None and record["id"] in scores:
        row.update({k: scores[record["id"]][k] for k in ("correctness", "certainty", "flow") if k in scores[record["id"]]})
    return row


def by_kind(questions: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for record in questions:
        groups[question_kind(record)].append(record)
    return {kind: records for kind, records in groups.items() if records}


def select(inputs: dict, options: dict, variant: Variant) -> list[dict]:
    """CRaFT-style selection with the given signals; see the module docstring."""
    rng = random.Random(options.get("seed", 0))
    scores = index_by_id(inputs["scores"], "scores")
    refusal = options["refusal"]
    origin = options.get("origin", "CRaFT data")
    examples = []
    for kind, records in by_kind(inputs["questions"]).items():
        rules = options["selection"][kind]
        vanilla, idk = partition(records, scores, kind, rules, variant.flow)
        if not idk:
            raise RaitError(
                f"{origin}: no idk candidate among {len(records)} {kind} questions "
                f"(config keys craft.selection.{kind}); a refusal-aware set needs some"
            )
        upsample = rules.get("upsample", False)
        vanilla = take(order(vanilla, scores, by_certainty=variant.certainty, highest_first=True, rng=rng),
                       rules["vanilla"], upsample=upsample, rng=rng, what=f"{origin} {kind} vanilla")
        idk = take(order(idk, scores, by_certainty=variant.certainty, highest_first=False, rng=rng),
                   rules["idk"], upsample=upsample, rng=rng, what=f"{origin} {kind} idk")
        examples += [example(r, options, gold_answer(r), "answer", scores) for r in vanilla]
        examples += [example(r, options, refusal, "refusal", scores) for r in idk]
    check_both_kinds(examples, origin)
    log.info("%s: %s", origin, dict(Counter(e["kind"] for e in examples)))
    return examples


def builder(variant: Variant):
    return lambda inputs, options: select(inputs, options, variant)


def build_van_tuning(inputs: dict, options: dict) -> list[dict]:
    """Vanilla tuning: a random sample of vanilla + idk count questions per kind, gold targets."""
    rng = random.Random(options.get("seed", 0))
    examples = []
    for kind, records in by_kind(inputs["questions"]).items():
        rules = options["selection"][kind]
        pool = sorted(records, key=lambda r: str(r["id"]))
        rng.shuffle(pool)
        chosen = take(pool, rules["vanilla"] + rules["idk"], upsample=rules.get("upsample", False), rng=rng,
                      what=f"van_tuning {kind}")
        examples += [example(r, options, gold_answer(r), "answer") for r in chosen]
    if not examples:
        raise RaitError(f"{options.get('origin', 'van_tuning data')}: no questions")
    return examples


def most_frequent_correct(record: dict, sampled: dict | None, options: dict) -> str:
    """The model's own most frequent correct answer (first seen wins a tie), else the gold answer."""
    texts = [t for t in (sampled or {}).get("samples", []) if t.strip()]
    correct = set(graded_samples(record, sampled, options).get("correct", []))
    counts = Counter(t for t in texts if t in correct)
    return counts.most_common(1)[0][0] if counts else gold_answer(record)


def build_rehearsal(inputs: dict, options: dict) -> list[dict]:
    """Questions known with near certainty, answered with the model's own words.

    A seeded random sample of ``count`` among the candidates; with fewer
    candidates, ``on_short`` says whether to use them all (logged) or stop.
    """
    rules = options["rehearsal"]
    origin = options.get("origin", "rehearsal data")
    scores = index_by_id(inputs["scores"], "scores")
    samples = index_by_id(inputs.get("samples", []), "samples")
    candidates = [
        r for r in sorted(inputs["questions"], key=lambda r: str(r["id"]))
        if question_score(scores, r, "correctness") >= rules["correctness"]
        and question_score(scores, r, "certainty") >= rules["certainty"]
    ]
    count = rules["count"]
    if not candidates:
        raise RaitError(
            f"{origin}: no question reaches correctness >= {rules['correctness']} and certainty >= "
            f"{rules['certainty']} (config keys craft.rehearsal.correctness, craft.rehearsal.certainty)"
        )
    if len(candidates) < count:
        if rules.get("on_short", "use") == "error":
            raise RaitError(f"{origin}: {len(candidates)} rehearsal candidates, {count} asked (craft.rehearsal.count)")
        log.warning("%s: %d rehearsal candidates, %d asked; using %d", origin, len(candidates), count, len(candidates))
    chosen = random.Random(rules.get("seed", 0)).sample(candidates, min(count, len(candidates)))
    return [example(r, options, most_frequent_correct(r, samples.get(r["id"]), options), "answer", scores) for r in chosen]
