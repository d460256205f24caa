"""What the executor can give: the decisions behind the GPU checks of workflow/rules/resources.smk (which asks
the machine and SLURM), as pure functions."""

from __future__ import annotations

from rait.errors import RaitError


def check_local_gpus(model: str, wanted: int, here: int) -> None:
    """A job of ``model`` asking for ``wanted`` GPUs, run on this machine with ``here``: refused before the first
    job when it has fewer (a model asking for 64 GPUs would otherwise sample on the CPU, or fail hours later)."""
    if wanted > here:
        raise RaitError(
            f"model {model!r} asks for {wanted} GPU(s) per job (config key models.{model}.gpus) but the jobs run "
            f"on this machine, which has {here}; run on a cluster (--profile slurm) or set "
            f"models.{model}.gpus to what this machine has (0: the CPU)")


def check_slurm_gpus(model: str, wanted: int, most: int | None, partition: str, gpu_model: str | None) -> None:
    """A job of ``model`` asking for ``wanted`` GPUs on one node of SLURM partition ``partition``, whose nodes have
    at most ``most`` (of ``gpu_model``; None: unknown, not checked): refused when no node has that many (the job
    would be refused at submission or pend forever)."""
    if most is not None and wanted > most:
        raise RaitError(
            f"model {model!r} asks for {wanted} GPU(s) per job (config key models.{model}.gpus) but no node "
            f"of SLURM partition {partition!r} (config key slurm.gpu_partition) has more than {most}"
            + (f" {gpu_model}" if gpu_model else "") + f"; lower models.{model}.gpus (training can spread "
            f"over nodes: models.{model}.nodes)")


def default_resource(args: list[str], name: str) -> str | None:
    """The value of ``name`` among a profile's ``default-resources`` (``name=value`` strings, the value maybe
    quoted), or None."""
    for arg in args:
        key, _, value = arg.partition("=")
        if key.strip() == name:
            return value.strip().strip("'\"")
    return None
