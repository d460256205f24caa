"""Fine-tuning with TRL: Idk-SFT (``train_sft``) and Idk-DPO (``train_dpo``).

Both take records from JSONL (``prompt`` is the user text, not yet chat
templated) and write a plain Hugging Face checkpoint (model + tokenizer) that
every later rule loads with ``AutoModelForCausalLM.from_pretrained(out_dir)``.

* Loss on the answer only: the data is given to TRL in its prompt-completion
  format, conversational when ``chat`` (TRL applies the model's own chat
  template, with the system message if one is given) or plain text otherwise
  (prompt, then " " + answer + eos as completion, for models without a chat
  template such as the synthetic world's tiny GPT-2). TRL masks the prompt
  tokens out of the loss (labels -100). With ``chat=False`` the system
  message is ignored, as ``rait.prompts.prompt_text`` ignores it at inference.
* LoRA through PEFT by default; ``lora=None`` is full fine-tuning. LoRA
  adapters are merged into the base (``merge_and_unload``) before saving.
* DPO: TRL's ``DPOTrainer`` with loss ``["sigmoid", "sft"]`` weighted
  ``[1, sft_weight]`` (the DPO loss plus an NLL term on the chosen answer;
  TRL 1.x dropped ``rpo_alpha`` for this). With LoRA the reference model is
  the starting model itself, with the adapters disabled.
* Multi-GPU and multi-node: run under ``accelerate launch`` with DeepSpeed
  ZeRO-3, one launcher per node under ``srun`` across nodes (``rait.launch``
  builds the commands; a CPU-only node with the fallback allowed runs one gloo
  process per node under ``torchrun``). All ranks train and take part in
  ``Trainer.save_model`` (which gathers the sharded weights, or only the
  adapter under PEFT); only the main process then merges, casts to the
  starting checkpoint's dtype and renames the result into place
  (``rait.io.atomic_dir``), so a half-written checkpoint never sits at
  ``out_dir``.

Command line (what the workflow rules run)::

    python -m rait.training sft|dpo --model PATH --data FILE.jsonl --out DIR --options JSON
        [--gpus G] [--nodes N] [--deepspeed CONFIG]

With ``G`` >= 2 GPUs per node, or ``N`` >= 2 nodes (inside a SLURM job), it
starts its processes as ``rait.launch`` describes and trains in them.

``--options`` is a JSON object (or a file holding one) with the keyword
arguments ``chat``, ``system``, ``lora``, ``hparams``, ``seed`` and, for
``dpo``, ``beta`` and ``sft_weight``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from rait.errors import RaitError
from rait.launch import (DEFAULT_DEEPSPEED_CONFIG, Rendezvous, accelerate_command, module_command, srun_command,
                         torchrun_command)

STATS_FILE = "training_stats.json"

DEFAULT_LORA = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear"}
# Short names accepted in the ``lora`` dict, besides every ``peft.LoraConfig`` field.
LORA_ALIASES = {"alpha": "lora_alpha", "dropout": "lora_dropout"}

# Config fields rait sets itself: the caller passes them as arguments instead.
RESERVED_HPARAMS = {
    "output_dir": "set by rait.training (a temporary folder beside out_dir)",
    "seed": "pass `seed`",
    "data_seed": "pass `seed`",
    "save_strategy": "only the final model is saved",
    "push_to_hub": "the model is only saved to out_dir",
    "completion_only_loss": "loss is always on the answer only",
    "beta": "pass `beta`",
    "loss_type": "set from `sft_weight`",
    "loss_weights": "set from `sft_weight`",
}

SFT_FIELDS = ("prompt", "target")
DPO_FIELDS = ("prompt", "chosen", "rejected")


# --------------------------------------------------------------------------
# Checks and conversions
# --------------------------------------------------------------------------


def _check_records(records: Sequence[dict], fields: Sequence[str], what: str) -> None:
    if not records:
        raise RaitError(f"{what}: no training records")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise RaitError(f"{what}: record {index} is not an object")
        name = f"id {record['id']!r}" if "id" in record else f"record {index} (no id)"
        missing = [field for field in fields if not isinstance(record.get(field), str) or not record[field].strip()]
        if missing:
            raise RaitError(f"{what}: {name} has no {', '.join(missing)} (a non-empty string is required)")


def _plain_completion(prompt: str, answer: str) -> str:
    """The answer as a plain-text completion: one space between prompt and answer (eos is added by TRL)."""
    if prompt[-1:].isspace() or answer[:1].isspace():
        return answer
    return " " + answer


def _chat_prompt(prompt: str, system: str | None) -> list[dict]:
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return messages


def _answer(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def sft_rows(records: Sequence[dict], *, chat: bool, system: str | None = None) -> list[dict]:
    """Records as TRL prompt-completion rows (conversational when ``chat``)."""
    if chat:
        return [{"prompt": _chat_prompt(r["prompt"], system), "completion": _answer(r["target"])} for r in records]
    return [{"prompt": r["prompt"], "completion": _plain_completion(r["prompt"], r["target"])} for r in records]


def dpo_rows(records: Sequence[dict], *, chat: bool, system: str | None = None) -> list[dict]:
    """Preference pairs as TRL rows with an explicit prompt (conversational when ``chat``)."""
    if chat:
        return [{"prompt": _chat_prompt(r["prompt"], system), "chosen": _answer(r["chosen"]),
                 "rejected": _answer(r["rejected"])} for r in records]
    return [{"prompt": r["prompt"], "chosen": _plain_completion(r["prompt"], r["chosen"]),
             "rejected": _plain_completion(r["prompt"], r["rejected"])} for r in records]


def lora_config(lora: dict | None):
    """A ``peft.LoraConfig`` from rait's ``lora`` dict (None: full fine-tuning)."""
    if lora is None:
        return None
    if not isinstance(lora, dict):
        raise RaitError(f"lora: expected a mapping or null, got {type(lora).__name__}")
    from peft import LoraConfig

    known = {field.name for field in dataclasses.fields(LoraConfig)}
    kwargs = {}
    for key, value in {**DEFAULT_LORA, **lora}.items():
        name = LORA_ALIASES.get(key, key)
        if name not in known or name in ("task_type", "peft_type"):
            raise RaitError(f"lora: unknown key {key!r} (use r, alpha, dropout, target_modules or a peft.LoraConfig field)")
        kwargs[name] = value
    try:
        return LoraConfig(task_type="CAUSAL_LM", **kwargs)
    except (TypeError, ValueError) as err:
        raise RaitError(f"lora: {err}") from None


