import logging

from rait.answering import STRATEGIES
from rait.io import read_jsonl, write_jsonl
from rait.sampling import generate_for
from rait.workflow import run


def main(sm):
    records = read_jsonl(sm.input.questions)
    logging.getLogger("rait.predict_answers").info("%d questions, strategy %s", len(records), sm.params.strategy)
    generated = generate_for(records, sm.params)
    write_jsonl(sm.output[0], STRATEGIES[sm.params.strategy].predictions(generated, dict(sm.params.answer)))


run(snakemake, main)
