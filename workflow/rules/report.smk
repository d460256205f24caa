# Stage 8: one table across everything evaluated so far.


rule summarize_results:
    input:
        sorted(set(evaluated_so_far() + eval_targets(config["demo"]["model"]))),
    output:
        f"{RESULTS}/summary.csv",
    log:
        f"{RESULTS}/logs/summarize_results.log",
    conda:
        "../envs/data.yaml"
    localrule: True
    script:
        "../scripts/summarize_results.py"
