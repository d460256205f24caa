# Stage 3: n sampled answers plus one greedy answer per question, one JSONL per (model, dataset, split).


rule sample_answers:
    input:
        questions=f"{RESULTS}/data/{{dataset}}/{{split}}.jsonl",
        model=model_files,
    output:
        f"{RESULTS}/samples/{{model}}/{{dataset}}_{{split}}.jsonl",
    params:
        **generation_params(lambda wildcards: model_checkpoint(wildcards.model)),
    resources:
        **gpu_job_resources(),
    conda:
        sampling_env
    log:
        f"{RESULTS}/logs/sample_answers/{{model}}/{{dataset}}_{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sample_answers/{{model}}/{{dataset}}_{{split}}.tsv"
    threads: 2
    script:
        "../scripts/sample_answers.py"


rule sample_dpo_candidates:
    """The half-trained Idk-SFT model samples the other half of the train questions (DPO pairs come from these)."""
    input:
        questions=f"{RESULTS}/train_data/{{model}}_dpo_questions.jsonl",
        model=f"{RESULTS}/checkpoints/{{model}}_sft_half",
    output:
        f"{RESULTS}/samples/{{model}}/sft_half/dpo_questions.jsonl",
    params:
        **generation_params(lambda wildcards: stage_checkpoint(wildcards.model, "sft_half")),
    resources:
        **gpu_job_resources(),
    log:
        f"{RESULTS}/logs/sample_dpo_candidates/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sample_dpo_candidates/{{model}}.tsv"
    conda:
        sampling_env
    threads: 2
    script:
        "../scripts/sample_answers.py"
