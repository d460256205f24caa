import logging

from rait.io import read_jsonl, read_jsonl_files, write_jsonl
from rait.sampling import PartFile, generate_for, shard_of
from rait.workflow import run


def questions(sm) -> list[dict]:
    """The questions to sample: the job's shard of the split, or, with a `trained` input, the questions that
    training set left out."""
    records = read_jsonl_files(sm.input.questions)
    if "trained" in sm.input.keys():
        trained = {record["id"] for record in read_jsonl(sm.input.trained)}
        records = [record for record in records if record["id"] not in trained]
    if "shard" in sm.wildcards.keys():
        records = shard_of(records, int(sm.wildcards.shard), int(sm.wildcards.shards))
    return records


def main(sm):
    records = questions(sm)
    logging.getLogger("rait.sample_answers").info("%d questions", len(records))
    part = PartFile.beside(sm.output[0], {name: sm.params[name] for name in sm.params.keys()}, sm.input)
    write_jsonl(sm.output[0], generate_for(records, sm.params, part=part))
    part.remove()


run(snakemake, main)
