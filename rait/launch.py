"""How a training job starts its processes, from one CPU process to one accelerate launcher per node.

``python -m rait.training ... --gpus G --nodes N`` (what the train rules run) goes through three levels; each
level runs the same command line again one level down, and the training itself happens only at the last:

1. **Job** (``N`` >= 2, inside the SLURM allocation, on its first node): ``srun`` starts one task per node
   (``srun_command``) with ``--node-task`` added.
2. **Node** (``--node-task``, or ``N`` = 1 with ``G`` >= 2): one launcher per node starts ``G`` processes:
   ``accelerate launch`` with DeepSpeed ZeRO-3 (``accelerate_command``), across machines when ``N`` >= 2 (machine
   rank = the task's ``SLURM_NODEID``, rendezvous at the first node of the step, see ``Rendezvous.from_slurm``).
   A node without CUDA whose job allows the CPU fallback runs ``torchrun`` with one CPU process per node
   instead (gloo), which is how the two-node SLURM test trains for real on placeholder GPUs.
3. **Rank** (``LOCAL_RANK`` set by the launcher, or ``G`` <= 1 and ``N`` = 1): trains.

Why ``srun`` and not the executor's own task geometry: the SLURM executor runs a multi-node (``mpi``) job's
command once, on the first node; the command must start the other nodes' processes itself, as any MPI
program's ``srun`` would. ``srun --whole`` gives each node's task the allocation's CPUs, memory and GPUs on
that node (the job-step environment the executor passes down keeps only ``SLURM_JOB_ID``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence

from rait.errors import RaitError

DEFAULT_DEEPSPEED_CONFIG = "config/deepspeed/zero3.json"
# Rendezvous ports: one per job id in this range, so two multi-node jobs sharing a node do not collide.
PORT_BASE, PORT_RANGE = 29500, 10000
# Set to 1, a GPU job on a machine without CUDA runs on the CPU instead of stopping (check_gpus; the plan-time check).
CPU_FALLBACK_ENV = "RAIT_CPU_FALLBACK"


def _check_count(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RaitError(f"launch: {name} must be a whole number >= {minimum}, got {value!r}")
    return value


@dataclasses.dataclass(frozen=True)
class Rendezvous:
    """Where the nodes of one multi-node training meet: ``nodes`` machines, this one ranked ``rank``."""

    nodes: int
    rank: int
    address: str
    port: int

    @classmethod
    def from_slurm(cls, env: Mapping[str, str] = os.environ) -> Rendezvous:
        """This task's rank and the first node's address, from the variables ``srun`` sets in each task."""
        missing = [key for key in ("SLURM_JOB_ID", "SLURM_NODEID", "SLURM_NNODES") if key not in env]
        nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST")
        if missing or not nodelist:
            raise RaitError("multi-node training: a node task runs under srun inside a SLURM job "
                            f"(missing {', '.join(missing) or 'SLURM_STEP_NODELIST'})")
        first = _scontrol("show", "hostnames", nodelist).split()[0]
        return cls(nodes=int(env["SLURM_NNODES"]), rank=int(env["SLURM_NODEID"]), address=node_address(first),
                   port=PORT_BASE + int(env["SLURM_JOB_ID"]) % PORT_RANGE)


def _scontrol(*args: str) -> str:
    try:
        result = subprocess.run(["scontrol", *args], capture_output=True, text=True, timeout=60)
    except OSError as err:
        raise RaitError(f"multi-node training needs SLURM's scontrol ({err})") from None
    if result.returncode != 0:
        raise RaitError(f"scontrol {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def node_address(node: str) -> str:
    """The address SLURM reaches ``node`` at (its ``NodeAddr``; the name itself when SLURM gives none)."""
    for field in _scontrol("show", "node", "-o", node).split():
        if field.startswith("NodeAddr="):
            return field.removeprefix("NodeAddr=") or node
    return node


def mixed_precision(precision: str = "auto") -> str:
    """accelerate's --mixed_precision for a model's precision; "auto": bf16 where the GPU has it, else fp16."""
    if precision == "auto":
        import torch

        return "bf16" if not torch.cuda.is_available() or torch.cuda.is_bf16_supported() else "fp16"
    return {"bf16": "bf16", "fp16": "fp16", "fp32": "no"}[precision]


def accelerate_command(gpus: int, deepspeed_config: str = DEFAULT_DEEPSPEED_CONFIG,
                       rendezvous: Rendezvous | None = None, precision: str = "bf16") -> list[str]:
    """``accelerate launch`` for ``gpus`` processes on this node (times the nodes of ``rendezvous``).

    One process in all: no DeepSpeed (ZeRO-3 has nothing to shard across one GPU). More: DeepSpeed ZeRO-3
    from ``deepspeed_config``, models created sharded; across nodes each node runs its own local launcher
    (``standalone``: no pdsh or ssh between nodes, SLURM already started one launcher per node).
    """
    _check_count("gpus", gpus, 1)
    nodes = rendezvous.nodes if rendezvous else 1
    command = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(gpus * nodes),
               "--num_machines", str(nodes), "--mixed_precision", mixed_precision(precision), "--dynamo_backend", "no"]
    if rendezvous:
        command += ["--machine_rank", str(rendezvous.rank), "--main_process_ip", rendezvous.address,
                    "--main_process_port", str(rendezvous.port)]
    if gpus * nodes > 1:
        command += ["--use_deepspeed", "--deepspeed_config_file", str(deepspeed_config), "--zero3_init_flag", "true"]
        if rendezvous:
            command += ["--deepspeed_multinode_launcher", "standalone"]
    return command


def torchrun_command(rendezvous: Rendezvous) -> list[str]:
    """One CPU process per node, all nodes in one gloo process group (the CPU fallback across nodes)."""
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", str(rendezvous.nodes), "--nproc_per_node", "1",
            "--node_rank", str(rendezvous.rank), "--master_addr", rendezvous.address,
            "--master_port", str(rendezvous.port)]


def srun_command(nodes: int) -> list[str]:
    """One task per node of the job's allocation, each with all of that node's resources; one failing task
    ends the others (a rank waiting forever for a dead peer would hold the GPUs until the time limit)."""
    _check_count("nodes", nodes, 2)
    return ["srun", "--nodes", str(nodes), "--ntasks", str(nodes), "--ntasks-per-node", "1", "--whole",
            "--kill-on-bad-exit=1"]


def module_command(prefix: Sequence[str], argv: Sequence[str]) -> list[str]:
    """``prefix -m rait.training argv``: ``prefix`` ends with what takes ``-m`` (a launcher module, an
    interpreter)."""
    return [*prefix, "-m", "rait.training", *argv]


def check_gpus(gpus: int | None, what: str = "training") -> int | None:
    """The GPUs to train or sample on. A job that asks for more GPUs than this machine has is refused before any
    model is loaded; with ``RAIT_CPU_FALLBACK=1`` and no CUDA device at all it trains on the CPU (0),
    saying so (a scheduler test with placeholder GPUs, a laptop run of a GPU config)."""
    if not gpus:
        return gpus
    import torch

    available = torch.cuda.device_count()
    if gpus > available:
        if available == 0 and os.environ.get(CPU_FALLBACK_ENV) == "1":
            logging.getLogger("rait.launch").warning(
                "the job asks for %d GPU(s) but torch sees none; %s on the CPU (%s=1)", gpus, what, CPU_FALLBACK_ENV
            )
            return 0
        raise RaitError(
            f"the model asks for {gpus} GPU(s) (config key models.<model>.gpus) but this machine has {available}; "
            f"run on GPU nodes (snakemake --profile slurm) or set the model's gpus to 0 for {what} on the CPU"
        )
    return gpus


def max_gpus_per_node(gres_lines: Sequence[str], gpu_model: str | None = None) -> int:
    """The most GPUs one node offers, from ``sinfo -o %G`` lines ("gpu:4", "gpu:a100:8(S:0-1)", "gpu:a100:4,shard:8",
    "(null)"); only GPUs of ``gpu_model`` when given."""
    best = 0
    for line in gres_lines:
        for item in line.split(","):
            match = re.match(r"\s*gpu(?::([^:(\s]+))?:(\d+)", item)
            if match and (gpu_model is None or match.group(1) == gpu_model):
                best = max(best, int(match.group(2)))
    return best


def slurm_gpus_per_node(partition: str, gpu_model: str | None = None) -> int | None:
    """What SLURM's ``sinfo`` says the nodes of ``partition`` have; None when sinfo cannot answer."""
    try:
        result = subprocess.run(["sinfo", "-h", "-p", partition, "-o", "%G"], capture_output=True, text=True,
                                timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0 or not result.stdout.strip():
        return None
    return max_gpus_per_node(result.stdout.splitlines(), gpu_model)