def _resolve_bf16(value) -> bool:
    """``bf16``: true/false, or "auto" (None): what the launcher chose, else True where CUDA has bf16."""
    import torch

    env = os.environ.get("ACCELERATE_MIXED_PRECISION")
    if value is None or value == "auto":
        if env:
            return env == "bf16"
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if not isinstance(value, bool):
        raise RaitError(f"hparams: bf16 must be true, false or \"auto\", got {value!r}")
    if env and (env == "bf16") != value:
        raise RaitError(f"hparams: bf16 is {str(value).lower()} but the launcher set mixed precision {env!r}")
    return value


def _make_config(config_cls, hparams: dict | None, fixed: dict, what: str):
    """``config_cls(**hparams, **fixed)``; unknown or reserved keys are a RaitError naming them."""
    import torch

    if hparams is not None and not isinstance(hparams, dict):
        raise RaitError(f"{what}: hparams must be a mapping, got {type(hparams).__name__}")
    hparams = dict(hparams or {})
    known = {field.name for field in dataclasses.fields(config_cls) if field.init}
    for key in hparams:
        if key in RESERVED_HPARAMS:
            raise RaitError(f"{what}: hparams key {key!r} cannot be set ({RESERVED_HPARAMS[key]})")
        if key not in known:
            raise RaitError(f"{what}: unknown hparams key {key!r} (not a field of trl.{config_cls.__name__})")
    if hparams.get("fp16") and hparams.get("bf16", "auto") in (None, "auto"):
        hparams["bf16"] = False
    hparams["bf16"] = _resolve_bf16(hparams.get("bf16", "auto"))
    if "activation_checkpointing" in known:
        # transformers >= 5.2x renamed gradient_checkpointing*; TRL still defaults the old name to True, which the
        # new name then inherits with a FutureWarning. Same behaviour, under the current name.
        for old, new in (("gradient_checkpointing", "activation_checkpointing"),
                         ("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs")):
            if old in hparams and new in hparams:
                raise RaitError(f"{what}: hparams set both {old!r} and {new!r}")
            if old in hparams:
                hparams[new] = hparams.pop(old)
        hparams.setdefault("activation_checkpointing", True)
    # Progress goes through ``log`` (see ``_log_callback``), not tqdm bars or the trainer's printing to stdout.
    # use_cpu without CUDA: several CPU processes (the multi-node CPU fallback) then form one gloo group instead of
    # each believing it is the only, main, process.
    defaults = {"report_to": "none", "disable_tqdm": True, "dataloader_pin_memory": torch.cuda.is_available(),
                "use_cpu": not torch.cuda.is_available()}
    try:
        return config_cls(**{**defaults, **hparams, **fixed})
    except (TypeError, ValueError) as err:
        raise RaitError(f"{what}: bad hparams ({err})") from None


