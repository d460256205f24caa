from rait.io import write_jsonl
from rait.synthetic import generate_world
from rait.workflow import run


def main(sm):
    world = generate_world(sm.params.n_facts, sm.params.exposures, sm.params.seed)
    write_jsonl(sm.output[0], world)


run(snakemake, main)
