# Stage 3: n sampled answers plus one greedy answer per question, one JSONL per (model, dataset, split). A split
# is sampled in shards of at most `sampling.shard_size` questions (separate jobs, in parallel on a cluster; a
# finished shard is never sampled again), gathered into one file.


rule sample_answers:
    input:
        questions=LAYOUT.questions(),
        model=per_model(PLAN.built_model_files),
    output:
        temp(LAYOUT.sample_shard()),
    wildcard_constraints:
        shard=r"\d+",
        shards=r"\d+",
    params:
        **generation_params(per_model(PLAN.model_checkpoint)),
    resources:
        **gpu_job_resources(),
    conda:
        sampling_env
    log:
        f"{RESULTS}/logs/sample_answers/{{model}}/{{dataset}}_{{split}}/{{shard}}-of-{{shards}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sample_answers/{{model}}/{{dataset}}_{{split}}/{{shard}}-of-{{shards}}.tsv"
    threads: 2
    script:
        "../scripts/sample_answers.py"


rule gather_samples:
    input:
        of(PLAN.sample_shards, "model", "dataset", "split"),
    output:
        LAYOUT.samples(),
    log:
        f"{RESULTS}/logs/gather_samples/{{model}}/{{dataset}}_{{split}}.log",
    conda:
        "../envs/data.yaml"
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/gather_samples.py"


rule sample_heldout:
    """A stage's checkpoint samples the train questions its own training set left out (Say-I-Dont-Know's DPO:
    the half-trained Idk-SFT model samples the other half; the preference pairs come from these)."""
    input:
        questions=of(PLAN.heldout_questions, "model", "stage"),
        trained=LAYOUT.train_data(),
        # the checkpoint, and the base it applies to when it is an adapter
        model=of(PLAN.checkpoint_files, "model", "stage"),
    output:
        LAYOUT.heldout_samples(),
    wildcard_constraints:
        stage="|".join(PLAN.policy_stages()) or "(?!)",
    params:
        **generation_params(of(PLAN.stage_checkpoint, "model", "stage")),
    resources:
        **gpu_job_resources(),
    log:
        f"{RESULTS}/logs/sample_heldout/{{model}}_{{stage}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sample_heldout/{{model}}_{{stage}}.tsv"
    conda:
        sampling_env
    threads: 2
    script:
        "../scripts/sample_answers.py"
