# Stage 7: each method answers the test splits greedily; answers are scored
# against the base model's knowledge labels and greedy answers.


rule predict_answers:
    input:
        questions=f"{RESULTS}/data/{{dataset}}/test.jsonl",
        model=method_model_files,
    output:
        f"{RESULTS}/predictions/{{model}}_{{method}}/{{dataset}}_test.jsonl",
    params:
        **generation_params(
            lambda wildcards: method_checkpoint(wildcards.model, wildcards.method),
            templates=method_templates,
            sampling=prediction_sampling,
        ),
    resources:
        **gpu_job_resources(),
    log:
        f"{RESULTS}/logs/predict_answers/{{model}}_{{method}}/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/predict_answers/{{model}}_{{method}}/{{dataset}}.tsv"
    conda:
        sampling_env
    threads: 2
    script:
        "../scripts/sample_answers.py"


rule evaluate_method:
    input:
        unpack(eval_inputs),
    output:
        f"{RESULTS}/eval/{{model}}_{{method}}.json",
    params:
        datasets=lambda wildcards: eval_datasets(wildcards.model),
        refusals=lambda wildcards: list(config["grading"]["refusals"]) + [training_settings(wildcards)["refusal"]],
        exact_match=config["grading"]["exact_match"],
        provenance=eval_provenance,
    log:
        f"{RESULTS}/logs/evaluate_method/{{model}}_{{method}}.log",
    conda:
        "../../envs/data.yaml"
    localrule: True
    script:
        "../scripts/evaluate_method.py"
