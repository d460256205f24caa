from rait.checkpoints import export
from rait.workflow import run


def main(sm):
    export(sm.params.checkpoint, sm.output[0])


run(snakemake, main)
