# Stage 2: checkpoints the DAG makes itself. Hub models need no rule: the
# sampling and training jobs load them by id on the node.


rule convert_gguf:
    output:
        directory(f"{RESULTS}/models/{{model}}"),
    params:
        package=lambda wildcards: model_entry(wildcards.model)["package"],
        file=lambda wildcards: model_entry(wildcards.model)["file"],
    conda:
        "../envs/models.yaml"
    log:
        f"{RESULTS}/logs/convert_gguf/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/convert_gguf/{{model}}.tsv"
    wildcard_constraints:
        model="|".join(k for k, v in config["models"].items() if v.get("source") == "gguf") or "(?!)",
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
        model="|".join(k for k, v in config["models"].items() if v.get("source") == "synthetic") or "(?!)",
    threads: 2
    script:
        "../scripts/pretrain_synthetic.py"
