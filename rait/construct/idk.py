"""Say-I-Dont-Know's Idk datasets.

SFT: questions the model knows (Ik) keep an answer, the others get the refusal
sentence. DPO: Idk-SFT is trained on one half of the train questions and
sampled on the other; there, for Ik questions chosen = a correct answer and
rejected = the refusal, for Idk questions chosen = the refusal and rejected =
a wrong answer.
"""

from __future__ import annotations

import logging
import random

from rait.errors import RaitError
from rait.grading import grade
from rait.prompts import render_question
from rait.records import LETTERS, is_multiple_choice

log = logging.getLogger(__name__)

DEFAULT_REFUSAL = "This question is beyond the scope of my knowledge, and I am not sure what the answer is."


def gold_answer(record: dict) -> str:
    if is_multiple_choice(record):
        letter = record["gold"]
        return f"{letter}. {record['choices'][LETTERS.index(letter)]}"
    return record["answers"][0]


def index_by_id(records: list[dict], origin: str) -> dict:
    by_id = {record["id"]: record for record in records}
    if len(by_id) != len(records):
        raise RaitError(f"{origin}: duplicate ids")
    return by_id


def grading_profile(record: dict, options: dict) -> str:
    """The option ``grading_profile``: one profile, or one per training dataset (``{dataset: profile}``, the
    question records then carry their ``dataset``, as the workflow's build_train_data tags them)."""
    profile = options.get("grading_profile", "rait")
    if isinstance(profile, dict):
        if record.get("dataset") not in profile:
            raise RaitError(f"question {record['id']!r}: no grading profile for its dataset {record.get('dataset')!r}")
        return profile[record["dataset"]]
    return profile


def graded_samples(record: dict, sampled: dict | None, options: dict) -> dict[str, list[str]]:
    """The record's samples grouped by grade (distinct texts, sample order kept)."""
    groups: dict[str, list[str]] = {}
    profile = grading_profile(record, options)
    for text in (sampled or {}).get("samples", []):
        kind = grade(record, text, exact=options.get("exact_match", False), refusals=options.get("refusals", ()),
                     profile=profile)
        if text.strip() and text not in groups.setdefault(kind, []):
            groups[kind].append(text)
    return groups


def check_both_kinds(records: list[dict], what: str) -> None:
    kinds = {record["kind"] for record in records}
    if kinds != {"answer", "refusal"}:
        only = "no questions" if not kinds else f"only {kinds.pop()} examples"
        raise RaitError(
            f"{what}: {only}; refusal-aware data needs both known and unknown questions "
            "(check knowledge.threshold and the train split's knowledge labels)"
        )


def label_of(labels: dict, record: dict) -> dict:
    """A train question's knowledge label (``labels`` by id); a question without one is an error."""
    if record["id"] not in labels:
        raise RaitError(f"knowledge labels miss question {record['id']!r}")
    return labels[record["id"]]


def sft_target(record: dict, ik: bool, sampled: dict | None, options: dict, rng: random.Random) -> tuple[str, str]:
    """(target, kind) of an Idk-SFT example: a known question keeps a random correct sample (or the gold answer,
    ``ik_target: gold``, or when no sample is correct), an unknown one gets the refusal sentence."""
    if not ik:
        return options.get("refusal", DEFAULT_REFUSAL), "refusal"
    target = gold_answer(record)
    if options.get("ik_target", "sample") == "sample":
        correct = graded_samples(record, sampled, options).get("correct", [])
        target = rng.choice(correct) if correct else target
    return target, "answer"


def build_sft(inputs: dict, options: dict) -> list[dict]:
    """Idk-SFT examples: {id, question, prompt, target, kind}."""
    rng = random.Random(options.get("seed", 0))
    samples = index_by_id(inputs.get("samples", []), "samples")
    labels = index_by_id(inputs["knowledge"], "knowledge")
    keep = options.get("ids")
    examples = []
    for record in inputs["questions"]:
        if keep is not None and record["id"] not in keep:
            continue
        target, kind = sft_target(record, label_of(labels, record)["ik"], samples.get(record["id"]), options, rng)
        examples.append(
            {
                "id": record["id"],
                "question": record["question"],
                "prompt": render_question(record, options["templates"]),
                "target": target,
                "kind": kind,
            }
        )
    check_both_kinds(examples, options.get("origin", "Idk dataset"))
    return examples


def split_halves(ids: list, seed: int) -> tuple[set, set]:
    """Two disjoint halves of ``ids``, the same for the same seed and ids."""
    shuffled = sorted(ids, key=str)
    random.Random(seed).shuffle(shuffled)
    middle = len(shuffled) // 2
    return set(shuffled[:middle]), set(shuffled[middle:])


def build_sft_half(inputs: dict, options: dict) -> list[dict]:
    """Idk-SFT examples for one half of the train questions (``split_halves`` with the seed): Say-I-Dont-Know's
    DPO warm-up. The model trained on them samples the other half (the questions this set leaves out)."""
    warmup, _ = split_halves([record["id"] for record in inputs["questions"]], options.get("seed", 0))
    return build_sft(inputs, {**options, "ids": warmup})


def build_dpo_pairs(inputs: dict, options: dict) -> list[dict]:
    """Preference pairs on the questions the half-trained SFT model was sampled on.

    Answers come from that model's samples, falling back to the base model's;
    a question with no usable answer of the needed kind is dropped (counted in the log).
    """
    rng = random.Random(options.get("seed", 0))
    refusal = options.get("refusal", DEFAULT_REFUSAL)
    labels = index_by_id(inputs["knowledge"], "knowledge")
    policy = index_by_id(inputs["policy_samples"], "policy samples")
    base = index_by_id(inputs.get("samples", []), "samples")
    pairs, dropped, identical = [], 0, 0
    for record in inputs["questions"]:
        if record["id"] not in policy:
            continue
        wanted = "correct" if labels[record["id"]]["ik"] else "wrong"
        candidates = graded_samples(record, policy[record["id"]], options).get(wanted) or graded_samples(
            record, base.get(record["id"]), options
        ).get(wanted)
        if not candidates:
            dropped += 1
            continue
        answer = rng.choice(candidates)
        chosen, rejected, kind = (answer, refusal, "answer") if wanted == "correct" else (refusal, answer, "refusal")
        if chosen.strip() == rejected.strip():  # nothing to prefer: a pair that teaches nothing
            identical += 1
            continue
        pairs.append(
            {
                "id": record["id"],
                "question": record["question"],
                "prompt": render_question(record, options["templates"]),
                "chosen": chosen,
                "rejected": rejected,
                "kind": kind,
            }
        )
    log.info("DPO pairs: %d built, %d questions dropped (no answer of the needed kind), %d skipped (chosen and "
             "rejected the same text)", len(pairs), dropped, identical)
    check_both_kinds(pairs, options.get("origin", "DPO pairs"))
    return pairs


def build_prompts(inputs: dict, options: dict) -> list[dict]:
    """Every train question's prompt, for on-policy RL (Idk-PPO samples its own answers): {id, question, prompt,
    kind "prompt"}."""
    return [{"id": record["id"], "question": record["question"],
             "prompt": render_question(record, options["templates"]), "kind": "prompt"}
            for record in inputs["questions"]]
