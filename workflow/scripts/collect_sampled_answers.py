from rait.answering import STRATEGIES
from rait.io import read_jsonl, write_jsonl
from rait.workflow import run


def main(sm):
    write_jsonl(sm.output[0], STRATEGIES[sm.params.strategy].predictions(read_jsonl(sm.input.samples)))


run(snakemake, main)
