# Stage 4b: CRaFT's certainty, rehearsal and knowledge flow (rait.certainty).
# Only the craft methods ask for these files, so the other methods never load
# the embedding model or train the rehearsal model.


rule measure_certainty:
    """The base model's correctness and certainty per question (embeddings of samples, or option-letter probabilities)."""
    input:
        unpack(certainty_inputs("base")),
    output:
        f"{RESULTS}/knowledge/{{model}}/certainty/{{dataset}}_{{split}}.jsonl",
    params:
        **certainty_params("base"),
    resources:
        **gpu_job_resources(certainty_gpus),
    log:
        f"{RESULTS}/logs/measure_certainty/{{model}}/{{dataset}}_{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/measure_certainty/{{model}}/{{dataset}}_{{split}}.tsv"
    conda:
        "../../envs/models.yaml"
    threads: 2
    script:
        "../scripts/measure_certainty.py"


rule build_rehearsal_data:
    """Questions the base model knows with near certainty, its own most frequent correct answer as target."""
    input:
        unpack(rehearsal_inputs),
    output:
        f"{RESULTS}/train_data/{{model}}_rehearsal.jsonl",
    params:
        builder="rehearsal",
        options=rehearsal_options,
    log:
        f"{RESULTS}/logs/build_rehearsal_data/{{model}}.log",
    conda:
        "../../envs/data.yaml"
    localrule: True
    script:
        "../scripts/build_train_data.py"


rule sample_rehearsed:
    """The rehearsed model samples the train questions again (open questions; multiple choice reads letter probabilities)."""
    input:
        questions=f"{RESULTS}/data/{{dataset}}/{{split}}.jsonl",
        model=f"{RESULTS}/checkpoints/{{model}}_rehearsal",
    output:
        f"{RESULTS}/samples/{{model}}/rehearsal/{{dataset}}_{{split}}.jsonl",
    params:
        **generation_params(lambda wildcards: stage_checkpoint(wildcards.model, "rehearsal")),
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
        unpack(certainty_inputs("rehearsal")),
    output:
        f"{RESULTS}/knowledge/{{model}}/rehearsed/{{dataset}}_{{split}}.jsonl",
    params:
        **certainty_params("rehearsal"),
    resources:
        **gpu_job_resources(certainty_gpus),
    log:
        f"{RESULTS}/logs/measure_rehearsed/{{model}}/{{dataset}}_{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/measure_rehearsed/{{model}}/{{dataset}}_{{split}}.tsv"
    conda:
        "../../envs/models.yaml"
    threads: 2
    script:
        "../scripts/measure_certainty.py"


rule compute_flow:
    """Knowledge flow: rehearsed minus initial correctness, joined by question id."""
    input:
        initial=f"{RESULTS}/knowledge/{{model}}/certainty/{{dataset}}_{{split}}.jsonl",
        rehearsed=f"{RESULTS}/knowledge/{{model}}/rehearsed/{{dataset}}_{{split}}.jsonl",
    output:
        f"{RESULTS}/knowledge/{{model}}/flow/{{dataset}}_{{split}}.jsonl",
    log:
        f"{RESULTS}/logs/compute_flow/{{model}}/{{dataset}}_{{split}}.log",
    conda:
        "../../envs/data.yaml"
    localrule: True
    script:
        "../scripts/compute_flow.py"