def _load_tokenizer(model_path: str, chat: bool, what: str):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path)
    except (OSError, ValueError) as err:
        raise RaitError(f"{what}: cannot load the tokenizer of {model_path} ({err})") from None
    if chat and not getattr(tokenizer, "chat_template", None):
        raise RaitError(f"{what}: the model {model_path} has no chat template; set its `chat: false` in config")
    if tokenizer.eos_token is None:
        raise RaitError(f"{what}: the tokenizer of {model_path} has no eos token")
    return tokenizer


def _work_dir(out_dir: Path) -> Path:
    """Scratch space for the trainer, beside ``out_dir``; the same path on every rank."""
    return out_dir.parent / f".{out_dir.name}.train"


def _remove_work_dir(work: Path) -> None:
    """Remove the scratch folder, from the global main process only (``RANK`` is set by the launchers)."""
    if os.environ.get("RANK", "0") == "0":
        shutil.rmtree(work, ignore_errors=True)


def _count_params(model) -> tuple[int, int]:
    """(trainable, total); ZeRO-3 shards report their full size in ``ds_numel``."""
    trainable = total = 0
    for param in model.parameters():
        n = getattr(param, "ds_numel", param.numel())
        total += n
        if param.requires_grad:
            trainable += n
    return trainable, total


def _log_callback(log: Callable[[str], None], what: str):
    """A callback forwarding the trainer's logs (loss, learning rate, ...) to ``log`` on the main process."""
    from transformers import TrainerCallback

    class LogCallback(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in logs.items())
                log(f"{what}: step {state.global_step}/{state.max_steps}: {shown}")

    return LogCallback()


# --------------------------------------------------------------------------
# Trainers
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _options_checked_by_trl(what: str):
    """TRL checks option combinations when the trainer is built (ValueError): report them as bad input."""
    try:
        yield
    except ValueError as err:
        raise RaitError(f"{what}: TRL rejected the options: {err}") from err


def _set_logging(trainer, log, what: str):
    """Training logs go to ``log`` (None: nowhere) instead of being printed to stdout."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    if log:
        trainer.add_callback(_log_callback(log, what))
    return trainer


def _fresh_work_dir(args, work: Path) -> None:
    """Empty ``work`` (main process), then let every rank go on."""
    state = args.distributed_state
    if state.is_main_process:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
    state.wait_for_everyone()


def _prepare(model_path, records, fields, what, *, chat, system, lora, log):
    """What both trainers check and load first: the records, the LoRA config and the tokenizer."""
    _check_records(records, fields, what)
    peft_config = lora_config(lora)
    tokenizer = _load_tokenizer(str(model_path), chat, what)
    if system and not chat and log:
        log(f"{what}: plain prompts (chat: false) have no system message; ignoring it")
    return peft_config, tokenizer


def build_sft_trainer(model_path, records, work_dir, *, chat: bool, system: str | None = None,
                      lora: dict | None = None, hparams: dict | None = None, seed: int = 0,
                      log: Callable[[str], None] | None = print):
    """The ``trl.SFTTrainer`` that ``train_sft`` runs (its data already tokenized and masked)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    what = "train_sft"
    peft_config, tokenizer = _prepare(model_path, records, SFT_FIELDS, what,
                                      chat=chat, system=system, lora=lora, log=log)
    args = _make_config(SFTConfig, hparams, {"output_dir": str(work_dir), "seed": seed, "data_seed": seed,
                                             "save_strategy": "no", "completion_only_loss": True}, what)
    _fresh_work_dir(args, Path(work_dir))
    dataset = Dataset.from_list(sft_rows(records, chat=chat, system=system))
    with _options_checked_by_trl(what):
        trainer = SFTTrainer(model=str(model_path), args=args, train_dataset=dataset, processing_class=tokenizer,
                             peft_config=peft_config)
    return _set_logging(trainer, log, "sft")


