import logging

from rait.answering import STRATEGIES
from rait.construct.confidence import followup_wording
from rait.followup import FollowUp, answer_before_followup
from rait.io import read_jsonl, write_jsonl
from rait.prompts import render_question
from rait.sampling import generate_for
from rait.workflow import run


def main(sm):
    log = logging.getLogger("rait.predict_with_followup")
    settings = dict(sm.params.answer)
    wording = followup_wording(settings)
    records = read_jsonl(sm.input.questions)
    generated = generate_for(records, sm.params)
    for row in generated:
        row["answer"] = answer_before_followup(row["greedy"], wording)
    asker = FollowUp(sm.params.weights, chat=sm.params.chat, system=sm.params.system)
    # the user's question as rendered, not the generation's prompt (already chat templated): FollowUp templates it
    questions = [render_question(record, dict(sm.params.templates)) for record in records]
    confidences = asker.confidences(questions, [row["answer"] for row in generated], wording, settings["answer_weight"])
    for row, confidence in zip(generated, confidences, strict=True):
        row["confidences"] = confidence
    empty = sum(not row["answer"] for row in generated)
    log.info("%d questions; %d answers empty before the follow-up; mean P(sure) %.3f", len(records), empty,
             sum(c["sure"] for c in confidences) / max(1, len(confidences)))
    write_jsonl(sm.output[0], STRATEGIES[sm.params.strategy].predictions(generated, settings))


run(snakemake, main)
