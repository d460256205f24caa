"""Rewards for on-policy RL, computed from rait's own grader: abstention, calibration and CONQORD's order term.

A stated confidence follows the answer after a marker ("Paris Confidence: 0.8"; ``training.confidence_marker``,
CONQORD's "### Confidence:"), or precedes it (``training.confidence_position: before``, as Alignment for
Honesty's CONFIDENCE-NUM states it: "Confidence: 0.8 Paris"). ``read_statement`` splits it off: the answer is graded
without it, and a confidence is one number in [0, 1] right after the last marker (RLCR; the evaluation reads
answers so too); CONQORD's reward reads it as CONQORD's code does (``conqord_statement``, below). A missing number,
or one outside [0, 1], is *counted* (``StatementCounts``) and scored as each method's source code scores it, never
dropped.

* ``abstention`` (TruthRL's ternary reward, Wei et al. 2025): a correct answer earns ``correct`` (+1), a refusal
  ``refusal`` (0), a wrong one ``wrong`` (-1). An unparsed multiple-choice answer (no option named) is scored as a
  wrong one: it is not an abstention. ``check_abstention`` refuses weights under which refusing pays as much as
  a correct answer.
* ``calibration`` (RLCR, Damani et al. 2025; github.com/damanimehul/RLCR ``reward_fns.py``, weights 0.5/0.5/0.5
  in ``configs/*/RLCR.yaml``): three rewards, weighted and summed by TRL: ``format`` 1 when the answer states a
  confidence in [0, 1]; ``accuracy`` 1 when it is also correct; ``brier`` 1 - (accuracy - confidence)^2 when
  formatted. An answer without a parsable confidence scores 0 on all three, as RLCR's code does (its accuracy
  requires the format).
* ``conqord`` (Tao et al., ACL 2024; TaoShuchang/CONQORD at 7391fbb, ``step3_RL_finetune_LLM/ppo_trainer.py``,
  ``generate_experience`` and ``compute_rewards``): each answer's quality r_i (here the grader: 1 correct, 0
  otherwise) plus ``alpha`` times the order-preserving term sum_j (r_i - r_j)(c_i - c_j) over the answers it is
  compared with, clipped to [-clip, clip] (their ``alpha`` 0.5, ``clip_reward_value`` 5). The term is a sum, so
  it grows with the number of answers compared: CONQORD compares one generation batch of one answer per prompt
  (``--per_device_generation_batch_size``: 8 in the runs main.py lists; 1 in the released ``run_step3.sh``, where
  the term is always 0 and the run is PPO on the reward model alone). rait compares ``batch`` answers (8), one per
  prompt, as theirs: the answers of TRL's generation batch are grouped by their place in their prompt's group
  (``order_groups``). The confidence is read as their ``extract_confidence`` (``utils/data/data_utils.py``): the
  first number after "<marker> ", kept as it is when it lies outside [0, 1] (the clip bounds the reward), 1.0 when
  there is none; the answer is the text before the first marker, as ``find_indices_of_confidence_in_seq`` cuts it
  (``conqord_statement``). The paper scores quality with a reward model; rait grades against the gold aliases (a
  question-answering task has them); method ``conqord_rm`` scores quality with the reward model of
  Say-I-Dont-Know's pairs, as the paper.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from collections.abc import Callable, Sequence

from rait.errors import RaitError
from rait.registry import Registry
from rait.grading import grade

log = logging.getLogger(__name__)

DEFAULT_MARKER = "Confidence:"
ABSTENTION_DEFAULTS = {"correct": 1.0, "refusal": 0.0, "wrong": -1.0}
CALIBRATION_DEFAULTS = {"format": 0.5, "accuracy": 0.5, "brier": 0.5}
CONQORD_DEFAULTS = {"alpha": 0.5, "clip": 5.0, "batch": 8}
# a number right after the marker; a word-level tokenizer may decode "0.8" as "0 . 8"
_NUMBER = re.compile(r"\s*(\d+(?:\s*\.\s*\d+)?|\.\s*\d+)")


@dataclass(frozen=True)
class Statement:
    answer: str  # the text before the marker (all of it when there is none)
    confidence: float | None  # None: no marker, no number after it, or a number outside [0, 1]
    status: str  # "ok", "missing" (no marker or no number), "out_of_range"


def read_statement(text: str, marker: str = DEFAULT_MARKER) -> Statement:
    """Split "<answer> <marker> <x>" (or "<marker> <x> <answer>", ``training.confidence_position: before``) into
    the answer and x; the last marker counts, and the answer is the text around the statement."""
    index = text.lower().rfind(marker.lower())
    if index == -1:
        return Statement(text.strip(), None, "missing")
    rest = text[index + len(marker):]
    match = _NUMBER.match(rest)
    if not match:
        return Statement(text[:index].strip(), None, "missing")
    answer = " ".join(part for part in (text[:index].strip(), rest[match.end():].strip()) if part)
    value = float(re.sub(r"\s+", "", match.group(1)))
    if not 0.0 <= value <= 1.0:
        return Statement(answer, None, "out_of_range")
    return Statement(answer, value, "ok")


def confidence_text(value: float, decimals: int = 1) -> str:
    """How a training target states a confidence: one decimal by default, as CONQORD's data and RLCR's examples
    do, rounded half up (0.25 is "0.3"; with 0 decimals 0.5 is "1")."""
    scale = 10 ** decimals
    return f"{math.floor(round(value * scale, 9) + 0.5) / scale:.{decimals}f}"


# ---- the reward rules, on plain numbers ------------------------------------------------------------------


def check_abstention(weights: dict, where: str = "training.grpo.abstention") -> dict:
    weights = {**ABSTENTION_DEFAULTS, **weights}
    unknown = set(weights) - set(ABSTENTION_DEFAULTS)
    if unknown:
        raise RaitError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: correct, refusal, wrong")
    if weights["refusal"] >= weights["correct"]:
        raise RaitError(f"{where}: refusal ({weights['refusal']}) must earn less than a correct answer "
                        f"({weights['correct']}), or the policy learns to refuse everything")
    if weights["wrong"] >= weights["correct"]:
        raise RaitError(f"{where}: a wrong answer ({weights['wrong']}) must earn less than a correct one "
                        f"({weights['correct']})")
    if weights["wrong"] >= weights["refusal"]:
        log.warning("%s: a wrong answer (%s) earns at least a refusal (%s): abstaining never pays, this is plain "
                    "correctness RL", where, weights["wrong"], weights["refusal"])
    return weights


def abstention_reward(grade_: str, weights: dict) -> float:
    return weights["correct"] if grade_ == "correct" else weights["refusal"] if grade_ == "refusal" else weights["wrong"]


def rlcr_rewards(correct: bool, confidence: float | None) -> dict[str, float]:
    """RLCR's format, accuracy and brier rewards of one answer (``reward_fns.py``)."""
    if confidence is None:
        return {"format": 0.0, "accuracy": 0.0, "brier": 0.0}
    accuracy = 1.0 if correct else 0.0
    return {"format": 1.0, "accuracy": accuracy, "brier": 1.0 - (accuracy - confidence) ** 2}