def build_dpo_trainer(model_path, records, work_dir, *, chat: bool, system: str | None = None,
                      lora: dict | None = None, hparams: dict | None = None, beta: float = 0.1,
                      sft_weight: float = 0.01, seed: int = 0, log: Callable[[str], None] | None = print):
    """The ``trl.DPOTrainer`` that ``train_dpo`` runs: DPO loss plus ``sft_weight`` x NLL of the chosen answer."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    what = "train_dpo"
    peft_config, tokenizer = _prepare(model_path, records, DPO_FIELDS, what,
                                      chat=chat, system=system, lora=lora, log=log)
    try:
        beta, sft_weight = float(beta), float(sft_weight)
    except (TypeError, ValueError):
        raise RaitError(f"{what}: beta and sft_weight must be numbers, got {beta!r} and {sft_weight!r}") from None
    if beta <= 0 or sft_weight < 0:
        raise RaitError(f"{what}: need beta > 0 and sft_weight >= 0, got {beta} and {sft_weight}")
    losses = {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, sft_weight]} if sft_weight else \
        {"loss_type": ["sigmoid"], "loss_weights": None}
    args = _make_config(DPOConfig, hparams, {"output_dir": str(work_dir), "seed": seed, "data_seed": seed,
                                             "save_strategy": "no", "beta": beta, **losses}, what)
    _fresh_work_dir(args, Path(work_dir))
    dataset = Dataset.from_list(dpo_rows(records, chat=chat, system=system))
    # ref_model=None: TRL loads a frozen copy of the starting model, or with LoRA disables the adapters.
    with _options_checked_by_trl(what):
        trainer = DPOTrainer(model=str(model_path), ref_model=None, args=args, train_dataset=dataset,
                             processing_class=tokenizer, peft_config=peft_config)
    return _set_logging(trainer, log, "dpo")


def _run(trainer, model_path, out_dir: Path, work: Path, *, lora: bool, extra: dict, log) -> dict:
    """Train, save (all ranks), then merge/cast/save into ``out_dir`` on the main process."""
    is_main = trainer.accelerator.is_main_process
    say = log if (log and is_main) else (lambda message: None)
    trainable, total = _count_params(trainer.model)
    n_examples = len(trainer.train_dataset)
    say(f"{extra['method']}: {n_examples} examples, {trainable:,} of {total:,} parameters trainable "
        f"({'LoRA' if lora else 'full fine-tuning'})")
    started = time.perf_counter()
    result = trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    stage = work / "final"
    trainer.save_model(str(stage))  # every rank: ZeRO-3 gathers the shards (only the adapter under PEFT)
    accelerator = trainer.accelerator
    accelerator.wait_for_everyone()
    stats = {
        **extra,
        "train_loss": round(float(result.training_loss), 6),
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_loss": losses[-1] if losses else None,
        "runtime_s": round(float(result.metrics.get("train_runtime", time.perf_counter() - started)), 2),
        "steps": int(result.global_step),
        "n_examples": n_examples,
        "trainable_params": trainable,
        "total_params": total,
        "lora": lora,
        "world_size": accelerator.num_processes,
    }
    if is_main:  # on CPU, from what save_model wrote: the same code whether or not the weights were sharded
        _save_final(model_path, stage, out_dir, trainer.processing_class, lora=lora, stats=stats)
        say(f"{extra['method']}: loss {stats['train_loss']:.4f} in {stats['runtime_s']:.0f}s; saved {out_dir}")
    accelerator.wait_for_everyone()
    return stats


def _save_final(model_path, stage: Path, out_dir: Path, tokenizer, *, lora: bool, stats: dict) -> None:
    """A plain checkpoint in the starting model's dtype: LoRA merged into a fresh copy of the base."""
    from transformers import AutoConfig, AutoModelForCausalLM

    dtype = AutoConfig.from_pretrained(model_path).dtype
    if lora:
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(model_path, dtype=dtype or "auto")
        model = PeftModel.from_pretrained(base, str(stage)).merge_and_unload()
    else:
        model = AutoModelForCausalLM.from_pretrained(str(stage), dtype=dtype or "auto")
    if dtype is not None:
        model = model.to(dtype)
    model.config.use_cache = True
    if tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    from rait.io import atomic_dir

    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / STATS_FILE).write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")


