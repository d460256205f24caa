# Stage 5: refusal-aware training data. One rule for every training set of the registry (rait/methods.py):
# the stage's builder (rait.construct.BUILDERS) reads the per-question files its entry names.


rule build_train_data:
    input:
        unpack(train_data_inputs),
    output:
        f"{RESULTS}/train_data/{{model}}_{{stage}}.jsonl",
    params:
        builder=lambda wildcards: STAGES[wildcards.stage].data.builder,
        datasets=lambda wildcards: train_datasets(wildcards.model, wildcards.stage),
        options=builder_options,
    log:
        f"{RESULTS}/logs/build_train_data/{{model}}_{{stage}}.log",
    conda:
        "../envs/data.yaml"
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/build_train_data.py"