def order_term(qualities: Sequence[float], confidences: Sequence[float]) -> list[float]:
    """CONQORD's order-preserving term of each answer: sum over the batch of (r_i - r_j)(c_i - c_j)."""
    if len(qualities) != len(confidences):
        raise RaitError(f"order term: {len(qualities)} qualities but {len(confidences)} confidences")
    return [sum((qi - qj) * (ci - cj) for qj, cj in zip(qualities, confidences))
            for qi, ci in zip(qualities, confidences)]


def conqord_rewards(qualities: Sequence[float], confidences: Sequence[float], *, alpha: float, clip: float,
                    groups: Sequence[Sequence[int]] | None = None) -> list[float]:
    """Each answer's quality plus ``alpha`` times its order term within its group of ``groups`` (index lists; all
    answers in one group when None), clipped to [-clip, clip]."""
    groups = [range(len(qualities))] if groups is None else groups
    terms = [0.0] * len(qualities)
    for group in groups:
        for index, term in zip(group, order_term([qualities[i] for i in group], [confidences[i] for i in group])):
            terms[index] = term
    return [max(-clip, min(clip, quality + alpha * term)) for quality, term in zip(qualities, terms)]


def order_groups(prompts: Sequence[str], batch: int) -> list[list[int]]:
    """The answers CONQORD's order term compares: one answer per prompt, ``batch`` prompts at a time. GRPO samples
    several answers per prompt; the k-th answers of the prompts form one round, cut into groups of ``batch``."""
    seen: dict = {}
    rounds: dict = {}
    for index, prompt in enumerate(prompts):
        place = seen[prompt] = seen.get(prompt, -1) + 1
        rounds.setdefault(place, []).append(index)
    return [members[start:start + batch] for members in rounds.values() for start in range(0, len(members), batch)]


