# rait: refusal-aware instruction tuning as one DAG.
# Stages, in DAG order: data -> models -> sample -> knowledge -> craft -> construct -> train -> evaluate -> report.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/knowledge.smk"
include: "workflow/rules/craft.smk"
include: "workflow/rules/construct.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        demo_targets(),
        eval_targets(config["demo"]["model"]),
        f"{RESULTS}/summary.csv",
    default_target: True
