# Stage 6: training. One rule for every stage of the registry (rait/methods.py): `python -m rait.training KIND`
# with the stage's trainer kind (rait.training.TRAINERS), from the checkpoint the stage starts from. It runs on
# one process on a CPU or one GPU, and starts its processes itself when there are more: `accelerate launch`
# with DeepSpeed ZeRO-3 over the GPUs of a node, one launcher per node under srun when the model asks for
# several nodes (rait.launch).
# An input, not a param, and relative to the working directory: editing it retrains (its time stamp), moving the
# checkout does not (an absolute path in params made every stage of a moved clone train again).
DEEPSPEED_CONFIG = os.path.relpath(f"{workflow.basedir}/../config/deepspeed/zero3.json")


rule train_stage:
    input:
        data=LAYOUT.train_data(),
        model=of(PLAN.stage_start_files, "model", "stage"),
        scorer=of(PLAN.stage_scorer_files, "model", "stage"),
        deepspeed=DEEPSPEED_CONFIG,
    output:
        directory(LAYOUT.checkpoint()),
    params:
        trainer=lambda wildcards: STAGES[wildcards.stage].trainer,
        start=of(PLAN.stage_start, "model", "stage"),
        options=of(PLAN.trainer_options, "model", "stage"),
        precision=entry_value("precision"),
    resources:
        **training_resources(),
    log:
        f"{RESULTS}/logs/train_stage/{{model}}_{{stage}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_stage/{{model}}_{{stage}}.tsv"
    conda:
        "../envs/training.yaml"
    threads: 2
    shell:
        f"{OFFLINE_PREFIX} python -m rait.training {{params.trainer}} --gpus {{resources.node_gpus}} --nodes {{resources.nodes}}"
        " --save-steps {resources.save_steps} --precision {params.precision}"
        " --deepspeed {input.deepspeed:q} --model {params.start:q} --data {input.data:q} --out {output:q}"
        " --options {params.options:q} > {log:q} 2>&1"


rule export_merged:
    """A stage's full checkpoint in results/merged/, to upload or serve elsewhere: a stage stored as an adapter
    (training.lora_storage) merged into its base, any other copied. Nothing in the DAG reads it."""
    input:
        of(PLAN.checkpoint_files, "model", "stage"),
    output:
        directory(LAYOUT.merged_checkpoint()),
    params:
        checkpoint=of(PLAN.stage_checkpoint, "model", "stage"),
    log:
        f"{RESULTS}/logs/export_merged/{{model}}_{{stage}}.log",
    conda:
        "../envs/models.yaml"
    threads: 2
    script:
        "../scripts/export_merged.py"