# CONQORD's extract_confidence: re.search(r'### Confidence: ([0-9]*\.?[0-9]+)', text), with rait's marker
_CONQORD_NUMBER = r" ([0-9]*\.?[0-9]+)"


def conqord_statement(text: str, marker: str = DEFAULT_MARKER, position: str = "after") -> Statement:
    """The answer and confidence as CONQORD reads them: the first "<marker> <number>" (case as written; a number
    outside [0, 1] kept, status ``out_of_range``), no statement: confidence 1.0 (status ``missing``). The answer is
    the text before the first marker (``position`` ``before``: the text after the statement)."""
    match = re.search(re.escape(marker) + _CONQORD_NUMBER, text)
    if not match:
        cut = text.find(marker)
        answer = text if cut == -1 else (text[:cut] if position == "after" else text[cut + len(marker):])
        return Statement(answer.strip(), 1.0, "missing")
    value = float(match.group(1))
    answer = text[:match.start()] if position == "after" else text[match.end():]
    return Statement(answer.strip(), value, "ok" if 0.0 <= value <= 1.0 else "out_of_range")


def check_weights(settings: dict, defaults: dict, where: str) -> dict:
    unknown = set(settings) - set(defaults)
    if unknown:
        raise RaitError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(defaults)}")
    return {**defaults, **settings}


# ---- TRL reward functions --------------------------------------------------------------------------------


def message_text(completion) -> str:
    """A TRL completion: plain text, or the last message's content."""
    return completion if isinstance(completion, str) else completion[-1]["content"]


def grading_of(row_grading) -> dict:
    """A training row's ``grading`` column (JSON text: the question record, profile, refusals, exact_match)."""
    return json.loads(row_grading) if isinstance(row_grading, str) else row_grading


def grade_answer(answer: str, grading: dict) -> str:
    return grade(grading["question"], answer, exact=grading.get("exact_match", False),
                 refusals=grading.get("refusals", ()), profile=grading.get("profile", "rait"))


@dataclass
class StatementCounts:
    """Stated confidences seen in training, by status; logged by the trainer and kept in training_stats.json."""

    counts: dict = field(default_factory=lambda: {"ok": 0, "missing": 0, "out_of_range": 0})

    def add(self, statement: Statement) -> Statement:
        self.counts[statement.status] += 1
        return statement


def _metric(kwargs: dict, name: str, value: float) -> None:
    log_metric = kwargs.get("log_metric")
    if log_metric is not None:
        log_metric(name, value)


def abstention_functions(settings: dict, **_) -> tuple[list[Callable], list[float]]:
    weights = check_abstention(settings)

    def abstention(completions, grading, **kwargs) -> list[float]:
        grades = [grade_answer(message_text(c), grading_of(g)) for c, g in zip(completions, grading, strict=True)]
        for kind in ("correct", "refusal", "wrong", "unparsed"):
            _metric(kwargs, f"grades/{kind}", grades.count(kind) / len(grades))
        return [abstention_reward(g, weights) for g in grades]

    return [abstention], [1.0]


def _stated(completions, grading, marker: str, counts: StatementCounts, kwargs: dict, read=None):
    """(statement, correct) of each completion (``read``: how a statement is read, ``read_statement`` by default),
    counting the statuses."""
    read = read or (lambda text: read_statement(text, marker))
    out = []
    for completion, row in zip(completions, grading, strict=True):
        statement = counts.add(read(message_text(completion)))
        out.append((statement, grade_answer(statement.answer, grading_of(row)) == "correct"))
    for status in ("missing", "out_of_range"):
        _metric(kwargs, f"confidence/{status}", sum(s.status == status for s, _ in out) / max(1, len(out)))
    return out


