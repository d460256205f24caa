from rait.pareto import sweep_groups
from rait.report import read_eval, summary_markdown, summary_rows, write_markdown, write_summary
from rait.workflow import run


def main(sm):
    rows = summary_rows(list(sm.input))
    title = "Full demo summary" if sm.wildcards.summary == "summary_full" else "Summary"
    sweeps = sweep_groups([read_eval(path) for path in sm.input])
    write_markdown(sm.output.markdown, summary_markdown(rows, missing=sm.params.missing, title=title, sweeps=sweeps))
    write_summary(sm.output.table, rows)


run(snakemake, main)
