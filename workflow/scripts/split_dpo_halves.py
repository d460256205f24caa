import logging

from rait.construct import build
from rait.construct.idk import split_halves
from rait.io import read_jsonl_files, write_jsonl
from rait.workflow import run


def main(sm):
    inputs = {name: read_jsonl_files(sm.input[name]) for name in ("questions", "samples", "knowledge")}
    questions = inputs["questions"]
    warmup, sampled = split_halves([record["id"] for record in questions], sm.params.options["seed"])
    records = build("idk_sft", inputs, {**sm.params.options, "ids": warmup, "origin": sm.output.sft})
    write_jsonl(sm.output.sft, records)
    write_jsonl(sm.output.questions, [record for record in questions if record["id"] in sampled])
    logging.getLogger("rait.construct").info("%d warm-up examples, %d questions to sample", len(records), len(sampled))


run(snakemake, main)