def calibration_functions(settings: dict, *, marker: str = DEFAULT_MARKER, counts: StatementCounts | None = None,
                          **_) -> tuple[list[Callable], list[float]]:
    weights = check_weights(settings, CALIBRATION_DEFAULTS, "training.grpo.calibration")
    counts = counts or StatementCounts()
    cache: dict = {}

    def scored(completions, grading, kwargs):
        # TRL calls the three functions with the same batch list: grade it once (the cache holds the list, so
        # its identity cannot be reused by another)
        if cache.get("completions") is not completions:
            stated = _stated(completions, grading, marker, counts, kwargs)
            cache.update(completions=completions, rewards=[rlcr_rewards(correct, s.confidence) for s, correct in stated])
        return cache["rewards"]

    def make(part: str):
        def reward(completions, grading, **kwargs) -> list[float]:
            return [r[part] for r in scored(completions, grading, kwargs)]

        reward.__name__ = f"rlcr_{part}"
        return reward

    return [make(part) for part in CALIBRATION_DEFAULTS], [weights[part] for part in CALIBRATION_DEFAULTS]


def conqord_functions(settings: dict, *, marker: str = DEFAULT_MARKER, position: str = "after",
                      counts: StatementCounts | None = None, reward_model: str | None = None, chat: bool = False,
                      system: str | None = None, **_) -> tuple[list[Callable], list[float]]:
    """CONQORD's reward; quality is the grader's (1 right, 0 otherwise), or with ``reward_model`` (the stage's
    scorer, method ``conqord_rm``) the reward model's score of the answer without its statement, as theirs."""
    options = check_weights(settings, CONQORD_DEFAULTS, "training.grpo.conqord")
    if options["alpha"] < 0 or options["clip"] <= 0:
        raise RaitError("training.grpo.conqord: alpha must be >= 0 and clip > 0")
    if isinstance(options["batch"], bool) or not isinstance(options["batch"], int) or options["batch"] < 1:
        raise RaitError(f"training.grpo.conqord.batch: the answers one order term compares, an integer >= 1, "
                        f"got {options['batch']!r}")
    counts = counts or StatementCounts()
    scorer = None
    if reward_model:
        from rait.reward_model import RewardModel

        scorer = RewardModel(str(reward_model), chat=chat, system=system)

    def conqord(prompts, completions, grading, **kwargs) -> list[float]:
        stated = _stated(completions, grading, marker, counts, kwargs,
                         read=lambda text: conqord_statement(text, marker, position))
        if scorer is None:
            qualities = [1.0 if correct else 0.0 for _, correct in stated]
        else:  # their reward model scores the sequence cut before "### Confidence"
            qualities = scorer.scores([(message_text(p), s.answer) for p, (s, _) in zip(prompts, stated, strict=True)])
        groups = order_groups([message_text(p) for p in prompts], options["batch"])
        return conqord_rewards(qualities, [s.confidence for s, _ in stated], alpha=options["alpha"],
                               clip=options["clip"], groups=groups)

    return [conqord], [1.0]


@dataclass(frozen=True)
class Reward:
    """A reward a GRPO stage names (rait.methods.Stage.reward): ``functions(settings, ...)`` gives TRL's reward
    functions and their weights (GRPOConfig.reward_weights) from its settings, ``training.grpo.<name>``, whose
    defaults are ``defaults`` (the plan puts them under what the config sets)."""
    functions: Callable[..., tuple[list[Callable], list[float]]]
    defaults: dict
    description: str


REWARDS: Registry[Reward] = Registry("reward")
REWARDS.register("abstention", Reward(abstention_functions, ABSTENTION_DEFAULTS,
                                      "TruthRL's ternary reward: correct, refusal, wrong"))
REWARDS.register("calibration", Reward(calibration_functions, CALIBRATION_DEFAULTS,
                                       "RLCR's format, accuracy and Brier rewards, weighted (configs/*/RLCR.yaml)"))
REWARDS.register("conqord", Reward(conqord_functions, CONQORD_DEFAULTS,
                                   "CONQORD's quality plus alpha x its order-preserving term, clipped"))
