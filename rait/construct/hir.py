"""Say-I-Dont-Know's Idk-HIR (hindsight instruction relabeling): the Idk-SFT data relabelled at several Ik
thresholds, each copy's questions prefixed with the confidence level that threshold stands for, plus a level at
which every question is refused. At evaluation the model is asked at one level (``methods.hir.answer.level``).

Follows ``Idk_datasets/process_hir_data.py`` (OpenMOSS/Say-I-Dont-Know): thresholds 0.1 to 1.0 map to the
"knowledge expression confidence level" 1.1 - threshold (``KEC_mapping``: a threshold of 0.1 is level 1.0,
answering whatever the model gets right once in ten; 1.0 is level 0.1), the prompt "Your current knowledge
expression confidence level is {level}, please answer the user's question:\\n{question}\\n", level 0.0 with the
refusal for every train question, and the examples shuffled. Their per-threshold files came from separate runs
of the SFT builder; here each level's Ik labels are ``correctness >= threshold`` on the same knowledge labels.
"""

from __future__ import annotations

import random

from rait.construct.idk import check_both_kinds, index_by_id, label_of, sft_target
from rait.errors import RaitError
from rait.prompts import render_question

HIR_PROMPT = "Your current knowledge expression confidence level is {level}, please answer the user's question:\n{question}\n"
DEFAULT_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
REFUSE_ALL = 0.0


def level_text(level: float) -> str:
    """A level as the prompt writes it: one decimal, as the original's strings ("0.1" ... "1.0")."""
    if not 0.0 <= level <= 1.0:
        raise RaitError(f"an Idk-HIR level must lie in [0, 1], got {level}")
    text = f"{level:.1f}"
    return text if abs(float(text) - level) < 1e-9 else f"{level:g}"


def level_of(threshold: float) -> float:
    """The confidence level a threshold stands for (``KEC_mapping``): 1.1 - threshold."""
    if not 0.0 < threshold <= 1.0:
        raise RaitError(f"methods.hir.data.thresholds: each must lie in (0, 1], got {threshold}")
    return round(1.1 - threshold, 6)


def level_templates(templates: dict, level: float) -> dict:
    """The model's prompt templates asked at ``level``: each wrapped in the HIR prompt (its fields kept)."""
    text = level_text(level)
    return {kind: HIR_PROMPT.format(level=text, question=template) for kind, template in templates.items()}


def build_hir(inputs: dict, options: dict) -> list[dict]:
    """Idk-HIR examples: {id ("<question id>@<level>"), question, prompt, target, kind, level}."""
    thresholds = options.get("thresholds", DEFAULT_THRESHOLDS)
    if not thresholds or len(set(thresholds)) != len(thresholds):
        raise RaitError(f"methods.hir.data.thresholds: give distinct thresholds, got {thresholds}")
    rng = random.Random(options.get("seed", 0))
    samples = index_by_id(inputs.get("samples", []), "samples")
    labels = index_by_id(inputs["knowledge"], "knowledge")
    asked = {record["id"]: render_question(record, options["templates"]) for record in inputs["questions"]}
    examples = []

    def add(record: dict, level: float, target: str, kind: str) -> None:
        text = level_text(level)
        examples.append({"id": f"{record['id']}@{text}", "question": record["question"],
                         "prompt": HIR_PROMPT.format(level=text, question=asked[record["id"]]),
                         "target": target, "kind": kind, "level": float(text)})

    for threshold in sorted(thresholds):
        level = level_of(threshold)
        for record in inputs["questions"]:
            ik = label_of(labels, record)["correctness"] >= threshold
            add(record, level, *sft_target(record, ik, samples.get(record["id"]), options, rng))
    for record in inputs["questions"]:
        add(record, REFUSE_ALL, *sft_target(record, False, None, options, rng))
    check_both_kinds(examples, options.get("origin", "Idk-HIR dataset"))
    rng.shuffle(examples)
    return examples
