from rait.report import summary_rows, write_summary
from rait.workflow import run


def main(sm):
    write_summary(sm.output[0], summary_rows(list(sm.input)))


run(snakemake, main)
