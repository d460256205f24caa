# Stage 7: each method answers the test splits by its answer strategy (rait.answering); answers are scored
# against the base model's knowledge labels and greedy answers. One prediction rule per strategy.


rule predict_answers:
    """Strategy `greedy`: the method's checkpoint answers each test question once, greedily."""
    input:
        questions=f"{RESULTS}/data/{{dataset}}/test.jsonl",
        model=answer_model_files,
    output:
        f"{RESULTS}/predictions/{{model}}_{{method}}/{{dataset}}_test.jsonl",
    wildcard_constraints:
        method="|".join(methods_answering_with("greedy")) or "(?!)",
    params:
        **generation_params(answer_checkpoint, templates=answer_templates, sampling=answer_sampling),
        strategy="greedy",
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
        "../scripts/predict_answers.py"


rule collect_sampled_answers:
    """Strategy `sampled_greedy`: the base model's greedy answers, generated beside its samples of the test split."""
    input:
        samples=f"{RESULTS}/samples/{{model}}/{{dataset}}_test.jsonl",
    output:
        f"{RESULTS}/predictions/{{model}}_{{method}}/{{dataset}}_test.jsonl",
    wildcard_constraints:
        method="|".join(methods_answering_with("sampled_greedy")) or "(?!)",
    params:
        strategy="sampled_greedy",
    log:
        f"{RESULTS}/logs/collect_sampled_answers/{{model}}_{{method}}/{{dataset}}.log",
    conda:
        "../envs/data.yaml"
    localrule: True
    script:
        "../scripts/collect_sampled_answers.py"


rule evaluate_method:
    input:
        unpack(eval_inputs),
    output:
        metrics=f"{RESULTS}/eval/{{model}}_{{method}}.json",
        graded=f"{RESULTS}/eval/{{model}}_{{method}}.graded.jsonl",
    params:
        datasets=lambda wildcards: eval_datasets(wildcards.model),
        provenance=eval_provenance,
        bootstrap=config["grading"]["bootstrap"],
        **grading_params(),
    log:
        f"{RESULTS}/logs/evaluate_method/{{model}}_{{method}}.log",
    conda:
        "../envs/data.yaml"
    localrule: True
    script:
        "../scripts/evaluate_method.py"
