# Stage 4b: CRaFT's certainty, rehearsal and knowledge flow (rait.certainty): the per-question inputs
# `certainty` and `flow` of rait.methods.INPUT_KINDS. Only the CRaFT family reads them, so the other methods
# never load the embedding model or train the rehearsal model. The rehearsal set and model are the stage
# rait.methods.REHEARSAL, built and trained by the generic rules (build_train_data, train_stage).
REHEARSAL = registry.REHEARSAL.name


# Multiple choice runs the model itself; open questions only the small embedding model (one GPU at most).
CERTAINTY_GPUS = of(PLAN.certainty_gpus, "model", "dataset")


rule measure_certainty:
    """The base model's correctness and certainty per question (embeddings of samples, or option-letter probabilities)."""
    input:
        unpack(certainty_inputs(registry.BASE)),
    output:
        LAYOUT.knowledge(kind="certainty"),
    params:
        **certainty_params(registry.BASE),
    resources:
        **gpu_job_resources(CERTAINTY_GPUS),
    log:
        f"{RESULTS}/logs/measure_certainty/{{model}}/{{dataset}}_{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/measure_certainty/{{model}}/{{dataset}}_{{split}}.tsv"
    conda:
        "../envs/models.yaml"
    threads: 2
    script:
        "../scripts/measure_certainty.py"


rule sample_rehearsed:
    """The rehearsed model samples the train questions again (open questions; multiple choice reads letter probabilities)."""
    input:
        questions=LAYOUT.questions(),
        model=of(PLAN.checkpoint_files, "model", stage=REHEARSAL),
    output:
        LAYOUT.samples(stage=REHEARSAL),
    params:
        **generation_params(of(PLAN.stage_checkpoint, "model", stage=REHEARSAL)),
    resources:
        **gpu_job_resources(),
    log:
        f"{RESULTS}/logs/sample_rehearsed/{{model}}/{{dataset}}_{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sample_rehearsed/{{model}}/{{dataset}}_{{split}}.tsv"
    conda:
        sampling_env
    threads: 2
    script:
        "../scripts/sample_answers.py"


rule measure_rehearsed:
    """The rehearsed model's correctness (and certainty) on the train questions."""
    input:
        unpack(certainty_inputs(REHEARSAL)),
    output:
        LAYOUT.knowledge(kind="rehearsed"),
    params:
        **certainty_params(REHEARSAL),
    resources:
        **gpu_job_resources(CERTAINTY_GPUS),
    log:
        f"{RESULTS}/logs/measure_rehearsed/{{model}}/{{dataset}}_{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/measure_rehearsed/{{model}}/{{dataset}}_{{split}}.tsv"
    conda:
        "../envs/models.yaml"
    threads: 2
    script:
        "../scripts/measure_certainty.py"


rule compute_flow:
    """Knowledge flow: rehearsed minus initial correctness, joined by question id."""
    input:
        initial=LAYOUT.knowledge(kind="certainty"),
        rehearsed=LAYOUT.knowledge(kind="rehearsed"),
    output:
        LAYOUT.knowledge(kind="flow"),
    log:
        f"{RESULTS}/logs/compute_flow/{{model}}/{{dataset}}_{{split}}.log",
    conda:
        "../envs/data.yaml"
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/compute_flow.py"
