"""``python -m rait.training KIND``: what the workflow's training rule runs.

    python -m rait.training KIND --model PATH --data FILE.jsonl --out DIR --options JSON
        [--gpus G] [--nodes N] [--deepspeed CONFIG]

``KIND`` is a key of ``rait.training.TRAINERS``. With ``G`` >= 2 GPUs per node, or ``N`` >= 2 nodes (inside a
SLURM job), it starts its processes as ``rait.launch`` describes and trains in them. ``--options`` is a JSON
object (or a file holding one) with ``chat``, ``system``, ``lora``, ``seed`` and the trainer's ``SETTINGS``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from pathlib import Path
from collections.abc import Sequence

from rait.errors import BAD_INPUT_EXIT, RaitError
from rait.launch import (DEFAULT_DEEPSPEED_CONFIG, Rendezvous, accelerate_command, check_gpus, module_command,
                         srun_command, torchrun_command)
from rait.training.common import COMMON_OPTIONS, PRECISION_ENV, PRECISIONS


def _trainers() -> dict:
    from rait.training import TRAINERS

    return TRAINERS


def option_keys(kind: str) -> tuple[str, ...]:
    return (*COMMON_OPTIONS, *_trainers()[kind].SETTINGS)


def parse_options(text: str, kind: str) -> dict:
    """``--options``: a JSON object, or the path of a file holding one."""
    source = "--options"
    if os.path.isfile(text):
        source, text = text, Path(text).read_text(encoding="utf-8")
    try:
        options = json.loads(text)
    except json.JSONDecodeError as err:
        raise RaitError(f"{source}: malformed JSON ({err.msg})") from None
    if not isinstance(options, dict):
        raise RaitError(f"{source}: expected a JSON object")
    known = option_keys(kind)
    for key in options:
        if key not in known:
            raise RaitError(f"{source}: unknown option {key!r} for {kind} (known: {', '.join(known)})")
    if "chat" not in options or not isinstance(options["chat"], bool):
        raise RaitError(f"{source}: `chat` (true or false) is required")
    options.setdefault("lora", {})  # absent: LoRA with the defaults; null: full fine-tuning
    return options


def launch_command(args: argparse.Namespace) -> list[str] | None:
    """The command that starts this job's processes one level down (see ``rait.launch``), or None to train in
    this process. Checks what the job asks for against what it got before anything is loaded."""
    if "LOCAL_RANK" in os.environ:  # started by a launcher
        return None
    inner = [args.kind, "--model", args.model, "--data", args.data, "--out", args.out, "--options", args.options,
             "--save-steps", str(args.save_steps), "--precision", args.precision]
    nodes = args.nodes
    if nodes < 1:
        raise RaitError(f"--nodes must be >= 1, got {nodes} (config key models.<model>.nodes)")
    if nodes > 1 and not args.node_task:
        if "SLURM_JOB_ID" not in os.environ:
            raise RaitError(f"the model asks for {nodes} nodes (config key models.<model>.nodes) but this is not a "
                            "SLURM job; run with --profile slurm, or set the model's nodes to 1")
        node_argv = [*inner, "--gpus", str(args.gpus or 0), "--nodes", str(nodes), "--deepspeed", args.deepspeed,
                     "--precision", args.precision, "--node-task"]
        return module_command([*srun_command(nodes), sys.executable], node_argv)
    gpus = check_gpus(args.gpus)
    if nodes > 1:
        rendezvous = Rendezvous.from_slurm()
        if rendezvous.nodes != nodes:
            raise RaitError(f"the model asks for {nodes} nodes but the SLURM step has {rendezvous.nodes}")
        prefix = (accelerate_command(gpus, args.deepspeed, rendezvous, args.precision) if gpus
                  else torchrun_command(rendezvous))
        return module_command(prefix, inner)
    if gpus and gpus > 1:
        return module_command(accelerate_command(gpus, args.deepspeed, precision=args.precision), inner)
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rait.training", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=sorted(_trainers()), help="trainer kind (rait.training.TRAINERS)")
    parser.add_argument("--model", required=True, help="starting checkpoint (folder)")
    parser.add_argument("--data", required=True, help="training records (JSONL)")
    parser.add_argument("--out", required=True, help="folder to write the trained checkpoint to")
    parser.add_argument("--options", default='{"chat": false}', help="JSON object, or a file holding one")
    parser.add_argument("--gpus", type=int, default=None,
                        help="GPUs per node; with 2 or more, one process per GPU under accelerate + DeepSpeed "
                             "ZeRO-3; otherwise one process")
    parser.add_argument("--nodes", type=int, default=1,
                        help="nodes of the SLURM job; with 2 or more, one launcher per node under srun")
    parser.add_argument("--save-steps", type=int, default=0,
                        help="a resumable checkpoint every N steps in the job's scratch folder (0: none); a rerun "
                             "of the same job resumes from the latest")
    parser.add_argument("--precision", choices=sorted(PRECISIONS), default="auto",
                        help="training precision (the model entry's): bf16, fp16, fp32, or auto (bf16 where the "
                             "GPU has it, else fp16; fp32 on a CPU)")
    parser.add_argument("--node-task", action="store_true", help=argparse.SUPPRESS)  # set by the srun level
    parser.add_argument("--deepspeed", default=DEFAULT_DEEPSPEED_CONFIG, help="DeepSpeed config for 2+ processes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    log = logging.getLogger(f"rait.training.{args.kind}")
    os.environ[PRECISION_ENV] = args.precision  # read by make_config, here or in the processes a launcher starts
    try:
        command = launch_command(args)
    except RaitError as err:
        log.error("%s", err)
        return BAD_INPUT_EXIT
    if command:
        import subprocess

        log.info("running %s", shlex.join(command))
        return subprocess.run(command).returncode
    try:
        import datasets
        import transformers

        datasets.disable_progress_bars()
        transformers.utils.logging.disable_progress_bar()
        from rait.io import read_numbered_jsonl
        from rait.training.common import check_records

        options = parse_options(args.options, args.kind)
        numbered = read_numbered_jsonl(args.data)
        records, lines = [record for _, record in numbered], [line for line, _ in numbered]
        # named by file and line here; the trainer checks again by record (it is called without a file too)
        check_records(records, _trainers()[args.kind].FIELDS, str(args.data), lines)
        stats = _trainers()[args.kind].train(args.model, records, args.out, log=log.info,
                                             save_steps=args.save_steps, **options)
    except RaitError as err:
        log.error("%s", err)
        return BAD_INPUT_EXIT
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(stats))
    return 0
