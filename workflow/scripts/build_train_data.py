import logging

from rait.construct import build, read_input
from rait.io import read_jsonl, write_jsonl
from rait.workflow import run


def main(sm):
    inputs = {name: read_input(paths) for name, paths in sm.input.items() if name != "questions"}
    # the question files come one per training dataset, in order: each record learns its dataset, which picks
    # its grading profile where datasets are graded differently
    if "questions" in sm.input.keys():
        inputs["questions"] = [{**record, "dataset": dataset}
                               for dataset, path in zip(sm.params.datasets, sm.input.questions, strict=True)
                               for record in read_jsonl(path)]
    options = {**sm.params.options, "origin": sm.output[0]}
    records = build(sm.params.builder, inputs, options)
    kinds = {kind: sum(r["kind"] == kind for r in records) for kind in ("answer", "refusal")}
    logging.getLogger("rait.construct").info("%s: %d examples %s", sm.output[0], len(records), kinds)
    write_jsonl(sm.output[0], records)


run(snakemake, main)
