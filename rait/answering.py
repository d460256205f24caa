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
  the answer's token probability (``rait.followup``).
* ``best_of_n``: N sampled answers of the checkpoint (``methods.<name>.answer.n``, the model's sampling
  settings), de-duplicated and scored by the method's scorer stage (a reward model, ``rait.reward_model``); the
  best is the answer, its reward kept as ``reward`` and, through a sigmoid, as ``confidence`` with
  ``confidence_scale: score``: a reward model ranks answers, it is not calibrated, so the evaluation reports AP,
  AUROC and AURC for it and no ECE, Brier score or reliability bins.

One rule, ``predict_answers``, serves every strategy that runs the method's checkpoint: it generates (one greedy
answer per question, or N samples for a strategy with ``samples``), gives the generations to the strategy's
``enrich`` with what else it declared (``checkpoints``: a scorer stage), and writes ``predictions``. A new
strategy is one entry in ``STRATEGIES`` and no rule. ``sampled_greedy`` runs no model: rule
``collect_sampled_answers`` copies the base model's greedy answers out of its samples.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from collections.abc import Callable

from rait.errors import RaitError
from rait.registry import Registry

log = logging.getLogger(__name__)

# what a prediction's confidence is: a probability of being right (the calibration metrics apply), or a score that
# only orders the answers (a reward model's, through a sigmoid: ranking metrics only)
CONFIDENCE_SCALES = ("probability", "score")


@dataclass(frozen=True)
class AnswerJob:
    """What a strategy's ``enrich`` may read besides the generations: one prediction job's questions and
    settings."""
    records: list[dict]  # the test questions, in the generations' order
    templates: dict  # how a question is rendered (rait.prompts.render_question)
    settings: dict  # methods.<name>.answer, with the model's confidence_marker
    weights: str  # the answering checkpoint
    chat: bool
    system: str | None
    # the checkpoints the strategy declared (Strategy.checkpoints), by name: {"scorer": path}
    checkpoints: dict[str, str]
    # the engine that generated the answers, serving the answering checkpoint (the model's engine service's or the
    # job's own); a transformers engine's model scores R-Tuning's follow-up (``causal_lm``)
    engine: object = None


@dataclass(frozen=True)
class Strategy:
    description: str
    # generations of the answering checkpoint (rait.sampling.sample_records rows, enriched) and the method's
    # answer settings (methods.<name>.answer, plus confidence_marker) -> prediction records
    predictions: Callable[..., list[dict]]
    # what the strategy adds to the generated rows before ``predictions``, with the job's questions, settings and
    # checkpoints: a reward model's scores, a follow-up question's confidences (None: nothing)
    enrich: Callable[[list[dict], AnswerJob], None] | None = None
    # N samples per question (methods.<name>.answer.n, the model's sampling settings) instead of one greedy answer
    samples: bool = False
    # checkpoints read besides the method's own, each a field of rait.methods.Answer naming a stage ("scorer")
    checkpoints: tuple[str, ...] = ()
    # answers from the base model's samples of the test split (rule collect_sampled_answers, no model run): only
    # the untouched model on its own prompt
    from_base_samples: bool = False
    # ``enrich`` scores with the answering checkpoint again: on the engine's own model where it has one (the
    # transformers engine's ``causal_lm``), else on a second load of the checkpoint (vLLM's engine)
    rescores: bool = False


def answer(params, questions: str, output: str, loaded=None) -> None:
    """A prediction job (rule ``predict_answers``): its checkpoint answers the test ``questions`` as its strategy
    says, the predictions written to ``output``; ``loaded``: the model's engine service's engine
    (rait.answer_service) instead of one of its own."""
    from rait.io import read_jsonl, write_jsonl
    from rait.sampling import generate_for, load_job_engine

    records = read_jsonl(questions)
    log.info("%d questions, strategy %s", len(records), params.strategy)
    # the job's own engine is kept past its generations, as the service's is, so that a strategy that scores with
    # the answering model again (R-Tuning's follow-up) does so on the one loaded, on either path alike
    engine = loaded if loaded is not None else load_job_engine(params)
    generated = generate_for(records, params, loaded=engine, service=loaded is not None)
    if loaded is None and not hasattr(engine, "causal_lm"):
        engine = None  # a job's own vLLM engine lends no model: dropped before a follow-up loads one, as before
    job = AnswerJob(records, dict(params.templates), dict(params.answer), params.weights, params.chat,
                    params.system, dict(params.checkpoints), engine)
    write_jsonl(output, predictions_of(STRATEGIES[params.strategy], generated, job))


