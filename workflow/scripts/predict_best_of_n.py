import logging

from rait.answering import STRATEGIES
from rait.io import read_jsonl, write_jsonl
from rait.prompts import render_question
from rait.sampling import generate_for
from rait.scoring import RewardModel, distinct
from rait.workflow import run


def main(sm):
    log = logging.getLogger("rait.predict_best_of_n")
    records = read_jsonl(sm.input.questions)
    generated = generate_for(records, sm.params)
    scorer = RewardModel(sm.params.scorer, chat=sm.params.chat, system=sm.params.system)
    single = 0
    for record, row in zip(records, generated, strict=True):
        # all N samples empty: the greedy answer is the one candidate
        row["candidates"] = distinct(row["samples"]) or [row["greedy"]]
        single += len(row["candidates"]) == 1
        question = render_question(record, dict(sm.params.templates))
        row["scores"] = scorer.scores([(question, candidate) for candidate in row["candidates"]])
    log.info("%d questions, %d samples each; %d had one distinct candidate (nothing to choose)", len(records),
             sm.params.sampling["n"], single)
    write_jsonl(sm.output[0], STRATEGIES[sm.params.strategy].predictions(generated))


run(snakemake, main)
