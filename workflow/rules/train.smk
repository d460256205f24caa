# Stage 6: training. `python -m rait.training` runs on one process on a CPU or
# one GPU, and starts its processes itself when there are more: `accelerate
# launch` with DeepSpeed ZeRO-3 over the GPUs of a node, one launcher per node
# under srun when the model asks for several nodes (rait.launch).
DEEPSPEED_CONFIG = f"{workflow.basedir}/config/deepspeed/zero3.json"


rule train_sft:
    input:
        data=f"{RESULTS}/train_data/{{model}}_{{stage}}.jsonl",
        model=model_files,
    output:
        directory(f"{RESULTS}/checkpoints/{{model}}_{{stage}}"),
    params:
        base=lambda wildcards: model_checkpoint(wildcards.model),
        options=trainer_options("sft"),
        deepspeed=DEEPSPEED_CONFIG,
    resources:
        **training_resources(),
    log:
        f"{RESULTS}/logs/train_sft/{{model}}_{{stage}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_sft/{{model}}_{{stage}}.tsv"
    conda:
        "../../envs/training.yaml"
    threads: 2
    shell:
        "python -m rait.training sft --gpus {resources.node_gpus} --nodes {resources.nodes} --deepspeed {params.deepspeed:q}"
        " --model {params.base:q} --data {input.data:q} --out {output:q} --options {params.options:q} > {log:q} 2>&1"


rule train_dpo:
    input:
        data=f"{RESULTS}/train_data/{{model}}_dpo_pairs.jsonl",
        model=f"{RESULTS}/checkpoints/{{model}}_sft_half",
    output:
        directory(f"{RESULTS}/checkpoints/{{model}}_dpo"),
    params:
        options=trainer_options("dpo"),
        deepspeed=DEEPSPEED_CONFIG,
    resources:
        **training_resources(),
    log:
        f"{RESULTS}/logs/train_dpo/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_dpo/{{model}}.tsv"
    conda:
        "../../envs/training.yaml"
    threads: 2
    shell:
        "python -m rait.training dpo --gpus {resources.node_gpus} --nodes {resources.nodes} --deepspeed {params.deepspeed:q}"
        " --model {input.model:q} --data {input.data:q} --out {output:q} --options {params.options:q} > {log:q} 2>&1"
