# Stage 2: every model as a checkpoint folder in results/models/{model}, which later jobs load offline.


rule download_model:
    """A hub model at the entry's pinned `revision`, fetched once on the host that runs Snakemake (a cluster's
    GPU nodes often have no network; the login node does). Rerun after an interruption, it resumes."""
    output:
        directory(f"{RESULTS}/models/{{model}}"),
    params:
        repo=lambda wildcards: model_entry(wildcards.model)["path"],
        revision=lambda wildcards: model_entry(wildcards.model)["revision"],
        network=True,
    conda:
        "../envs/models.yaml"
    log:
        f"{RESULTS}/logs/download_model/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/download_model/{{model}}.tsv"
    wildcard_constraints:
        model=models_from("hub"),
    localrule: True
    script:
        "../scripts/download_model.py"


rule convert_gguf:
    output:
        directory(f"{RESULTS}/models/{{model}}"),
    params:
        package=lambda wildcards: model_entry(wildcards.model)["package"],
        file=lambda wildcards: gguf_file(wildcards.model),
    conda:
        "../envs/models.yaml"
    log:
        f"{RESULTS}/logs/convert_gguf/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/convert_gguf/{{model}}.tsv"
    wildcard_constraints:
        model=models_from("gguf"),
    script:
        "../scripts/convert_gguf.py"


rule pretrain_synthetic:
    input:
        world=f"{RESULTS}/synthetic/world.jsonl",
    output:
        directory(f"{RESULTS}/models/{{model}}"),
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
        model=models_from("synthetic"),
    threads: 2
    script:
        "../scripts/pretrain_synthetic.py"
