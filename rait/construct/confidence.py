"""Training sets for methods whose answers carry a confidence: R-Tuning, the stated-confidence SFT that CONQORD
and calibrated RL start from, and the graded prompts of on-policy RL.

* ``rtuning`` (R-Tuning, Zhang et al., NAACL 2024; github.com/shizhediao/R-Tuning
  ``training/pararel/run_pararel.py``, method ``unsure``): every train question keeps its gold answer, followed by
  the follow-up question and "I am sure" when the base model's greedy answer was correct, else "I am unsure":
  ``"{gold}. Are you sure you accurately answered the question based on your internal knowledge? I am sure."``.
  Their code trains on the whole text (LMFlow ``text_only``); rait trains on the answer part, after the user's
  question, like every other SFT set. The wording is ``methods.rtuning.answer`` (``followup``, ``prefix``,
  ``sure``, ``unsure``), the same settings the answer strategy asks with (``rait.followup``).
* ``stated_confidence``: "<answer> <marker> <x>" (CONQORD's "### Confidence: x", ``training.confidence_marker``;
  "<marker> <x> <answer>" with ``training.confidence_position: before``),
  where x is the base model's share of correct samples (``training.confidence_decimals``: one decimal, or 0: "1"
  from half the samples right, else "0") and the answer is the greedy one when right,
  else the first right sample, else the greedy one (what the model would say); never a refusal: the confidence
  carries the doubt.
* ``graded_prompts``: every train question's prompt with what a reward needs to grade an answer to it
  (``grading``: the question record, its dataset's grading profile, the refusal sentences, exact_match).
"""

from __future__ import annotations

from rait.construct.honesty import answered_questions
from rait.construct.idk import gold_answer, grading_profile, index_by_id, label_of
from rait.errors import RaitError
from rait.prompts import render_question
from rait.rewards import DEFAULT_MARKER, confidence_text

RTUNING_DEFAULTS = {
    "followup": "Are you sure you accurately answered the question based on your internal knowledge?",
    "prefix": "I am",
    "sure": "sure",
    "unsure": "unsure",
}


def followup_wording(answer: dict | None) -> dict:
    """R-Tuning's wording from a method's answer settings (methods.<name>.answer), defaults for what is unset."""
    wording = {**RTUNING_DEFAULTS, **{k: v for k, v in (answer or {}).items() if k in RTUNING_DEFAULTS}}
    if wording["sure"].strip() == wording["unsure"].strip():
        raise RaitError("methods.rtuning.answer: `sure` and `unsure` must differ")
    return wording


def followup_context(answer: str, wording: dict) -> str:
    """What follows the question up to the sure/unsure word: "<answer>. <follow-up> <prefix>"."""
    return f"{answer.rstrip().rstrip('.')}. {wording['followup']} {wording['prefix']}"


def rtuning_target(answer: str, sure: bool, wording: dict) -> str:
    return f"{followup_context(answer, wording)} {wording['sure' if sure else 'unsure']}."


def build_rtuning(inputs: dict, options: dict) -> list[dict]:
    """{id, question, prompt, target, kind}: kind "sure" or "unsure" by the base model's greedy grade."""
    wording = followup_wording(options.get("followup"))
    labels = index_by_id(inputs["knowledge"], "knowledge")
    examples = []
    for record in inputs["questions"]:
        sure = label_of(labels, record).get("greedy_grade") == "correct"
        examples.append({"id": record["id"], "question": record["question"],
                         "prompt": render_question(record, options["templates"]),
                         "target": rtuning_target(gold_answer(record), sure, wording),
                         "kind": "sure" if sure else "unsure"})
    kinds = {example["kind"] for example in examples}
    if kinds != {"sure", "unsure"}:
        raise RaitError(f"{options.get('origin', 'rtuning')}: only {kinds or 'no'} examples: R-Tuning needs questions "
                        "the base model answers right and wrong")
    return examples


def stated(answer: str, marker: str, confidence: str, position: str = "after") -> str:
    statement = f"{marker} {confidence}"
    return f"{answer} {statement}" if position == "after" else f"{statement} {answer}"


def build_stated_confidence(inputs: dict, options: dict) -> list[dict]:
    """{id, question, prompt, target, kind "answer", confidence}."""
    marker = options.get("confidence_marker", DEFAULT_MARKER)
    position = options.get("confidence_position", "after")
    decimals = options.get("confidence_decimals", 1)
    if position not in ("after", "before"):
        raise RaitError(f"training.confidence_position: 'after' or 'before', got {position!r}")
    examples = []
    for question in answered_questions(inputs):
        answer = question.right_answer or question.greedy
        if not answer.strip():
            continue
        confidence = float(confidence_text(question.share, decimals))
        record = question.record
        examples.append({"id": record["id"], "question": record["question"],
                         "prompt": render_question(record, options["templates"]),
                         "target": stated(answer.strip(), marker, confidence_text(confidence, decimals), position),
                         "kind": "answer",
                         "confidence": confidence})
    if len({example["confidence"] for example in examples}) < 2:
        raise RaitError(f"{options.get('origin', 'stated_confidence')}: every example states the same confidence: "
                        "there is nothing to learn about when to be sure")
    return examples


def build_graded_prompts(inputs: dict, options: dict) -> list[dict]:
    """{id, question, prompt, kind "prompt", grading}."""
    refusals = list(options.get("refusals", ()))
    return [{"id": record["id"], "question": record["question"],
             "prompt": render_question(record, options["templates"]), "kind": "prompt",
             "grading": {"question": record, "profile": grading_profile(record, options), "refusals": refusals,
                         "exact_match": options.get("exact_match", False)}}
            for record in inputs["questions"]]
