# Stage 7: each method answers the test splits by its answer strategy (rait.answering); answers are scored
# against the base model's knowledge labels and greedy answers, optionally with a model judge (grading.judge).
# One prediction rule per strategy.


rule predict_answers:
    """Strategies `greedy`, `stated_num`, `stated_verb`: the method's checkpoint answers each test question once,
    greedily (the stated ones read the confidence the answer states)."""
    input:
        questions=f"{RESULTS}/data/{{dataset}}/test.jsonl",
        model=answer_model_files,
    output:
        f"{RESULTS}/predictions/{{model}}_{{method}}/{{dataset}}_test.jsonl",
    wildcard_constraints:
        method="|".join(methods_predicted_by("predict_answers")) or "(?!)",
    params:
        **generation_params(answer_checkpoint, templates=answer_templates, sampling=answer_sampling),
        strategy=lambda wildcards: METHODS[wildcards.method].answer.strategy,
        answer=answer_settings,
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


rule predict_best_of_n:
    """Strategy `best_of_n` (Idk-BoN): N samples of the method's checkpoint per test question, de-duplicated,
    scored by its scorer stage's reward model; the best is the answer (rait.scoring)."""
    input:
        questions=f"{RESULTS}/data/{{dataset}}/test.jsonl",
        model=answer_model_files,
        scorer=answer_scorer_files,
    output:
        f"{RESULTS}/predictions/{{model}}_{{method}}/{{dataset}}_test.jsonl",
    wildcard_constraints:
        method="|".join(methods_predicted_by("predict_best_of_n")) or "(?!)",
    params:
        **generation_params(answer_checkpoint, templates=answer_templates, sampling=best_of_n_sampling),
        scorer=answer_scorer,
        strategy="best_of_n",
    resources:
        **gpu_job_resources(),
    log:
        f"{RESULTS}/logs/predict_best_of_n/{{model}}_{{method}}/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/predict_best_of_n/{{model}}_{{method}}/{{dataset}}.tsv"
    conda:
        sampling_env
    threads: 2
    script:
        "../scripts/predict_best_of_n.py"


rule predict_with_followup:
    """Strategy `followup_sure` (R-Tuning): the checkpoint's greedy answer, then the follow-up question "Are you
    sure ...? I am" and P(sure) / (P(sure) + P(unsure)), mixed with the answer's token probability (rait.followup)."""
    input:
        questions=f"{RESULTS}/data/{{dataset}}/test.jsonl",
        model=answer_model_files,
    output:
        f"{RESULTS}/predictions/{{model}}_{{method}}/{{dataset}}_test.jsonl",
    wildcard_constraints:
        method="|".join(methods_predicted_by("predict_with_followup")) or "(?!)",
    params:
        **generation_params(answer_checkpoint, templates=answer_templates, sampling=answer_sampling),
        strategy="followup_sure",
        answer=answer_settings,
    resources:
        **gpu_job_resources(),
    log:
        f"{RESULTS}/logs/predict_with_followup/{{model}}_{{method}}/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/predict_with_followup/{{model}}_{{method}}/{{dataset}}.tsv"
    conda:
        sampling_env
    threads: 2
    script:
        "../scripts/predict_with_followup.py"


rule collect_sampled_answers:
    """Strategy `sampled_greedy`: the base model's greedy answers, generated beside its samples of the test split."""
    input:
        samples=f"{RESULTS}/samples/{{model}}/{{dataset}}_test.jsonl",
    output:
        f"{RESULTS}/predictions/{{model}}_{{method}}/{{dataset}}_test.jsonl",
    wildcard_constraints:
        method="|".join(methods_predicted_by("collect_sampled_answers")) or "(?!)",
    params:
        strategy="sampled_greedy",
    log:
        f"{RESULTS}/logs/collect_sampled_answers/{{model}}_{{method}}/{{dataset}}.log",
    conda:
        "../envs/data.yaml"
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/collect_sampled_answers.py"


rule judge_answers:
    """grading.judge: a model rates each of a method's answers against the gold answer (rait.judging). One job
    per prediction file and judge: every evaluation that needs these answers judged reads this file."""
    input:
        questions=f"{RESULTS}/data/{{dataset}}/test.jsonl",
        predictions=f"{RESULTS}/predictions/{{model}}_{{method}}/{{dataset}}_test.jsonl",
        judge=lambda wildcards: built_model_files(wildcards.judge),
    output:
        f"{RESULTS}/judgments/{{judge}}/{{model}}_{{method}}/{{dataset}}_test.jsonl",
    wildcard_constraints:
        judge=JUDGE["model"] if JUDGE else "(?!)",
    params:
        **judge_generation_params(),
        prompt=lambda wildcards: JUDGE["prompt"],  # a function: a template's braces are not wildcards
        accept=lambda wildcards: JUDGE["accept"],
        question_templates=prompt_templates,
    resources:
        **gpu_job_resources(wildcard="judge"),
    log:
        f"{RESULTS}/logs/judge_answers/{{judge}}/{{model}}_{{method}}/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/judge_answers/{{judge}}/{{model}}_{{method}}/{{dataset}}.tsv"
    conda:
        lambda wildcards: engine_env(wildcards.judge)
    threads: 2
    script:
        "../scripts/judge_answers.py"


rule evaluate_method:
    input:
        unpack(eval_inputs),
    output:
        metrics=f"{RESULTS}/eval/{{model}}_{{method}}.json",
        graded=f"{RESULTS}/eval/{{model}}_{{method}}.graded.jsonl",
        # the accuracy-coverage curve and reliability bins of the answers that carry a confidence
        curves=f"{RESULTS}/eval/curves/{{model}}_{{method}}.json",
    params:
        datasets=lambda wildcards: eval_datasets(wildcards.model),
        provenance=eval_provenance,
        bootstrap=config["grading"]["bootstrap"],
        **eval_grading_params(),
    log:
        f"{RESULTS}/logs/evaluate_method/{{model}}_{{method}}.log",
    conda:
        "../envs/data.yaml"
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/evaluate_method.py"
