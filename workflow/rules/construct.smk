# Stage 5: refusal-aware training data. One rule for every training set of the registry (rait/methods.py):
# the stage's builder (rait.construct.BUILDERS) reads the per-question files its entry names.


rule build_train_data:
    input:
        unpack(of(PLAN.train_data_inputs, "model", "stage")),
    output:
        LAYOUT.train_data(),
    params:
        builder=lambda wildcards: STAGES[wildcards.stage].data.builder,
        datasets=of(PLAN.train_datasets, "model", "stage"),
        options=of(PLAN.builder_options, "model", "stage"),
    log:
        f"{RESULTS}/logs/build_train_data/{{model}}_{{stage}}.log",
    conda:
        "../envs/data.yaml"
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/build_train_data.py"
