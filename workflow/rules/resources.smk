# What GPU jobs ask the scheduler for, and the probes of what the executor can give (this machine's GPUs, the
# SLURM GPU partition's nodes). The decisions themselves are rait.plan's (check_local_gpus, check_slurm_gpus,
# default_resource), tested as Python; this file asks Snakemake's workflow object and the machine.
import functools
import os

from rait import plan
from rait.launch import CPU_FALLBACK_ENV, slurm_gpus_per_node


def default_partition():
    """The profile's default `slurm_partition` (default-resources), for a GPU rule's job that needs no GPU: a
    rule's own resource would otherwise stand in for it, and a rule's resource cannot name another."""
    settings = workflow.resource_settings.default_resources
    return plan.default_resource(getattr(settings, "args", None) or [], "slurm_partition")


@functools.lru_cache(maxsize=None)
def local_gpu_count():
    import torch

    return torch.cuda.device_count()


def runs_jobs_here():
    """True when this Snakemake process will run the jobs itself (no cluster executor, not a dry run, not a
    job's own Snakemake on a node)."""
    return workflow.local_exec and not workflow.dryrun and workflow.is_main_process


def submits_to_slurm():
    plugin = workflow.executor_plugin
    return plugin is not None and plugin.name == "slurm" and not workflow.dryrun and workflow.is_main_process


@functools.lru_cache(maxsize=None)
def slurm_node_gpus(partition, gpu_model):
    return slurm_gpus_per_node(partition, gpu_model)


def check_gpu_counts(jobs):
    """Called by the Snakefile's onstart, before the first job starts: resources are evaluated only as each job is
    scheduled, so a GPU count the executor cannot give would otherwise be found after the jobs before it ran."""
    for job in jobs:
        job.resources  # evaluates gpus_this_executor_gives


def gpus_this_executor_gives(count, wildcard="model"):
    """The GPU count of a job, refused before the first job runs (Snakefile: onstart) when the executor cannot give
    it: on this machine, more than its GPUs (a model asking for 64 GPUs would otherwise sample on the CPU, or fail
    hours later after the jobs before it); on SLURM, more than any node of slurm.gpu_partition has (sinfo; the job
    would be refused at submission or pend forever). RAIT_CPU_FALLBACK=1 lets a GPU config run on the CPU on
    purpose."""

    def gpus(wildcards):
        wanted = count(wildcards)
        if not wanted:
            return wanted
        model = getattr(wildcards, wildcard)
        if runs_jobs_here() and os.environ.get(CPU_FALLBACK_ENV) != "1":
            at_plan(plan.check_local_gpus, model, wanted, local_gpu_count())
        if submits_to_slurm():
            partition, gpu_model = config["slurm"]["gpu_partition"], PLAN.model_entry(model).get("gpu_model")
            at_plan(plan.check_slurm_gpus, model, wanted, slurm_node_gpus(partition, gpu_model), partition, gpu_model)
        return wanted

    return gpus


def gpu_job_resources(gpus=None, wildcard="model"):
    """A GPU rule's resources, from the entry of the model its `wildcard` names: `gpus` GPUs on one node (or the
    function `gpus` of the wildcards), the optional `gpu_model`, `mem_mb` and `runtime`. `gpu` is the profile's
    one GPU mechanism. The partition: `slurm.gpu_partition` (which slurm/config.yaml sets) for a job with GPUs,
    the profile's default one for a job without (a CPU model's sampling on a cluster)."""
    count = gpus or entry_value("gpus", wildcard)
    return dict(
        gpu=gpus_this_executor_gives(count, wildcard),
        slurm_partition=lambda wildcards: config["slurm"]["gpu_partition"] if count(wildcards) else default_partition(),
        gpu_model=lambda wildcards: entry_value("gpu_model", wildcard)(wildcards) if count(wildcards) else None,
        mem_mb=entry_value("mem_mb", wildcard),
        runtime=entry_value("runtime", wildcard),
    )


def answer_job_resources(through_engine, threads):
    """A prediction job's resources: a GPU rule's; for one answered by the model's engine service (the function
    ``through_engine`` of the wildcards), no GPU, no CPU and a client's memory, on the service's partition. The
    jobs of a group are submitted as one SLURM job asking for the sum of their GPUs, CPUs and memory, the largest
    runtime and the first job's partition: so the service's GPUs, CPUs and runtime, every job's partition the
    same. The model's `runtime` then bounds all the answers the group gives (config/README.md says so)."""
    own = gpu_job_resources()

    def unless_served(served, otherwise):
        return lambda wildcards: served if through_engine(wildcards) else otherwise(wildcards)

    return {**own, "gpu": unless_served(0, own["gpu"]), "mem_mb": unless_served(ENGINE_CLIENT_MEM_MB, own["mem_mb"]),
            "cpus_per_task": unless_served(0, lambda wildcards: threads)}


# a job answered through the engine service sends file names and waits: a Python process of ~30 MB (measured:
# max_rss in the quick demo's benchmarks/predict_answers)
ENGINE_CLIENT_MEM_MB = 100


stage_gpus = of(PLAN.stage_gpus, "model", "stage")


def gres_per_node(wildcards):
    entry = at_plan(PLAN.model_entry, wildcards.model)
    return ":".join(["gpu", *([entry["gpu_model"]] if entry.get("gpu_model") else []), str(stage_gpus(wildcards))])


def training_resources():
    """Training on the model's `nodes` nodes of `gpus` GPUs each. One node: as any GPU rule. Several: the GPUs
    as `gres` per node instead of `gpu` (SLURM's --gpus is a job total that it may split unevenly, and each
    node's launcher starts `gpus` processes), one task per node, and the executor's `mpi` path, which runs the
    rule's command once on the first node: `python -m rait.training --nodes N` starts the other nodes with
    srun (rait.launch). `tasks_per_gpu=0` keeps the executor from turning `tasks` into --ntasks-per-gpu.
    The command reads `node_gpus` and `nodes` (resources, not params: where a model trains is no reason to
    train it again)."""
    nodes = entry_value("nodes")

    def when(multi, value):
        return lambda wildcards: value(wildcards) if (nodes(wildcards) > 1) == multi else None

    one_node = gpu_job_resources(gpus=stage_gpus)
    return dict(
        gpu=when(False, one_node["gpu"]),
        gpu_model=when(False, one_node["gpu_model"]),
        gres=when(True, gres_per_node),
        nodes=nodes,
        node_gpus=stage_gpus,
        tasks=when(True, nodes),
        tasks_per_gpu=when(True, lambda wildcards: 0),
        mpi=when(True, lambda wildcards: "srun"),
        slurm_partition=one_node["slurm_partition"],
        mem_mb=one_node["mem_mb"],
        runtime=one_node["runtime"],
        # how often a resumable checkpoint is saved: how the job runs, not what it trains (no rerun trigger)
        save_steps=of(PLAN.save_steps, "model", "stage"),
    )
