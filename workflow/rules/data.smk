# Stage 1: raw datasets to one question format, one JSONL per (dataset, split).


rule generate_synthetic_world:
    output:
        LAYOUT.world(),
    params:
        n_facts=config["synthetic"]["n_facts"],
        exposures=config["synthetic"]["exposures"],
        seed=config["synthetic"]["seed"],
    conda:
        "../envs/data.yaml"
    log:
        f"{RESULTS}/logs/generate_synthetic_world.log",
    # deterministic: a failure is bad input or a bug, and fails the same way again
    retries: 0
    localrule: True
    script:
        "../scripts/generate_synthetic_world.py"


rule prepare_dataset:
    input:
        unpack(of(PLAN.dataset_inputs, "dataset")),
    output:
        LAYOUT.questions(),
    params:
        spec=of(PLAN.dataset_spec, "dataset", "split"),
        limit=of(PLAN.dataset_limit, "dataset", "split"),
        seed=config["sampling"]["seed"],
        network=True,  # hub datasets are fetched here, on the host running Snakemake (localrule)
    conda:
        "../envs/data.yaml"
    log:
        f"{RESULTS}/logs/prepare_dataset/{{dataset}}_{{split}}.log",
    localrule: True
    script:
        "../scripts/prepare_dataset.py"
