# Stage 6: training. `python -m rait.training` runs on one process on a CPU or
# one GPU, and relaunches itself under `accelerate launch` with DeepSpeed
# ZeRO-3 over the job's GPUs when there are several.
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
        gpu=model_resource("gpus"),
        mem_mb=model_resource("mem_mb"),
        runtime=model_resource("runtime"),
    log:
        f"{RESULTS}/logs/train_sft/{{model}}_{{stage}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_sft/{{model}}_{{stage}}.tsv"
    conda:
        "../../envs/training.yaml"
    threads: 2
    shell:
        "python -m rait.training sft --gpus {resources.gpu} --deepspeed {params.deepspeed:q}"
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
        gpu=model_resource("gpus"),
        mem_mb=model_resource("mem_mb"),
        runtime=model_resource("runtime"),
    log:
        f"{RESULTS}/logs/train_dpo/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_dpo/{{model}}.tsv"
    conda:
        "../../envs/training.yaml"
    threads: 2
    shell:
        "python -m rait.training dpo --gpus {resources.gpu} --deepspeed {params.deepspeed:q}"
        " --model {input.model:q} --data {input.data:q} --out {output:q} --options {params.options:q} > {log:q} 2>&1"
