# Stage 7: each method answers the test splits by its answer strategy (rait.answering); answers are scored
# against the base model's knowledge labels and greedy answers, optionally with a model judge (grading.judge).
# One prediction rule per strategy.
ANSWER_CHECKPOINT = of(PLAN.answer_checkpoint, "model", "method")
ANSWER_TEMPLATES = of(PLAN.answer_templates, "model", "method")
# The rules here that write predictions; every answer strategy names one (rait.answering.Strategy.rule).
PREDICTION_RULES = ("predict_answers", "predict_best_of_n", "predict_with_followup", "collect_sampled_answers")
for _name, _strategy in PLAN.strategies.items():
    # (a `rule` word followed by a colon on one line reads as a rule to snakemake --lint)
    _known = _strategy.rule in PREDICTION_RULES
    if not _known:
        raise WorkflowError(f"answer strategy {_name!r} (rait/answering.py) names rule {_strategy.rule!r}, which "
                            f"evaluate.smk does not have: {', '.join(PREDICTION_RULES)}")


rule predict_answers:
    """Strategies `greedy`, `stated_num`, `stated_verb`: the method's checkpoint answers each test question once,
    greedily (the stated ones read the confidence the answer states)."""
    input:
        questions=LAYOUT.questions(split="test"),
        model=of(PLAN.answer_model_files, "model", "method"),
    output:
        LAYOUT.predictions(),
    wildcard_constraints:
        method="|".join(PLAN.methods_predicted_by("predict_answers")) or "(?!)",
    params:
        **generation_params(ANSWER_CHECKPOINT, templates=ANSWER_TEMPLATES, sampling=of(PLAN.answer_sampling, "model", "method")),
        strategy=lambda wildcards: METHODS[wildcards.method].answer.strategy,
        answer=of(PLAN.answer_settings, "model", "method"),
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
        questions=LAYOUT.questions(split="test"),
        model=of(PLAN.answer_model_files, "model", "method"),
        scorer=of(PLAN.answer_scorer_files, "model", "method"),
    output:
        LAYOUT.predictions(),
    wildcard_constraints:
        method="|".join(PLAN.methods_predicted_by("predict_best_of_n")) or "(?!)",
    params:
        **generation_params(ANSWER_CHECKPOINT, templates=ANSWER_TEMPLATES, sampling=of(PLAN.best_of_n_sampling, "model", "method")),
        scorer=of(PLAN.answer_scorer, "model", "method"),
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
        questions=LAYOUT.questions(split="test"),
        model=of(PLAN.answer_model_files, "model", "method"),
    output:
        LAYOUT.predictions(),
    wildcard_constraints:
        method="|".join(PLAN.methods_predicted_by("predict_with_followup")) or "(?!)",
    params:
        **generation_params(ANSWER_CHECKPOINT, templates=ANSWER_TEMPLATES, sampling=of(PLAN.answer_sampling, "model", "method")),
        strategy="followup_sure",
        answer=of(PLAN.answer_settings, "model", "method"),
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
        samples=LAYOUT.samples(split="test"),
    output:
        LAYOUT.predictions(),
    wildcard_constraints:
        method="|".join(PLAN.methods_predicted_by("collect_sampled_answers")) or "(?!)",
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
        questions=LAYOUT.questions(split="test"),
        predictions=LAYOUT.predictions(),
        judge=of(PLAN.built_model_files, "judge"),
    output:
        LAYOUT.judgments(),
    wildcard_constraints:
        judge=JUDGE["model"] if JUDGE else "(?!)",
    params:
        **judge_generation_params(),
        prompt=lambda wildcards: JUDGE["prompt"],  # a function: a template's braces are not wildcards
        accept=lambda wildcards: JUDGE["accept"],
        question_templates=per_model(PLAN.prompt_templates),
    resources:
        **gpu_job_resources(wildcard="judge"),
    log:
        f"{RESULTS}/logs/judge_answers/{{judge}}/{{model}}_{{method}}/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/judge_answers/{{judge}}/{{model}}_{{method}}/{{dataset}}.tsv"
    conda:
        of(PLAN.engine_env, "judge")
    threads: 2
    script:
        "../scripts/judge_answers.py"


rule evaluate_method:
    input:
        unpack(of(PLAN.eval_inputs, "model", "method")),
    output:
        metrics=LAYOUT.eval_file(),
        graded=LAYOUT.graded_answers(),
        # the accuracy-coverage curve and reliability bins of the answers that carry a confidence
        curves=LAYOUT.curves(),
    params:
        datasets=per_model(PLAN.eval_datasets),
        provenance=of(PLAN.eval_provenance, "model", "method"),
        bootstrap=config["grading"]["bootstrap"],
        # how the method's answers are graded: the profile of each test set, in `datasets` order
        exact_match=config["grading"]["exact_match"],
        refusals=per_model(PLAN.refusal_list),
        profiles=per_model(PLAN.eval_profiles),
    log:
        f"{RESULTS}/logs/evaluate_method/{{model}}_{{method}}.log",
    conda:
        "../envs/data.yaml"
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/evaluate_method.py"
