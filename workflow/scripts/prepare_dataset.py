from rait.datasets import load_split
from rait.io import write_jsonl
from rait.workflow import run


def main(sm):
    spec = dict(sm.params.spec)
    if "world" in sm.input.keys():
        spec["world"] = sm.input.world
    records = load_split(spec, sm.wildcards.split, limit=sm.params.limit, seed=sm.params.seed)
    write_jsonl(sm.output[0], records)


run(snakemake, main)
