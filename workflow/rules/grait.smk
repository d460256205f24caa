# Stage 4c: GRAIT's gradient features (rait.influence, LESS's): the per-question input `gradients` of
# rait.methods.INPUT_KINDS. Only GRAIT reads them. The warm-up it takes them at is the stage
# rait.methods.GRAIT_WARMUP (a LoRA fine-tuning on CRaFT's rehearsal set), built and trained by the generic rules.
GRAIT_WARMUP = registry.GRAIT_WARMUP.name


rule collect_gradients:
    """Each train question's gradient at the warm-up adapter, with its gold answer and with the refusal as target,
    projected (trak) and normalised."""
    input:
        questions=LAYOUT.questions(),
        model=of(PLAN.checkpoint_files, "model", stage=GRAIT_WARMUP),
    output:
        LAYOUT.gradients(),
    params:
        checkpoint=of(PLAN.stage_checkpoint, "model", stage=GRAIT_WARMUP),
        options=of(PLAN.gradient_params, "model", "dataset"),
    resources:
        **gpu_job_resources(of(PLAN.gradient_gpus, "model")),
    log:
        f"{RESULTS}/logs/collect_gradients/{{model}}/{{dataset}}_{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/collect_gradients/{{model}}/{{dataset}}_{{split}}.tsv"
    conda:
        "../envs/training.yaml"
    threads: 2
    script:
        "../scripts/collect_gradients.py"
