# Stage 8: the comparison across everything evaluated, as tables and as the figures of `snakemake --report`.
# `summary` is the quick demo's (summary) or the full demo's (summary_full); both also cover every other
# evaluation on disk. Captions: workflow/report/*.rst.


rule summarize_results:
    """results/summary.csv (every metric with its interval and its difference from the base model) and
    results/summary.md (methods as rows, test sets x headline metrics as columns, the best of each marked)."""
    input:
        summary_inputs,
    output:
        table=report(
            LAYOUT.summary(),
            category="Comparison",
            subcategory="tables",
            labels={"table": "{summary}"},
            caption="../report/summary.rst",
        ),
        markdown=LAYOUT.summary(suffix="md"),
    wildcard_constraints:
        summary="summary|summary_full",
    params:
        missing=missing_evaluations,
    log:
        f"{RESULTS}/logs/summarize_results/{{summary}}.log",
    conda:
        "../envs/data.yaml"
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/summarize_results.py"


rule plot_results:
    """The report's figures, one folder per category (rait.plots, rait.report.figure_files)."""
    input:
        unpack(lambda wildcards: {k: v for k, v in report_inputs(wildcards).items() if k != "checkpoints"}),
    output:
        comparison=report(
            directory(LAYOUT.report(category="comparison")),
            patterns=["{figure}/{model}/{test_set}.svg"],
            category="Comparison",
            subcategory="{figure}",
            labels={"model": "{model}", "test set": "{test_set}"},
            caption="../report/comparison.rst",
        ),
        knowledge=report(
            directory(LAYOUT.report(category="knowledge")),
            patterns=["{figure}/{model}/{dataset}.svg"],
            category="Knowledge",
            subcategory="{figure}",
            labels={"model": "{model}", "dataset": "{dataset}"},
            caption="../report/knowledge.rst",
        ),
        training=report(
            directory(LAYOUT.report(category="training")),
            patterns=["{model}/{stage}.svg"],
            category="Training",
            labels={"model": "{model}", "stage": "{stage}"},
            caption="../report/training.rst",
        ),
        evaluation=report(
            directory(LAYOUT.report(category="evaluation")),
            patterns=["{model}/{method}.svg"],
            category="Evaluation",
            labels={"model": "{model}", "method": "{method}"},
            caption="../report/evaluation.rst",
        ),
        data=report(
            directory(LAYOUT.report(category="data")),
            patterns=["{model}/data.csv"],
            category="Data",
            labels={"model": "{model}"},
            caption="../report/data.rst",
        ),
    wildcard_constraints:
        summary="summary|summary_full",
    params:
        checkpoints=report_checkpoints,
        thresholds=lambda wildcards: PLAN.report_thresholds(),
        base=registry.BASE,
    log:
        f"{RESULTS}/logs/plot_results/{{summary}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_results/{{summary}}.tsv"
    conda:
        "../envs/data.yaml"
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/plot_results.py"


# The report's target after a partly failed run (report.skip_missing: true): the summary and figures alone.
rule report_results:
    input:
        LAYOUT.summary("summary"),
        LAYOUT.report("summary", "comparison"),
