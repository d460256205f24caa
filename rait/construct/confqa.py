"""ConfQA's training set (Huang et al., 2025, "ConfQA: Answer Only If You Are Confident", arXiv 2506.07309).

The rule (its abstract and section 3): when the model answers a question correctly it is trained to continue with
its answer, otherwise to say it is unsure; prompts carry the dampener, "answer only if you are confident", in
training and when answering (without it the paper's hallucination stays at 15-25%). Here each train question keeps
the base model's own greedy answer when that answer was graded correct (``samples``' ``greedy``, ``knowledge``'s
``greedy_grade``), and gets the refusal otherwise; the prompts are rendered with the ``dampened`` instruction
(``evaluation.dampener`` before the model's template, ``rait.plan.jobs``).

What differs from the paper, and why: no public code (its paper links none; searched 2026-12) to follow line by
line. The paper says "I am unsure"; rait teaches the configured refusal (``training.refusal``) as every other
method does, so that one refusal detector grades them all (set it to "I am unsure" to copy the paper). The paper
also trains on simple attribute facts from DBpedia for calibration; rait builds from the training datasets the
config names, like every method. Unlike ABSOLUTE (``rait.construct.honesty``), no sampled answer rescues a question
whose greedy answer was wrong, and the target is the model's answer, not the gold one (R-Tuning's, Idk-SFT's).
"""

from __future__ import annotations

from rait.construct.honesty import answered_questions, example, finish
from rait.construct.idk import DEFAULT_REFUSAL


def dampened_templates(templates: dict, dampener: str) -> dict:
    """The model's prompt templates with the dampener on a line before each (the ``dampened`` instruction)."""
    return {kind: f"{dampener}\n{template}" for kind, template in templates.items()}


def build_confqa(inputs: dict, options: dict) -> list[dict]:
    refusal = options.get("refusal", DEFAULT_REFUSAL)
    examples = []
    for question in answered_questions(inputs):
        if question.greedy_right:
            examples.append(example(question.record, question.greedy.strip(), "answer", options))
        else:
            examples.append(example(question.record, refusal, "refusal", options))
    return finish(examples, options, "ConfQA data")
