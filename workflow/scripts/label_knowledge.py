import logging

from rait.io import read_jsonl, write_jsonl
from rait.knowledge import label_split, summarize
from rait.workflow import run


def main(sm):
    labels = label_split(
        read_jsonl(sm.input.questions),
        read_jsonl(sm.input.samples),
        sm.params.threshold,
        samples_origin=sm.input.samples,
        exact=sm.params.exact_match,
        refusals=list(sm.params.refusals),
        profile=sm.params.profile,
    )
    write_jsonl(sm.output[0], labels)
    logging.getLogger("rait.label_knowledge").info("summary: %s", summarize(labels))


run(snakemake, main)
