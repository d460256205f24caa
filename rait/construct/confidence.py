"""Training sets for methods whose answers carry a confidence: R-Tuning, the stated-confidence SFT that CONQORD
and calibrated RL start from, and the graded prompts of on-policy RL.

* ``rtuning`` (R-Tuning, Zhang et al., NAACL 2024; shizhediao/R-Tuning@27e0384
  ``training/pararel/run_pararel.py``, method ``unsure``): every train question keeps its gold answer, followed by
  the follow-up question and "I am sure" when the base model answered it right, else "I am unsure":
  ``"{gold}. Are you sure you accurately answered the question based on your internal knowledge? I am sure."``.
  "Answered it right" is R-Tuning's rule by default (``methods.rtuning.data.label: substring``): the gold answer
  occurs, case as written, in the greedy answer up to its first "." (``inference`` and ``if sample[1] in
  output``); for multiple choice the greedy letter is the gold one (``training/MMLU/run_MMLU.py``: the most probable
  of A-D; here the letter the grader reads). ``label: grade`` takes rait's grader instead. Two departures: the
  greedy answer is the one sampled with the model's samples (up to ``sampling.max_new_tokens``; theirs stopped at
  15 tokens), and an answer without a "." is kept whole (their ``output_text[:output_text.find('.')]`` then drops
  the last character, -1 being "not found": rare in their 15 free tokens, the rule for one-line answers).
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


RTUNING_LABELS = ("substring", "grade")


def rtuning_sure(record: dict, greedy: str, greedy_grade: str | None, rule: str) -> bool:
    """Whether R-Tuning labels a train question "sure": its rule (``substring``, see above) or rait's grade."""
    if rule == "grade" or "choices" in record:
        return greedy_grade == "correct"
    cut = greedy.find(".")
    return gold_answer(record) in (greedy if cut == -1 else greedy[:cut])


def build_rtuning(inputs: dict, options: dict) -> list[dict]:
    """{id, question, prompt, target, kind}: kind "sure" or "unsure" by the base model's greedy answer (its
    ``label`` rule: R-Tuning's ``substring`` or rait's ``grade``)."""
    wording = followup_wording(options.get("followup"))
    rule = options.get("label", "substring")
    if rule not in RTUNING_LABELS:
        raise RaitError(f"methods.rtuning.data.label: {rule!r} is not one of {', '.join(RTUNING_LABELS)}")
    labels = index_by_id(inputs["knowledge"], "knowledge")
    samples = index_by_id(inputs.get("samples", []), "samples")
    examples = []
    for record in inputs["questions"]:
        if rule == "substring" and record["id"] not in samples:
            raise RaitError(f"samples miss question {record['id']!r}: R-Tuning's label reads its greedy answer")
        greedy = samples.get(record["id"], {}).get("greedy", "")
        sure = rtuning_sure(record, greedy, label_of(labels, record).get("greedy_grade"), rule)
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
