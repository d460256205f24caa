# Stage 7: each method answers the test splits by its answer strategy (rait.answering); answers are scored
# against the base model's knowledge labels and greedy answers, optionally with a model judge (grading.judge).
# One prediction rule for every strategy that runs the method's checkpoint; the base model's answers are read from
# its samples (collect_sampled_answers). The methods answering with the base or an adapter over it share one engine,
# the model's engine service (serve_engine): Snakemake runs it with their prediction jobs as one group.
import json

ANSWER_CHECKPOINT = of(PLAN.answer_checkpoint, "model", "method")
ANSWER_TEMPLATES = of(PLAN.answer_templates, "model", "method")
ANSWERS_THROUGH_ENGINE = of(PLAN.answers_through_engine, "model", "method")
PREDICTION_THREADS = 2  # a prediction job's own engine's; a job the engine service answers takes none


rule serve_engine:
    """The model's engine service (rait.answer_service): the base loaded once, answering every predict_answers job
    whose checkpoint is the base or an adapter over it, switching adapters. It runs while those jobs run (one group,
    one node) and is stopped when the last has answered: a shell command, which Snakemake can stop (it has no
    handle on a script's process). No benchmark: it is stopped, not finished; the time of each job it answered is
    in that job's log and benchmark."""
    input:
        of(PLAN.checkpoint_files, "model", stage=registry.BASE),
    output:
        service(LAYOUT.engine_address()),
    params:
        settings=lambda wildcards: json.dumps(at_plan(PLAN.engine_service_settings, wildcards.model)),
    resources:
        **gpu_job_resources(),
    log:
        f"{RESULTS}/logs/serve_engine/{{model}}.log",
    conda:
        sampling_env
    threads: 2
    shell:
        f"{OFFLINE_PREFIX} python -m rait.answer_service --address {{output:q}} --settings {{params.settings:q}}"
        " --log {log:q} 2> {log:q}"


rule predict_answers:
    """Every answer strategy but `sampled_greedy` (rait.answering.STRATEGIES): the method's checkpoint answers
    each test question (greedily, or N samples for best-of-N), the strategy adds what it declared (a reward model's
    scores, R-Tuning's follow-up) and writes the predictions; through the model's engine service when its
    checkpoint is the base or an adapter over it (then the job itself holds no GPU and no core)."""
    input:
        # the answering checkpoint and any other the strategy reads (best-of-N's scorer); the engine's address
        unpack(of(PLAN.answer_inputs, "model", "method")),
        questions=LAYOUT.questions(split="test"),
    output:
        LAYOUT.predictions(),
    wildcard_constraints:
        method="|".join(map(re.escape, PLAN.methods_answering_from_samples(False))) or "(?!)",
    params:
        **generation_params(ANSWER_CHECKPOINT, templates=ANSWER_TEMPLATES, sampling=of(PLAN.prediction_sampling, "model", "method")),
        strategy=lambda wildcards: METHODS[wildcards.method].answer.strategy,
        answer=of(PLAN.answer_settings, "model", "method"),
        checkpoints=of(PLAN.answer_checkpoints, "model", "method"),
    resources:
        **answer_job_resources(ANSWERS_THROUGH_ENGINE, PREDICTION_THREADS),
    log:
        f"{RESULTS}/logs/predict_answers/{{model}}_{{method}}/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/predict_answers/{{model}}_{{method}}/{{dataset}}.tsv"
    conda:
        sampling_env
    threads: lambda wildcards: 0 if ANSWERS_THROUGH_ENGINE(wildcards) else PREDICTION_THREADS
    script:
        "../scripts/predict_answers.py"


rule collect_sampled_answers:
    """Strategy `sampled_greedy`: the base model's greedy answers, generated beside its samples of the test split."""
    input:
        samples=LAYOUT.samples(split="test"),
    output:
        LAYOUT.predictions(),
    wildcard_constraints:
        method="|".join(map(re.escape, PLAN.methods_answering_from_samples(True))) or "(?!)",
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
        # a function: a template's braces are not wildcards
        prompt=lambda wildcards: PLAN.judge_prompt(wildcards.dataset),
        accept=lambda wildcards: JUDGE["accept"],
        mode=lambda wildcards: PLAN.judge_mode(wildcards.dataset),
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
        penalty_targets=config["grading"]["penalty_targets"],
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
