import logging

from rait.io import read_jsonl, read_jsonl_files, write_jsonl
from rait.sampling import generate_for
from rait.workflow import run


def questions(sm) -> list[dict]:
    """The questions to sample; with a `trained` input, only those its training set left out."""
    records = read_jsonl_files(sm.input.questions)
    if "trained" in sm.input.keys():
        trained = {record["id"] for record in read_jsonl(sm.input.trained)}
        records = [record for record in records if record["id"] not in trained]
    return records


def main(sm):
    records = questions(sm)
    logging.getLogger("rait.sample_answers").info("%d questions", len(records))
    write_jsonl(sm.output[0], generate_for(records, sm.params))


run(snakemake, main)
