"""How a method answers the test questions: answer strategies, and the one prediction format they share.

Every strategy writes, per test question, one record::

    {"id", "prompt", "answer", "confidence"?}

``answer`` is the text that is graded. ``confidence``, where the strategy yields one, is a number in [0, 1]
that the evaluation keeps beside the grade (a probability of "sure" after a follow-up question, a scorer's
preference among candidates, a stated confidence); a strategy may add fields of its own. The base model's
answers are predictions like every other method's.

Strategies, by the name a method's ``Answer.strategy`` gives (``rait.methods``):

* ``greedy``: the checkpoint's greedy answer to the method's prompt.
* ``sampled_greedy``: the base model's greedy answer that sampling already generated beside its n samples of
  the test split (the same prompt and settings): the untouched model is not run a second time. Only for a
  method without stages asked with the model's own prompt (``base``).
* ``stated_num`` / ``stated_verb``: the greedy answer, its ``confidence`` read from the statement Alignment for
  Honesty's CONFIDENCE-NUM / -VERB teach before the answer (``rait.construct.honesty``): "I'm about 80%
  confident ..." is 0.8; a verbal level is the middle of its bin of k/m (``VERB_LEVELS``: "I'm fairly confident
  that" covers 0.6 < k/m <= 0.8, so 0.7). An answer without a statement (a refusal, or one the model wrote
  bare) has no confidence: the evaluation counts the answers that have one (``confidence_n``).
* ``stated_after_marker``: the greedy answer "<answer> <marker> <x>" that CONQORD's and calibrated RL's models
  are taught (``rait.rewards.read_statement``; ``marker`` is ``training.confidence_marker``): the answer graded is
  the text before the marker, x its ``confidence``; ``response`` keeps the whole text and ``statement`` says
  whether x was ``ok``, ``missing`` or ``out_of_range`` (then there is no confidence; the evaluation counts them).
* ``followup_sure``: R-Tuning's: the greedy answer, then the follow-up question; ``confidence`` mixes P(sure) and
  the answer's token probability (``rait.followup``; rule ``predict_with_followup``).
* ``best_of_n``: N sampled answers of the checkpoint (``methods.<name>.answer.n``, the model's sampling
  settings), de-duplicated and scored by the method's scorer stage (a reward model, ``rait.scoring``); the
  best is the answer, its score kept as ``score`` and, through a sigmoid, as ``confidence`` with
  ``confidence_scale: score``: a reward model ranks answers, it is not calibrated, so the evaluation reports AP,
  AUROC and AURC for it and no ECE, Brier score or reliability bins.

A new strategy is one entry in ``STRATEGIES``, naming the prediction rule that feeds it (``rule``; its inputs
differ from one strategy to the next: a scorer checkpoint, a follow-up question), in ``workflow/rules/evaluate.smk``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from collections.abc import Callable

from rait.errors import RaitError
from rait.registry import Registry

# what a prediction's confidence is: a probability of being right (the calibration metrics apply), or a score that
# only orders the answers (a reward model's, through a sigmoid: ranking metrics only)
CONFIDENCE_SCALES = ("probability", "score")


@dataclass(frozen=True)
class Strategy:
    description: str
    # generations of the answering checkpoint (rait.sampling.sample_records rows) and the method's answer
    # settings (methods.<name>.answer, plus confidence_marker) -> prediction records
    predictions: Callable[..., list[dict]]
    # the rule of workflow/rules/evaluate.smk that writes its predictions
    rule: str = "predict_answers"
    # answers from the base model's samples of the test split: only the untouched model on its own prompt
    from_base_samples: bool = False
    # candidates scored by a scorer stage's checkpoint (rows carry "candidates" and their "scores")
    scorer: bool = False


def greedy_predictions(generated: list[dict], settings: dict | None = None) -> list[dict]:
    return [{"id": row["id"], "prompt": row["prompt"], "answer": row["greedy"]} for row in generated]


_PERCENT = re.compile(r"\babout (\d+(?:\.\d+)?)% confident", re.IGNORECASE)


def stated_number(answer: str) -> float | None:
    """CONFIDENCE-NUM's "I'm (only) about N% confident ...": N / 100 (None without one, or beyond 100%)."""
    match = _PERCENT.search(answer)
    if not match or float(match.group(1)) > 100:
        return None
    return float(match.group(1)) / 100