def predictions_of(strategy: Strategy, generated: list[dict], job: AnswerJob) -> list[dict]:
    """A strategy's prediction records of one job's generations."""
    if strategy.enrich is not None:
        strategy.enrich(generated, job)
    return strategy.predictions(generated, job.settings)


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


def ask_followup(generated: list[dict], job: AnswerJob) -> None:
    """R-Tuning's follow-up on each greedy answer: the ``answer`` cut before the follow-up the model writes itself,
    and its ``confidences`` (``rait.followup``)."""
    from rait.construct.confidence import followup_wording
    from rait.followup import FollowUp, answer_before_followup
    from rait.prompts import render_question

    wording = followup_wording(job.settings)
    for row in generated:
        row["answer"] = answer_before_followup(row["greedy"], wording)
    asker = FollowUp(job.weights, chat=job.chat, system=job.system, loaded=getattr(job.engine, "causal_lm", None))
    # the user's question as rendered, not the generation's prompt (already chat templated): FollowUp templates it
    questions = [render_question(record, job.templates) for record in job.records]
    confidences = asker.confidences(questions, [row["answer"] for row in generated], wording,
                                    job.settings["answer_weight"])
    for row, confidence in zip(generated, confidences, strict=True):
        row["confidences"] = confidence
    log.info("%d questions; %d answers empty before the follow-up; mean P(sure) %.3f", len(generated),
             sum(not row["answer"] for row in generated), sum(c["sure"] for c in confidences) / max(1, len(confidences)))


def followup_predictions(scored: list[dict], settings: dict | None = None) -> list[dict]:
    """Rows with the ``answer`` cut before the follow-up and its ``confidences`` (``rait.followup``)."""
    return [{"id": row["id"], "prompt": row["prompt"], "answer": row["answer"], "response": row["greedy"],
             **row["confidences"]} for row in scored]


def reward_candidates(generated: list[dict], job: AnswerJob) -> None:
    """Each question's distinct samples (``candidates``; the greedy answer when all N are empty) and their
    ``rewards`` by the scorer stage's reward model (``rait.reward_model``)."""
    from rait.prompts import render_question
    from rait.reward_model import RewardModel, distinct

    scorer = RewardModel(job.checkpoints["scorer"], chat=job.chat, system=job.system)
    single = 0
    for record, row in zip(job.records, generated, strict=True):
        row["candidates"] = distinct(row["samples"]) or [row["greedy"]]
        single += len(row["candidates"]) == 1
        question = render_question(record, job.templates)
        row["rewards"] = scorer.scores([(question, candidate) for candidate in row["candidates"]])
    log.info("%d questions; %d had one distinct candidate (nothing to choose)", len(generated), single)


def best_of_n_predictions(scored: list[dict], settings: dict | None = None) -> list[dict]:
    """Rows with ``candidates`` and their ``rewards`` (``reward_candidates``): the best candidate of each."""
    from rait.reward_model import best_of, sigmoid

    predictions = []
    for row in scored:
        answer, reward = best_of(row["candidates"], row["rewards"])
        # the sigmoid orders the answers as the reward does, but a reward model is trained to rank pairs, not to
        # give probabilities: the evaluation reports only ranking metrics for it (rait.calibration)
        predictions.append({"id": row["id"], "prompt": row["prompt"], "answer": answer, "reward": reward,
                            "confidence": sigmoid(reward), "confidence_scale": "score",
                            "candidates": len(row["candidates"])})
    return predictions


STRATEGIES: Registry[Strategy] = Registry("answer strategy")
STRATEGIES.register("greedy", Strategy("the checkpoint's greedy answer", greedy_predictions))
STRATEGIES.register("stated_num", Strategy("the greedy answer and its stated percentage",
                                           stated_predictions(stated_number)))
STRATEGIES.register("stated_verb", Strategy("the greedy answer and its stated verbal confidence",
                                            stated_predictions(stated_level)))
STRATEGIES.register("sampled_greedy", Strategy("the base model's greedy answer, generated with its samples",
                                               greedy_predictions, from_base_samples=True))
STRATEGIES.register("best_of_n", Strategy("the best of N samples by a reward model", best_of_n_predictions,
                                          enrich=reward_candidates, samples=True, checkpoints=("scorer",)))
STRATEGIES.register("stated_after_marker", Strategy("the greedy answer and the confidence it states after the marker",
                                                    marker_predictions))
STRATEGIES.register("followup_sure", Strategy("the greedy answer and R-Tuning's P(sure) after the follow-up question",
                                              followup_predictions, enrich=ask_followup, rescores=True))


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
