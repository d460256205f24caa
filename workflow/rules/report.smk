# Stage 8: one table across everything evaluated so far.


rule summarize_results:
    """results/summary.csv: the quick demo's evaluations and every other one on disk; results/summary_full.csv:
    the full demo's (`demo_all`) and every other one on disk."""
    input:
        summary_inputs,
    output:
        f"{RESULTS}/{{summary}}.csv",
    wildcard_constraints:
        summary="summary|summary_full",
    log:
        f"{RESULTS}/logs/summarize_results/{{summary}}.log",
    conda:
        "../envs/data.yaml"
    localrule: True
    script:
        "../scripts/summarize_results.py"
