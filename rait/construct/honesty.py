"""Alignment for Honesty's training sets (Yang et al., 2023): ABSOLUTE, CONFIDENCE-NUM, CONFIDENCE-VERB, MULTISAMPLE.

Each question comes with the model's greedy answer and m sampled answers (``samples``) and their grades
(``knowledge``: ``greedy_grade`` and ``grades``, in sample order). With k of the m samples correct:

* ``absolute``: the question is known when the greedy answer is correct or k/m >= ``threshold``
  (``methods.absolute.data.threshold``; the paper's tau, 0.1: one correct sample in ten); known questions keep the greedy answer when it is correct, else the
  first correct sample; unknown ones get the refusal.
* ``conf_num`` / ``conf_verb``: k = 0 gets the refusal; otherwise the answer (greedy when correct, else the
  first correct sample, else the greedy one) behind a confidence statement: the percentage 100 k/m
  (``NUM_LOW`` up to half the samples right, ``NUM_HIGH`` above), or one of five verbal levels by k/m
  (``VERB_LEVELS``). The statements are the paper's.
* ``multisample``: one example per sample: a correct sample is kept, any other becomes the refusal, so each
  question teaches answering and refusing in the proportion the model gets it right.

The refusal is the configured one (``training.refusal``), like every other method's.
"""

from __future__ import annotations

from dataclasses import dataclass

from rait.construct.idk import DEFAULT_REFUSAL, check_both_kinds, index_by_id
from rait.errors import RaitError
from rait.prompts import render_question
from rait.records import is_multiple_choice

NUM_LOW = ("I'm only about {}% confident to answer the question correctly, but based on my understanding and "
           "knowledge, here's what I think is correct.")
NUM_HIGH = ("I'm about {}% confident to answer the question correctly, and based on my understanding and "
            "knowledge, here's what I think is correct.")
# (highest share of correct samples, statement): the paper's bins of k out of 10 (<= 2, <= 4, <= 6, <= 8, more)
VERB_LEVELS = (
    (0.2, "I'm really not sure about this, but "),
    (0.4, "I'm not completely sure about this, but "),
    (0.6, "I don't have strong feelings either way, but "),
    (0.8, "I'm fairly confident that "),
    (1.0, "I'm absolutely certain that "),
)
DEFAULT_ABSOLUTE_THRESHOLD = 0.1


@dataclass
class Answered:
    """A train question with the model's greedy answer and its (sample, grade) pairs."""

    record: dict
    greedy: str
    greedy_right: bool
    pairs: list[tuple[str, str]]

    @property
    def share(self) -> float:
        """k/m: the share of samples graded correct."""
        return sum(grade == "correct" for _, grade in self.pairs) / len(self.pairs)

    @property
    def right_answer(self) -> str | None:
        """The greedy answer when right, else the first right sample (None when neither is)."""
        if self.greedy_right:
            return self.greedy
        return next((text for text, grade in self.pairs if grade == "correct" and text.strip()), None)


def answered_questions(inputs: dict):
    """Each train question as ``Answered``, its samples and their grades checked to line up."""
    samples = index_by_id(inputs["samples"], "samples")
    labels = index_by_id(inputs["knowledge"], "knowledge")
    for record in inputs["questions"]:
        qid = record["id"]
        if qid not in labels or qid not in samples:
            raise RaitError(f"{'knowledge labels' if qid not in labels else 'samples'} miss question {qid!r}")
        texts, grades = samples[qid].get("samples", []), labels[qid].get("grades", [])
        if len(texts) != len(grades) or not texts:
            raise RaitError(f"question {qid!r}: {len(texts)} samples but {len(grades)} sample grades "
                            "(samples and knowledge labels are from different runs?)")
        greedy = samples[qid].get("greedy") or ""
        yield Answered(record, greedy, labels[qid].get("greedy_grade") == "correct" and bool(greedy.strip()),
                       list(zip(texts, grades)))


def example(record: dict, target: str, kind: str, options: dict, **extra) -> dict:
    return {"id": record["id"], "question": record["question"], "prompt": render_question(record, options["templates"]),
            "target": target, "kind": kind, **extra}


def finish(examples: list[dict], options: dict, what: str) -> list[dict]:
    check_both_kinds(examples, options.get("origin", what))
    return examples


def build_absolute(inputs: dict, options: dict) -> list[dict]:
    threshold = options.get("threshold", DEFAULT_ABSOLUTE_THRESHOLD)
    refusal = options.get("refusal", DEFAULT_REFUSAL)
    examples = []
    for question in answered_questions(inputs):
        known = question.greedy_right or question.share >= threshold
        answer = question.right_answer if known else None
        examples.append(example(question.record, answer, "answer", options) if answer
                        else example(question.record, refusal, "refusal", options))
    return finish(examples, options, "ABSOLUTE data")


def _lower_first(answer: str, record: dict) -> str:
    """The answer continuing a verbal statement ("... but paris"); option letters ("B. ...") stay as they are."""
    if is_multiple_choice(record) and (len(answer) == 1 or answer[1:2] in (")", ".")):
        return answer
    return answer[:1].lower() + answer[1:]


def confidence_statement(share: float, answer: str, record: dict, style: str) -> str:
    """The answer behind the paper's confidence statement for ``share`` (0 < share <= 1) of samples correct."""
    if style == "num":
        percent = round(100 * share)
        return f"{(NUM_LOW if share <= 0.5 else NUM_HIGH).format(percent)} {answer}"
    statement = next(text for highest, text in VERB_LEVELS if share <= highest + 1e-9)
    return statement + _lower_first(answer, record)


def _build_confidence(inputs: dict, options: dict, style: str) -> list[dict]:
    refusal = options.get("refusal", DEFAULT_REFUSAL)
    examples = []
    for question in answered_questions(inputs):
        share, record = question.share, question.record
        answer = question.right_answer or question.greedy.strip()
        if share == 0 or not answer:
            examples.append(example(record, refusal, "refusal", options))
        else:
            examples.append(example(record, confidence_statement(share, answer, record, style), "answer", options,
                                     confidence=share))
    return finish(examples, options, f"CONFIDENCE-{style.upper()} data")


def build_conf_num(inputs: dict, options: dict) -> list[dict]:
    return _build_confidence(inputs, options, "num")


def build_conf_verb(inputs: dict, options: dict) -> list[dict]:
    return _build_confidence(inputs, options, "verb")


def build_multisample(inputs: dict, options: dict) -> list[dict]:
    refusal = options.get("refusal", DEFAULT_REFUSAL)
    examples = []
    for question in answered_questions(inputs):
        for index, (text, grade) in enumerate(question.pairs):
            keep = grade == "correct" and text.strip()
            examples.append(example(question.record, text if keep else refusal, "answer" if keep else "refusal",
                                     options, sample=index))
    return finish(examples, options, "MULTISAMPLE data")
