"""GRAIT's refusal-aware data (Zhu et al., Findings of NAACL 2025, "GRAIT: Gradient-Driven Refusal-Aware Instruction
Tuning for Effective Hallucination Mitigation"; github.com/opendatalab/GRAIT).

Ported from ``data_process/get_grait_data/construct_grait_data.py`` at commit 2be8d64 (its only selection script, for
MMLU); the gradients it reads are LESS's (``rait.influence``). Inputs: ``questions``, ``scores`` (CRaFT's
``correctness`` per question id: the script's ``KQ.correct_init``) and ``gradients`` (per question id, the normalised
projected gradient of the training loss with the gold answer as target, ``answer``, and with the refusal, ``refusal``:
the script's VAN and IDK sets, every question in both).

What the script does, step by step, and this module with it (``select``):

1. **Vanilla**: the questions with correctness above the boundary (0.5, strict), highest first, the first ``vanilla``
   (4000); a tie keeps file order (Python's stable sort; here the order of question ids, as in rait.construct.craft).
2. **Greedy**: every question below the boundary (strict) is an idk candidate, scored by the sum of the inner products
   of its refusal gradient with the answer gradients of the vanilla table. ``idk`` (1000) times, the highest scorer is
   picked (the first on a tie) and every remaining candidate's score grows by the inner product of its refusal
   gradient with the picked one's.
3. **The set it writes**: the script then overwrites that list with the ``idk`` candidates *not* picked whose
   accumulated score is *lowest* (ascending, stable). Those are the refusal examples. This is what the authors'
   released data was made with, so rait follows it; the paper describes choosing influential idk samples, and the
   script's last assignment is the one that runs.
4. **Weights**: alpha = mean inner product of the example's refusal gradient with the refusal gradients of every
   question above the boundary, minus the same mean over every question below it; weights = 500 x softmax(alpha /
   0.05) over the written idk examples. The script computes them and then writes every example with weight 1 (its
   second ``new_data`` loop). rait trains unweighted, as that data is, and keeps the computed weight in each refusal
   example (``grait_weight``) for inspection.

A question exactly at the boundary is in neither group, as in the script. Too few idk candidates for step 3 (the
script's ``max`` of an empty dict) is an error naming both counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from rait.construct.craft import example, question_score
from rait.construct.idk import gold_answer, index_by_id
from rait.errors import RaitError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    """Positions (in the input order) of the vanilla and refusal examples, and each refusal example's weight."""

    vanilla: list[int]
    idk: list[int]
    weights: dict[int, float]


def greedy_then_rest(idk_group: list[int], vanilla: list[int], refusal, answer, count: int) -> list[int]:
    """Steps 2 and 3: the greedy picks by accumulated inner product, then the ``count`` lowest of the rest."""
    if len(idk_group) <= count:
        raise RaitError(f"GRAIT data: {len(idk_group)} idk candidates; its selection drops the {count} its greedy step "
                        f"picks and keeps up to {count} of the rest (config key grait.selection.idk), so it needs "
                        f"more than {count}")
    group = np.asarray(idk_group)
    candidates = refusal[group]
    scores = (candidates @ answer[vanilla].T).sum(axis=1)
    picked = np.zeros(len(group), dtype=bool)
    for _ in range(count):
        best = int(np.argmax(np.where(picked, -np.inf, scores)))  # the first maximum, as max() over a dict
        picked[best] = True
        scores = scores + candidates @ candidates[best]
    rest = np.flatnonzero(~picked)
    lowest = rest[np.argsort(scores[rest], kind="stable")][:count]
    return [int(group[i]) for i in lowest]


def softmax_weights(alphas: dict[int, float], temperature: float, scale: float) -> dict[int, float]:
    """``scale`` times the softmax of alpha / temperature (the script's ``softmax``, shifted by the maximum so that
    exp never overflows: the same values)."""
    if not alphas:
        return {}
    top = max(alphas.values())
    exp = {i: float(np.exp((a - top) / temperature)) for i, a in alphas.items()}
    total = sum(exp.values())
    return {i: scale * value / total for i, value in exp.items()}


def select(correctness, refusal, answer, rules: dict) -> Selection:
    """GRAIT's selection over questions in one order: ``correctness`` per question, ``refusal`` and ``answer`` their
    gradient rows (numpy, one row per question)."""
    boundary = rules.get("boundary", 0.5)
    known = [i for i, value in enumerate(correctness) if value > boundary]
    if not known:
        raise RaitError(f"GRAIT data: no question above correctness {boundary}; its data needs answered examples")
    # step 1: highest first, a tie in input order (a stable sort, as the script's)
    vanilla = sorted(known, key=lambda i: correctness[i], reverse=True)[:rules["vanilla"]]
    unknown = [i for i, value in enumerate(correctness) if value < boundary]
    idk = greedy_then_rest(unknown, vanilla, refusal, answer, rules["idk"])
    alphas = {i: float((refusal[known] @ refusal[i]).mean()) - float((refusal[unknown] @ refusal[i]).mean())
              for i in idk}
    return Selection(vanilla, idk, softmax_weights(alphas, rules.get("temperature", 0.05), rules.get("scale", 500)))


def gradient_rows(records: list[dict], gradients: dict, field: str) -> np.ndarray:
    rows = []
    for record in records:
        row = gradients.get(record["id"])
        if row is None:
            raise RaitError(f"GRAIT data: no gradients for question {record['id']!r} (gradients file)")
        rows.append(np.asarray(row[field], dtype=np.float64))
    return np.stack(rows)


def build_grait(inputs: dict, options: dict) -> list[dict]:
    origin = options.get("origin", "GRAIT data")
    rules = options["grait"]
    scores = index_by_id(inputs["scores"], "scores")
    gradients = index_by_id(inputs["gradients"], "gradients")
    questions = sorted(inputs["questions"], key=lambda r: str(r["id"]))  # file order never decides
    correctness = [question_score(scores, r, "correctness") for r in questions]
    chosen = select(correctness, gradient_rows(questions, gradients, "refusal"),
                    gradient_rows(questions, gradients, "answer"), rules)
    examples = [example(questions[i], options, gold_answer(questions[i]), "answer", scores) for i in chosen.vanilla]
    examples += [{**example(questions[i], options, options["refusal"], "refusal", scores),
                  "grait_weight": chosen.weights[i]} for i in chosen.idk]
    log.info("%s: %d answered, %d refused", origin, len(chosen.vanilla), len(chosen.idk))
    return examples