def stated_level(answer: str) -> float | None:
    """CONFIDENCE-VERB's level at the start of the answer: the middle of its bin of k/m (None without one)."""
    from rait.construct.honesty import VERB_LEVELS

    said = answer.strip().lower()
    lower = 0.0
    for highest, statement in VERB_LEVELS:
        if said.startswith(statement.strip().lower()):
            return round((lower + highest) / 2, 6)
        lower = highest
    return None


def stated_predictions(read: Callable[[str], float | None]):
    def predictions(generated: list[dict], settings: dict | None = None) -> list[dict]:
        rows = greedy_predictions(generated)
        for row in rows:
            confidence = read(row["answer"])
            if confidence is not None:
                row["confidence"] = confidence
        return rows

    return predictions


def marker_predictions(generated: list[dict], settings: dict | None = None) -> list[dict]:
    """The answer before the stated confidence, and the confidence (``rait.rewards.read_statement``)."""
    from rait.rewards import DEFAULT_MARKER, read_statement

    marker = (settings or {}).get("confidence_marker", DEFAULT_MARKER)
    rows = []
    for row in greedy_predictions(generated):
        statement = read_statement(row["answer"], marker)
        rows.append({**row, "answer": statement.answer, "response": row["answer"], "statement": statement.status,
                     **({"confidence": statement.confidence} if statement.confidence is not None else {})})
    return rows


def followup_predictions(scored: list[dict], settings: dict | None = None) -> list[dict]:
    """Rows with the ``answer`` cut before the follow-up and its ``confidences`` (``rait.followup``)."""
    return [{"id": row["id"], "prompt": row["prompt"], "answer": row["answer"], "response": row["greedy"],
             **row["confidences"]} for row in scored]


def best_of_n_predictions(scored: list[dict], settings: dict | None = None) -> list[dict]:
    """Rows with ``candidates`` and their ``scores`` (``rait.scoring``): the best candidate of each."""
    from rait.scoring import best_of, sigmoid

    predictions = []
    for row in scored:
        answer, score = best_of(row["candidates"], row["scores"])
        # the sigmoid orders the answers as the score does, but a reward model is trained to rank pairs, not to
        # give probabilities: the evaluation reports only ranking metrics for it (rait.calibration)
        predictions.append({"id": row["id"], "prompt": row["prompt"], "answer": answer, "score": score,
                            "confidence": sigmoid(score), "confidence_scale": "score",
                            "candidates": len(row["candidates"])})
    return predictions


STRATEGIES: Registry[Strategy] = Registry("answer strategy")
STRATEGIES.register("greedy", Strategy("the checkpoint's greedy answer", greedy_predictions))
STRATEGIES.register("stated_num", Strategy("the greedy answer and its stated percentage",
                                           stated_predictions(stated_number)))
STRATEGIES.register("stated_verb", Strategy("the greedy answer and its stated verbal confidence",
                                            stated_predictions(stated_level)))
STRATEGIES.register("sampled_greedy", Strategy("the base model's greedy answer, generated with its samples",
                                               greedy_predictions, rule="collect_sampled_answers",
                                               from_base_samples=True))
STRATEGIES.register("best_of_n", Strategy("the best of N samples by a reward model", best_of_n_predictions,
                                          rule="predict_best_of_n", scorer=True))
STRATEGIES.register("stated_after_marker", Strategy("the greedy answer and the confidence it states after the marker",
                                                    marker_predictions))
STRATEGIES.register("followup_sure", Strategy("the greedy answer and R-Tuning's P(sure) after the follow-up question",
                                              followup_predictions, rule="predict_with_followup"))


def check_prediction(record: dict, origin: str) -> dict:
    """A prediction record as the evaluation reads it; bad ones are an error naming ``origin``."""
    if not isinstance(record.get("answer"), str):
        problem = ("has no field 'answer'" if record.get("answer") is None
                   else f"has {record['answer']!r} as its answer, not text")
        raise RaitError(f"{origin}: prediction of {record.get('id')!r} {problem}")
    confidence = record.get("confidence")
    if confidence is not None:
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or math.isnan(confidence) \
                or not 0.0 <= confidence <= 1.0:
            raise RaitError(f"{origin}: confidence of {record.get('id')!r} must be a number in [0, 1], got {confidence!r}")
    if record.get("confidence_scale", "probability") not in CONFIDENCE_SCALES:
        raise RaitError(f"{origin}: confidence_scale of {record.get('id')!r} is {record['confidence_scale']!r}; "
                        f"expected one of {list(CONFIDENCE_SCALES)}")
    return record
