"""CUT's training set for refusal-aware tuning: Idk-SFT's examples plus the base model's wrong answers, each with
a judgment of what was wrong (``rait.training.cut`` learns from both).

CUT (github.com/wwxu21/CUT) learns from responses with a judgment written by a person or a model. Here the
judgments come from the gold answer and the knowledge labels, by two templates: a wrong answer to a question the
model knows (Ik) contradicts the gold answer; a wrong answer to one it does not know (Idk) is a guess where it
should have said it does not know. The examples without a judgment (Ik: a correct answer; Idk: the refusal) are
Idk-SFT's; ``finetune_unlikelihood.py`` keeps ``int(n_judged * downsample)`` of them, drawn at random, when that
is fewer than there are (``--downsample 0.25`` in their ``fine-tuning-unlike.sh``; -1 keeps all). rait keeps all
by default (``methods.cut.data.downsample: -1``): CUT's unjudged examples were plentiful instruction-following
answers, here they are the refusals the method is meant to teach (config/README.md gives the measurement).
"""

from __future__ import annotations

import logging
import random

from rait.construct.idk import gold_answer, graded_samples, index_by_id, label_of, sft_target
from rait.errors import RaitError
from rait.prompts import check_fields, render_question

log = logging.getLogger(__name__)

DEFAULT_JUDGMENTS = {
    "known": "The answer is wrong: it contradicts the correct answer, {gold}.",
    "unknown": "The answer is wrong: it is a guess, and the assistant does not know the answer to this question; "
               "it should have said that it does not know.",
}


def check_judgment(template: str, key: str) -> str:
    """A judgment template: its one field is {gold} (``methods.cut.data.judgments.<known|unknown>``)."""
    return check_fields(template, ("gold",), (), key)


def judgment(template: str, record: dict, key: str) -> str:
    return check_judgment(template, f"methods.cut.data.judgments.{key}").format(gold=gold_answer(record))


def build_cut(inputs: dict, options: dict) -> list[dict]:
    """{id, question, prompt, target, kind, judgment}: kind ``answer``/``refusal`` (judgment None) or ``judged``."""
    rng = random.Random(options.get("seed", 0))
    templates = {**DEFAULT_JUDGMENTS, **options.get("judgments", {})}
    per_question = options.get("judged_per_question", 1)
    downsample = options.get("downsample", -1)
    samples = index_by_id(inputs.get("samples", []), "samples")
    labels = index_by_id(inputs["knowledge"], "knowledge")
    plain, judged = [], []
    for record in inputs["questions"]:
        ik = bool(label_of(labels, record)["ik"])
        prompt = render_question(record, options["templates"])
        target, kind = sft_target(record, ik, samples.get(record["id"]), options, rng)
        plain.append({"id": record["id"], "question": record["question"], "prompt": prompt, "target": target,
                      "kind": kind, "judgment": None})
        wrong = graded_samples(record, samples.get(record["id"]), options).get("wrong", [])
        key = "known" if ik else "unknown"
        for index, answer in enumerate(rng.sample(wrong, min(per_question, len(wrong)))):
            judged.append({"id": f"{record['id']}#wrong{index}", "question": record["question"], "prompt": prompt,
                           "target": answer, "kind": "judged", "judgment": judgment(templates[key], record, key)})
    if not judged:
        raise RaitError(f"{options.get('origin', 'CUT dataset')}: no wrong sampled answer to judge; CUT needs "
                        "some (check the train split's samples and knowledge labels)")
    keep = len(plain) if downsample == -1 else int(len(judged) * downsample)
    if keep < len(plain):
        kept = set(rng.sample(range(len(plain)), keep))
        plain = [example for index, example in enumerate(plain) if index in kept]
    log.info("CUT: %d judged wrong answers, %d examples without a judgment (downsample %s)", len(judged),
             len(plain), downsample)
    return plain + judged
