import logging

from rait.certainty import join_flow
from rait.io import read_jsonl, write_jsonl
from rait.workflow import run


def main(sm):
    flow = join_flow(read_jsonl(sm.input.initial), read_jsonl(sm.input.rehearsed), origin=sm.input.rehearsed)
    moved = {"up": sum(r["flow"] > 0 for r in flow), "down": sum(r["flow"] < 0 for r in flow)}
    logging.getLogger("rait.compute_flow").info("%d questions, flow %s", len(flow), moved)
    write_jsonl(sm.output[0], flow)


run(snakemake, main)
