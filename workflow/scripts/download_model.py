from rait.models import download_model
from rait.workflow import run


def main(sm):
    download_model(sm.params.repo, sm.params.revision, sm.output[0])


run(snakemake, main)
