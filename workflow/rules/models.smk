# Stage 2: every model as a checkpoint folder in results/models/{model}, which later jobs load offline.


rule download_model:
    """A hub model at the entry's pinned `revision`, fetched once on the host that runs Snakemake (a cluster's
    GPU nodes often have no network; the login node does). Rerun after an interruption, it resumes."""
    output:
        directory(LAYOUT.model()),
    params:
        repo=entry_value("path"),
        revision=entry_value("revision"),
        network=True,
    conda:
        "../envs/models.yaml"
    log:
        f"{RESULTS}/logs/download_model/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/download_model/{{model}}.tsv"
    wildcard_constraints:
        model=PLAN.models_from("hub"),
    localrule: True
    script:
        "../scripts/download_model.py"


rule convert_gguf:
    output:
        directory(LAYOUT.model()),
    params:
        package=entry_value("package"),
        file=per_model(PLAN.gguf_file),
    conda:
        "../envs/models.yaml"
    log:
        f"{RESULTS}/logs/convert_gguf/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/convert_gguf/{{model}}.tsv"
    wildcard_constraints:
        model=PLAN.models_from("gguf"),
    script:
        "../scripts/convert_gguf.py"


rule pretrain_synthetic:
    input:
        world=LAYOUT.world(),
    output:
        directory(LAYOUT.model()),
    params:
        options=config["synthetic"]["pretrain"],
        seed=config["synthetic"]["seed"],
    conda:
        "../envs/models.yaml"
    log:
        f"{RESULTS}/logs/pretrain_synthetic/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/pretrain_synthetic/{{model}}.tsv"
    wildcard_constraints:
        model=PLAN.models_from("synthetic"),
    threads: 2
    script:
        "../scripts/pretrain_synthetic.py"
