import logging

from rait.answering import STRATEGIES, AnswerJob, predictions_of
from rait.io import read_jsonl, write_jsonl
from rait.sampling import generate_for
from rait.workflow import run


def main(sm):
    records = read_jsonl(sm.input.questions)
    logging.getLogger("rait.predict_answers").info("%d questions, strategy %s", len(records), sm.params.strategy)
    generated = generate_for(records, sm.params)
    job = AnswerJob(records, dict(sm.params.templates), dict(sm.params.answer), sm.params.weights, sm.params.chat,
                    sm.params.system, dict(sm.params.checkpoints))
    write_jsonl(sm.output[0], predictions_of(STRATEGIES[sm.params.strategy], generated, job))


run(snakemake, main)
