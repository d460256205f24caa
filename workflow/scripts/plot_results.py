import logging

from rait.report import figure_files
from rait.workflow import run

CATEGORIES = ("comparison", "knowledge", "training", "evaluation", "data")


def main(sm):
    written = figure_files(
        evals=list(sm.input.evals), curves=list(sm.input.curves), checkpoints=list(sm.params.checkpoints),
        knowledge=list(sm.input.knowledge), flows=list(sm.input.flows), thresholds=sm.params.thresholds,
        out={category: sm.output[category] for category in CATEGORIES}, base=sm.params.base,
    )
    log = logging.getLogger("rait.plot_results")
    for category in CATEGORIES:
        log.info("%s: %d files", category, len(written.get(category, [])))


run(snakemake, main)
