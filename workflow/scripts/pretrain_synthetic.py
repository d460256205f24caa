import logging

from rait.io import read_jsonl
from rait.synthetic import pretrain_tiny_lm
from rait.workflow import run


def main(sm):
    log = logging.getLogger("rait.pretrain_synthetic")
    stats = pretrain_tiny_lm(read_jsonl(sm.input.world), sm.output[0], seed=sm.params.seed, log=log.info, **sm.params.options)
    log.info("pretraining done: %s", stats)


run(snakemake, main)