def train_sft(model_path, records: Sequence[dict], out_dir, *, chat: bool, system: str | None = None,
              lora: dict | None = None, hparams: dict | None = None, seed: int = 0,
              log: Callable[[str], None] | None = print) -> dict:
    """Supervised fine-tuning on ``records`` ({"id", "prompt", "target"}), loss on the target only.

    ``lora``: LoRA options (r, alpha, dropout, target_modules; ``{}`` for the
    defaults ``DEFAULT_LORA``), or None for full fine-tuning. ``hparams``:
    ``trl.SFTConfig`` fields (learning_rate, num_train_epochs,
    per_device_train_batch_size, gradient_accumulation_steps, max_length,
    warmup_ratio, lr_scheduler_type, bf16 ("auto" by default),
    logging_steps, gradient_checkpointing, ...); TRL's defaults otherwise.
    Writes the merged model, tokenizer and ``training_stats.json`` to
    ``out_dir`` and returns those statistics.
    """
    out_dir = Path(out_dir)
    work = _work_dir(out_dir)
    try:
        trainer = build_sft_trainer(model_path, records, work, chat=chat, system=system, lora=lora,
                                    hparams=hparams, seed=seed, log=log)
        return _run(trainer, str(model_path), out_dir, work, lora=lora is not None,
                    extra={"method": "sft", "chat": chat, "seed": seed}, log=log)
    finally:
        _remove_work_dir(work)


def train_dpo(model_path, records: Sequence[dict], out_dir, *, chat: bool, system: str | None = None,
              lora: dict | None = None, hparams: dict | None = None, beta: float = 0.1,
              sft_weight: float = 0.01, seed: int = 0, log: Callable[[str], None] | None = print) -> dict:
    """DPO on preference pairs ({"id", "prompt", "chosen", "rejected"}) starting from ``model_path``.

    The loss is TRL's sigmoid DPO loss with ``beta`` plus ``sft_weight`` times
    the mean NLL of the chosen answer's tokens (0 turns it off). The reference
    model is the starting model (with LoRA: the adapters disabled). Other
    arguments and the output as for ``train_sft`` (``hparams`` are
    ``trl.DPOConfig`` fields).
    """
    out_dir = Path(out_dir)
    work = _work_dir(out_dir)
    try:
        trainer = build_dpo_trainer(model_path, records, work, chat=chat, system=system, lora=lora,
                                    hparams=hparams, beta=beta, sft_weight=sft_weight, seed=seed, log=log)
        return _run(trainer, str(model_path), out_dir, work, lora=lora is not None,
                    extra={"method": "dpo", "chat": chat, "seed": seed, "beta": float(beta),
                           "sft_weight": float(sft_weight)}, log=log)
    finally:
        _remove_work_dir(work)


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

OPTION_KEYS = {
    "sft": ("chat", "system", "lora", "hparams", "seed"),
    "dpo": ("chat", "system", "lora", "hparams", "seed", "beta", "sft_weight"),
}


def parse_options(text: str, method: str) -> dict:
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
    for key in options:
        if key not in OPTION_KEYS[method]:
            raise RaitError(f"{source}: unknown option {key!r} for {method} (known: {', '.join(OPTION_KEYS[method])})")
    if "chat" not in options or not isinstance(options["chat"], bool):
        raise RaitError(f"{source}: `chat` (true or false) is required")
    options.setdefault("lora", {})  # absent: LoRA with the defaults; null: full fine-tuning
    return options


CPU_FALLBACK_ENV = "RAIT_CPU_FALLBACK"


def check_gpus(gpus: int | None) -> int | None:
    """The GPUs to train on. A job that asks for more GPUs than this machine has is refused before any
    model is loaded; with ``RAIT_CPU_FALLBACK=1`` and no CUDA device at all it trains on the CPU (0),
    saying so (a scheduler test with placeholder GPUs, a laptop run of a GPU config)."""
    if not gpus:
        return gpus
    import torch

    available = torch.cuda.device_count()
    if gpus > available:
        if available == 0 and os.environ.get(CPU_FALLBACK_ENV) == "1":
            logging.getLogger("rait.training").warning(
                "the job asks for %d GPU(s) but torch sees none; training on the CPU (%s=1)", gpus, CPU_FALLBACK_ENV
            )
            return 0
        raise RaitError(
            f"the model asks for {gpus} GPU(s) (config key models.<model>.gpus) but this machine has {available}; "
            "run on GPU nodes (snakemake --profile slurm) or set the model's gpus to 0 to train on the CPU"
        )
    return gpus


def launch_command(args: argparse.Namespace) -> list[str] | None:
    """The command that starts this job's processes one level down (see ``rait.launch``), or None to train in
    this process. Checks what the job asks for against what it got before anything is loaded."""
    if "LOCAL_RANK" in os.environ:  # started by a launcher
        return None
    inner = [args.method, "--model", args.model, "--data", args.data, "--out", args.out, "--options", args.options]
    nodes = args.nodes
    if nodes < 1:
        raise RaitError(f"--nodes must be >= 1, got {nodes} (config key models.<model>.nodes)")
    if nodes > 1 and not args.node_task:
        if "SLURM_JOB_ID" not in os.environ:
            raise RaitError(f"the model asks for {nodes} nodes (config key models.<model>.nodes) but this is not a "
                            "SLURM job; run with --profile slurm, or set the model's nodes to 1")
        node_argv = [*inner, "--gpus", str(args.gpus or 0), "--nodes", str(nodes), "--deepspeed", args.deepspeed,
                     "--node-task"]
        return module_command([*srun_command(nodes), sys.executable], node_argv)
    gpus = check_gpus(args.gpus)
    if nodes > 1:
        rendezvous = Rendezvous.from_slurm()
        if rendezvous.nodes != nodes:
            raise RaitError(f"the model asks for {nodes} nodes but the SLURM step has {rendezvous.nodes}")
        prefix = accelerate_command(gpus, args.deepspeed, rendezvous) if gpus else torchrun_command(rendezvous)
        return module_command(prefix, inner)
    if gpus and gpus > 1:
        return module_command(accelerate_command(gpus, args.deepspeed), inner)
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rait.training", description=__doc__.split("\n\n")[0])
    parser.add_argument("method", choices=sorted(OPTION_KEYS))
    parser.add_argument("--model", required=True, help="starting checkpoint (folder)")
    parser.add_argument("--data", required=True, help="training records (JSONL)")
    parser.add_argument("--out", required=True, help="folder to write the trained checkpoint to")
    parser.add_argument("--options", default='{"chat": false}', help="JSON object, or a file holding one")
    parser.add_argument("--gpus", type=int, default=None,
                        help="GPUs per node; with 2 or more, one process per GPU under accelerate + DeepSpeed "
                             "ZeRO-3; otherwise one process")
    parser.add_argument("--nodes", type=int, default=1,
                        help="nodes of the SLURM job; with 2 or more, one launcher per node under srun")
    parser.add_argument("--node-task", action="store_true", help=argparse.SUPPRESS)  # set by the srun level
    parser.add_argument("--deepspeed", default=DEFAULT_DEEPSPEED_CONFIG, help="DeepSpeed config for 2+ processes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    log = logging.getLogger(f"rait.training.{args.method}")
    try:
        command = launch_command(args)
    except RaitError as err:
        log.error("%s", err)
        return 1
    if command:
        import subprocess

        log.info("running %s", shlex.join(command))
        return subprocess.run(command).returncode
    try:
        import datasets
        import transformers

        datasets.disable_progress_bars()
        transformers.utils.logging.disable_progress_bar()
        from rait.io import read_jsonl

        options = parse_options(args.options, args.method)
        records = read_jsonl(args.data)
        train = train_sft if args.method == "sft" else train_dpo
        stats = train(args.model, records, args.out, log=log.info, **options)
    except RaitError as err:
        log.error("%s", err)
        return 1
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
