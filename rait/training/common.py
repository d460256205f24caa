"""What every trainer shares: checks of the records and options, LoRA, the TRL config, the tokenizer, logging,
the scratch folder, and saving the final checkpoint atomically with its statistics.

A trainer module (``rait.training.sft``, ``rait.training.dpo``, ...) builds its TRL trainer with these pieces
and hands it to ``train_stage``, which trains, saves on every rank (ZeRO-3 gathers the shards; under PEFT only
the adapter is saved), and on the main process merges LoRA into a fresh copy of the base, casts to the
starting checkpoint's dtype and renames the result into place (``rait.io.atomic_dir``), so a half-written
checkpoint never sits at ``out_dir``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import shutil
import time
from pathlib import Path
from collections.abc import Callable, Sequence

from rait.errors import RaitError
from rait.prompts import assistant, chat_prompt, plain_completion  # noqa: F401 (the trainers' prompt builders)

from rait.plan.layout import LOG_HISTORY_FILE, STATS_FILE, TENSORBOARD_DIR  # noqa: E402, F401 (a checkpoint's files)
# Options every trainer takes (``--options``), from the model entry and the ``training`` section; a trainer
# module adds the options it reads (its ``Settings``: its own section ``training.<kind>`` and what the plan gives)
# in ``SETTINGS``.
COMMON_OPTIONS = ("chat", "system", "lora", "seed", "storage")

DEFAULT_LORA = {"r": 16, "alpha": 32, "dropout": 0.05, "target_modules": "all-linear"}
# Short names accepted in the ``lora`` dict, besides every ``peft.LoraConfig`` field.
LORA_ALIASES = {"alpha": "lora_alpha", "dropout": "lora_dropout"}

# Config fields rait sets itself: the caller passes them as arguments instead.
RESERVED_HPARAMS = {
    "output_dir": "set by rait.training (a temporary folder beside out_dir)",
    "seed": "pass `seed`",
    "data_seed": "pass `seed`",
    "save_strategy": "set by --save-steps (training.save_steps): a resumable checkpoint every that many steps",
    "save_steps": "set by --save-steps (training.save_steps)",
    "push_to_hub": "the model is only saved to out_dir",
    "completion_only_loss": "loss is always on the answer only",
    "beta": "pass `beta`",
    "loss_type": "set from `sft_weight`",
    "loss_weights": "set from `sft_weight`",
}


# --------------------------------------------------------------------------
# Records and rows
# --------------------------------------------------------------------------


def check_records(records: Sequence[dict], fields: Sequence[str], what: str,
                  lines: Sequence[int] | None = None) -> None:
    """Every record holds each of ``fields`` as non-empty text. ``what`` names the source: a file, with ``lines``
    the line of each record (python -m rait.training), or the trainer."""
    if not records:
        raise RaitError(f"{what}: no training records")
    for index, record in enumerate(records):
        where = f"{what}:{lines[index]}" if lines else f"{what}: record {index}"
        if not isinstance(record, dict):
            raise RaitError(f"{where}: not an object")
        name = f"id {record['id']!r}" if "id" in record else "record (no id)"
        missing = [field for field in fields if not isinstance(record.get(field), str) or not record[field].strip()]
        if missing:
            raise RaitError(f"{where}: {name} has no {', '.join(missing)} (a non-empty string is required)")


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------


def lora_config(lora: dict | None, task_type: str = "CAUSAL_LM"):
    """A ``peft.LoraConfig`` from rait's ``lora`` dict (None: full fine-tuning); ``task_type`` SEQ_CLS for a reward
    model (PEFT then also trains and saves its score head)."""
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
        return LoraConfig(task_type=task_type, **kwargs)
    except (TypeError, ValueError) as err:
        raise RaitError(f"lora: {err}") from None


# The model entry's `precision` (python -m rait.training --precision), passed to every process a launcher starts.
PRECISION_ENV = "RAIT_PRECISION"
PRECISIONS = {"bf16": {"bf16": True, "fp16": False}, "fp16": {"bf16": False, "fp16": True},
              "fp32": {"bf16": False, "fp16": False}, "auto": {}}


def precision_hparams(precision: str, hparams: dict, what: str, model: str = "<model>") -> dict:
    """The trainer's bf16/fp16 for the model's precision (bf16 on A100/H100, fp16 on V100s that have no bf16,
    fp32); "auto" leaves them to the hparams and the hardware. An hparams value that contradicts it is an error
    (the workflow asks this when the DAG is built, the trainer again when it starts)."""
    if precision not in PRECISIONS:
        raise RaitError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r} (config key "
                        f"models.{model}.precision)")
    wanted = PRECISIONS[precision]
    for key, value in wanted.items():
        if key in hparams and hparams[key] not in (None, "auto", value):
            raise RaitError(f"{what}: hparams {key}: {hparams[key]!r} contradicts the model's precision {precision} "
                            f"(config key models.{model}.precision); remove one")
    return wanted


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


def make_config(config_cls, hparams: dict | None, fixed: dict, what: str):
    """``config_cls(**hparams, **fixed)``; unknown or reserved keys are a RaitError naming them."""
    import torch

    if hparams is not None and not isinstance(hparams, dict):
        raise RaitError(f"{what}: hparams must be a mapping, got {type(hparams).__name__}")
    hparams = dict(hparams or {})
    known = {field.name for field in dataclasses.fields(config_cls) if field.init}
    for key in hparams:
        # a reserved name is refused where rait sets it (beta is DPO's argument but an RLOOConfig field of its own)
        if key in RESERVED_HPARAMS and (key in fixed or key == "push_to_hub"):
            raise RaitError(f"{what}: hparams key {key!r} cannot be set ({RESERVED_HPARAMS[key]})")
        if key not in known:
            raise RaitError(f"{what}: unknown hparams key {key!r} (not a field of trl.{config_cls.__name__})")
    hparams.update(precision_hparams(os.environ.get(PRECISION_ENV, "auto"), hparams, what))
    if os.environ.get("ACCELERATE_MIXED_PRECISION") == "fp16":  # the launcher's "auto" on a GPU without bf16
        hparams.setdefault("fp16", True)
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
    # logging_steps 1: the log history kept with the checkpoint (the report's training curve) has every step
    defaults = {"report_to": "none", "disable_tqdm": True, "dataloader_pin_memory": torch.cuda.is_available(),
                "use_cpu": not torch.cuda.is_available(), "logging_steps": 1}
    try:
        return config_cls(**{**defaults, **hparams, **fixed})
    except (TypeError, ValueError) as err:
        raise RaitError(f"{what}: bad hparams ({err})") from None


def load_tokenizer(model_path: str, chat: bool, what: str):
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


def prepare(model_path, records, fields, what, *, chat, system, lora, log):
    """What every trainer checks and loads first: the records, the LoRA config and the tokenizer."""
    check_records(records, fields, what)
    peft_config = lora_config(lora)
    tokenizer = load_tokenizer(str(model_path), chat, what)
    if system and not chat and log:
        log(f"{what}: plain prompts (chat: false) have no system message; ignoring it")
    return peft_config, tokenizer


@contextlib.contextmanager
def options_checked_by_trl(what: str):
    """TRL checks option combinations when the trainer is built (ValueError): report them as bad input."""
    try:
        yield
    except ValueError as err:
        raise RaitError(f"{what}: TRL rejected the options: {err}") from err


# --------------------------------------------------------------------------
# Scratch folder and logging
# --------------------------------------------------------------------------


def job_key(model_path, records, options: dict) -> str:
    """What a training job is: its start, its data and every option. Its scratch folder is named by it, so a
    rerun with the same parameters resumes there and one with other parameters never does."""
    import hashlib

    # a live object among the options (GRPO's statement counter) is not a parameter: its type stands for it, never
    # its state or address, so the key is the same on every rerun
    text = json.dumps({"model": str(model_path), "records": list(records), "options": options}, sort_keys=True,
                      default=lambda value: type(value).__name__)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def is_global_main() -> bool:
    """The main process of the whole job (``RANK`` is set by the launchers; unset: the only process)."""
    return os.environ.get("RANK", "0") == "0"


def work_dir(out_dir: Path, key: str) -> Path:
    """Scratch space for the trainer, beside ``out_dir`` and named by the job's key; the same path on every rank."""
    return out_dir.parent / f".{out_dir.name}.train-{key}"


def claim_file(out_dir: Path) -> Path:
    """Names the key of the last job started for ``out_dir``: only that job may move its result there."""
    return out_dir.parent / f".{out_dir.name}.claim"


def claim(out_dir: Path, key: str) -> None:
    """Main process, at the start: this job is now the one ``out_dir`` waits for; scratch folders of other
    parameters that no live job holds (a killed job's, an edited config's) go. A live job's folder stays: removed
    under it, its next save would fail; it finds itself stale at its next checkpoint (``watch_claim``) or at its
    end and removes its folder itself."""
    if not is_global_main():
        return
    from rait.io import atomic_open

    with atomic_open(claim_file(out_dir)) as handle:
        handle.write(key + "\n")
    ours = work_dir(out_dir, key).name
    for stale in out_dir.parent.glob(f".{out_dir.name}.train*"):
        if stale.name != ours:
            remove_unheld(stale)


def hold_work_dir(work: Path) -> int | None:
    """Main process: create ``work`` (kept when it exists: a killed run's checkpoints) and hold a shared lock on
    it for the job's life, so that a newer job's ``claim`` leaves it alone. The lock goes with the process, a
    SIGKILL too. Returns the descriptor to close at the end (None on other ranks)."""
    import fcntl

    if not is_global_main():
        return None
    for _ in range(5):
        work.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(work, os.O_RDONLY)
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        # a claim may have removed the folder between mkdir and the lock: hold the folder that is there
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(os.fstat(descriptor), os.stat(work)):
                return descriptor
        os.close(descriptor)
    raise RaitError(f"{work}: the scratch folder was removed five times as this job created it; is another job "
                    "claiming the same output in a loop?")


def remove_unheld(folder: Path) -> bool:
    """Remove ``folder`` unless a live job holds it (``hold_work_dir``); True when removed."""
    import fcntl

    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # gone already, or not a folder
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return False
    try:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(descriptor)
    return True


class StaleJob(RaitError):
    """A newer training job claimed the output: this one's result, and its scratch folder, are of no use."""


def stale_job(out_dir: Path, holder: str | None, key: str, stopping_at: int | None = None) -> StaleJob:
    """The error of a job whose output a newer job (parameters ``holder``) claimed, at its end or (``stopping_at``)
    at a checkpoint."""
    stopping = "" if stopping_at is None else f"stopping at step {stopping_at}, "
    return StaleJob(f"{out_dir}: a newer training job (parameters {holder}) claimed this output after this one "
                    f"(parameters {key}) started; {stopping}this job's result is stale and is not moved into place")


def check_claim(out_dir: Path, key: str) -> None:
    """Before the result moves into place (every rank): a newer job for ``out_dir`` wins, this one's result is
    stale (its job was orphaned and the plan changed) and never replaces what the newer one writes."""
    holder = claim_holder(out_dir)
    if holder != key:
        raise stale_job(out_dir, holder, key)


def claim_holder(out_dir: Path) -> str | None:
    try:  # not exists() then read: the holder may release the claim in between
        return claim_file(out_dir).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def watch_claim(out_dir: Path, key: str):
    """A callback that stops the job at each checkpoint once a newer job has claimed ``out_dir``: an orphan of an
    edited config frees its GPUs at its next save instead of training to the end for nothing. The main process
    reads the claim and tells every rank, so that all stop at the same step (one rank stopping alone would leave
    the others waiting in a collective)."""
    from accelerate.utils import broadcast_object_list
    from transformers import TrainerCallback

    class WatchClaim(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            holder = [claim_holder(out_dir) if state.is_world_process_zero else None]
            broadcast_object_list(holder)
            if holder[0] != key:
                raise stale_job(out_dir, holder[0], key, stopping_at=state.global_step)

    return WatchClaim()


def release(out_dir: Path, key: str) -> None:
    if is_global_main() and claim_holder(out_dir) == key:
        claim_file(out_dir).unlink()


def remove_work_dir(work: Path) -> None:
    """Remove the scratch folder, from the global main process only."""
    if is_global_main():
        shutil.rmtree(work, ignore_errors=True)


def prepare_work_dir(args, work: Path) -> None:
    """Create ``work`` if it is missing (main process), keeping what a killed run of the same job left there to
    resume from; then let every rank go on."""
    state = args.distributed_state
    if state.is_main_process:
        work.mkdir(parents=True, exist_ok=True)
    state.wait_for_everyone()


def checkpoint_step(path: Path) -> int | None:
    """N of the trainer's ``checkpoint-N`` folder (transformers' PREFIX_CHECKPOINT_DIR), else None."""
    prefix, _, step = path.name.partition("-")
    return int(step) if prefix == "checkpoint" and step.isdigit() else None


def latest_checkpoint(work: Path) -> Path | None:
    """The newest complete ``checkpoint-N`` in ``work``. Not transformers' ``get_last_checkpoint``: the trainer
    writes trainer_state.json last, and a folder without it was cut off mid-save by a kill."""
    done = [p for p in work.glob("checkpoint-*")
            if checkpoint_step(p) is not None and (p / "trainer_state.json").exists()]
    return max(done, key=checkpoint_step, default=None)


def save_every(trainer, save_steps: int | None) -> None:
    """A resumable checkpoint (weights, optimizer, scheduler, RNG states) every ``save_steps`` steps, the last two
    kept; 0 or None: none (the final model is always saved)."""
    if not save_steps:
        return
    from transformers.trainer_utils import SaveStrategy

    # set on the built trainer, not in each trainer's config: DefaultFlowCallback reads them at every step
    trainer.args.save_strategy = SaveStrategy.STEPS
    trainer.args.save_steps = int(save_steps)
    trainer.args.save_total_limit = 2


def _log_callback(log: Callable[[str], None], what: str):
    """A callback forwarding the trainer's logs (loss, learning rate, ...) to ``log`` on the main process."""
    from transformers import TrainerCallback

    class LogCallback(TrainerCallback):
        started = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.monotonic()

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                shown = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in logs.items())
                log(f"{what}: {step_progress(state.global_step, state.max_steps, self.started)}: {shown}")

    return LogCallback()


def step_progress(step: int, total: int, started: float | None, now: float | None = None) -> str:
    """"step 5/12 (42%), 0:00:10 elapsed, 2.0 s/step, about 0:00:14 left": where a training job is, in its log."""
    text = f"step {step}/{total}" + (f" ({100 * step / total:.0f}%)" if total else "")
    if started is None or step <= 0:
        return text
    elapsed = (time.monotonic() if now is None else now) - started
    per_step = elapsed / step
    left = max(total - step, 0) * per_step
    return (f"{text}, {datetime.timedelta(seconds=round(elapsed))} elapsed, {per_step:.2f} s/step, "
            f"about {datetime.timedelta(seconds=round(left))} left")


def _finite_loss_callback(what: str):
    """Stops training with an error at the first logged loss that is NaN or infinite (never trains on)."""
    import math

    from transformers import TrainerCallback

    class FiniteLoss(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            loss = (logs or {}).get("loss")
            if isinstance(loss, float) and not math.isfinite(loss):
                raise RaitError(f"{what}: the loss is {loss} at step {state.global_step}; stopping (lower the "
                                "learning rate or check the data)")

    return FiniteLoss()


def set_logging(trainer, log, what: str):
    """Training logs go to ``log`` (None: nowhere) instead of being printed to stdout; a non-finite loss stops it."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(_finite_loss_callback(what))
    if log:
        trainer.add_callback(_log_callback(log, what))
    return trainer


# --------------------------------------------------------------------------
# Training and saving
# --------------------------------------------------------------------------


def _count_params(model) -> tuple[int, int]:
    """(trainable, total); ZeRO-3 shards report their full size in ``ds_numel``."""
    trainable = total = 0
    for param in model.parameters():
        n = getattr(param, "ds_numel", param.numel())
        total += n
        if param.requires_grad:
            trainable += n
    return trainable, total


def _run(trainer, model_path, out_dir: Path, work: Path, key: str, *, lora: bool, extra: dict, log,
         model_class: str = "AutoModelForCausalLM", after_train: Callable | None = None, loaded: str | None = None,
         storage: str = "merged", moments: bool = False) -> dict:
    """Train, save (all ranks), then merge/cast/save into ``out_dir`` on the main process. ``after_train(trainer)``
    may add statistics (a reward model's held-out accuracy); ``loaded``: the full checkpoint the trainer started
    from, when ``model_path`` is an adapter checkpoint (``rait.checkpoints.materialize``); ``moments``: keep the
    optimizer's Adam moments beside the checkpoint (``adam_moments``)."""
    is_main = trainer.accelerator.is_main_process
    say = log if (log and is_main) else (lambda message: None)
    trainable, total = _count_params(trainer.model)
    n_examples = len(trainer.train_dataset)
    say(f"{extra['method']}: {n_examples} examples, {trainable:,} of {total:,} parameters trainable "
        f"({'LoRA' if lora else 'full fine-tuning'})")
    started = time.perf_counter()
    resume = latest_checkpoint(work)
    if resume is not None:
        say(f"{extra['method']}: resuming from step {checkpoint_step(resume)} ({resume})")
    result = trainer.train(resume_from_checkpoint=str(resume) if resume is not None else None)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    train_loss = whole_run_loss(result.training_loss, result.global_step, trainer.state.log_history,
                                checkpoint_step(resume) if resume is not None else 0)
    check_claim(out_dir, key)
    stage = work / "final"
    trainer.save_model(str(stage))  # every rank: ZeRO-3 gathers the shards (only the adapter under PEFT)
    accelerator = trainer.accelerator
    if moments and accelerator.is_main_process:
        from safetensors.torch import save_file

        from rait.checkpoints import MOMENTS_FILE

        save_file(adam_moments(trainer), str(stage / MOMENTS_FILE))
    accelerator.wait_for_everyone()
    stats = {
        **extra,
        "train_loss": round(train_loss, 6),
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_loss": losses[-1] if losses else None,
        "runtime_s": round(float(result.metrics.get("train_runtime", time.perf_counter() - started)), 2),
        "steps": int(result.global_step),
        "n_examples": n_examples,
        "trainable_params": trainable,
        "total_params": total,
        "lora": lora,
        "world_size": accelerator.num_processes,
        **({"stored": "adapter"} if lora and storage == "adapter" else {}),
        **(after_train(trainer) if after_train else {}),
    }
    if is_main:  # on CPU, from what save_model wrote: the same code whether or not the weights were sharded
        check_claim(out_dir, key)  # again: the merge takes minutes on a large model
        save_final(model_path, stage, out_dir, trainer.processing_class, lora=lora, stats=stats,
                   model_class=model_class, log_history=trainer.state.log_history, tensorboard=work / "runs",
                   loaded=loaded, storage=storage)
        say(f"{extra['method']}: loss {stats['train_loss']:.4f} in {stats['runtime_s']:.0f}s; saved {out_dir}")
    accelerator.wait_for_everyone()
    return stats


def adam_moments(trainer) -> dict:
    """The optimizer's first and second moments of each trainable parameter, ``<name>.exp_avg`` and
    ``<name>.exp_avg_sq`` in float32, as LESS's ``prepare_optimizer_state`` reads them by parameter name (it loads
    the warm-up's optimizer state). An optimizer that keeps no Adam moments is an error naming it."""
    state = trainer.optimizer.state
    moments = {}
    for name, param in trainer.model.named_parameters():
        if not param.requires_grad:
            continue
        entry = state.get(param, {})
        if "exp_avg" not in entry or "exp_avg_sq" not in entry:
            raise RaitError(f"adam_moments: the optimizer ({trainer.args.optim}) keeps no Adam moments of {name} "
                            "(no step taken, or not an Adam optimizer)")
        for moment in ("exp_avg", "exp_avg_sq"):
            moments[f"{name}.{moment}"] = entry[moment].detach().float().cpu().contiguous()
    return moments


def whole_run_loss(training_loss: float, global_step: int, log_history: Sequence[dict], resumed_at: int) -> float:
    """The mean training loss over every step of the job. A resumed run's ``training_loss`` (transformers') covers
    only the steps after ``resumed_at``; the steps before are in the restored log history, each logged loss the
    mean over the steps since the one logged before it."""
    earlier, logged = 0.0, 0
    for entry in log_history:
        if "loss" in entry and entry.get("step", 0) <= resumed_at:
            earlier += entry["loss"] * (entry["step"] - logged)
            logged = entry["step"]
    # steps of the killed run after its last log and before its checkpoint were never logged: not counted
    now = global_step - resumed_at
    return float((training_loss * now + earlier) / max(now + logged, 1))


def save_final(model_path, stage: Path, out_dir: Path, tokenizer, *, lora: bool, stats: dict,
               model_class: str = "AutoModelForCausalLM", log_history: Sequence[dict] = (),
               tensorboard: Path | None = None, loaded: str | None = None, storage: str = "merged") -> None:
    """A plain checkpoint in the starting model's dtype: LoRA merged into a fresh copy of the base. ``model_class``:
    the transformers auto class it is (a reward model: ``AutoModelForSequenceClassification``, one label). The
    trainer's ``log_history`` and TensorBoard folder (when there is one) are kept beside the weights. With
    ``storage`` "adapter" a LoRA stage is stored as the chain's stacked adapter over its base instead
    (``rait.checkpoints``); ``loaded``: the full checkpoint the trainer started from, if not ``model_path``."""
    import transformers
    from transformers import AutoConfig

    from rait.checkpoints import MOMENTS_FILE
    from rait.io import atomic_dir

    if lora and storage == "adapter":
        with atomic_dir(out_dir) as tmp:
            _write_adapter(model_path, stage, tmp, tokenizer, model_class)
            _write_records(tmp, stats, log_history, tensorboard)
            if (stage / MOMENTS_FILE).is_file():
                shutil.copyfile(stage / MOMENTS_FILE, tmp / MOMENTS_FILE)
        return
    auto = getattr(transformers, model_class)
    kwargs = {"num_labels": 1} if model_class == "AutoModelForSequenceClassification" else {}
    model_path = loaded or model_path
    dtype = AutoConfig.from_pretrained(model_path).dtype
    if lora:
        from peft import PeftModel

        base = auto.from_pretrained(model_path, dtype=dtype or "auto", **kwargs)
        model = PeftModel.from_pretrained(base, str(stage)).merge_and_unload()
    else:
        model = auto.from_pretrained(str(stage), dtype=dtype or "auto")
    if dtype is not None:
        model = model.to(dtype)
    model.config.use_cache = True
    if tokenizer.pad_token_id is not None:
        model.config.pad_token_id = tokenizer.pad_token_id
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.pad_token_id = tokenizer.pad_token_id
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        _write_records(tmp, stats, log_history, tensorboard)


def _write_records(folder: Path, stats: dict, log_history: Sequence[dict], tensorboard: Path | None) -> None:
    (folder / STATS_FILE).write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    (folder / LOG_HISTORY_FILE).write_text("".join(json.dumps(entry) + "\n" for entry in log_history),
                                           encoding="utf-8")
    if tensorboard is not None and tensorboard.is_dir():
        shutil.copytree(tensorboard, folder / TENSORBOARD_DIR)


def _write_adapter(model_path, stage: Path, folder: Path, tokenizer, model_class: str) -> None:
    """The stage's adapter stacked onto its start's (when the start is an adapter stage), over the start's base."""
    from rait.adapters import read_adapter, stack
    from rait.checkpoints import chain_of, write_adapter_checkpoint

    base, parents = chain_of(model_path)
    stacked = stack([*parents, read_adapter(stage)])
    stacked.config["base_model_name_or_path"] = base
    write_adapter_checkpoint(stacked, base, folder, model_class)
    tokenizer.save_pretrained(folder)


# How a LoRA stage is stored: merged into a full copy of its start, or as an adapter over the base (rait.checkpoints)
STORAGES = ("merged", "adapter")


def _full_start(model_path, work: Path) -> str:
    """The full checkpoint a trainer starts from: ``model_path``, or an adapter start's merged copy (made once per
    job, by the main process; the other ranks wait for it)."""
    from rait.checkpoints import is_adapter, materialize

    if not is_adapter(model_path):
        return str(model_path)
    folder = work / "start"
    if is_global_main():
        materialize(model_path, folder)
    else:
        while not (folder / "config.json").is_file():
            time.sleep(2)
    return str(folder)


def train_stage(build_trainer: Callable, model_path, records, out_dir, *, lora: dict | None, extra: dict,
                log: Callable[[str], None] | None, model_class: str = "AutoModelForCausalLM",
                after_train: Callable | None = None, save_steps: int | None = None, storage: str = "merged",
                moments: bool = False, **options) -> dict:
    """Build a trainer with ``build_trainer(model_path, records, work_dir, lora=..., log=..., **options)`` in a
    scratch folder beside ``out_dir`` named by the job's parameters, train it (resuming from the folder's latest
    checkpoint when a killed run of the same job left one; one every ``save_steps``) and save the final checkpoint.
    The scratch folder goes when the job succeeds, when a newer job claimed the output, and when it fails with
    nothing to resume from. A start stored as an adapter (``rait.checkpoints``) is merged into a full copy in the
    scratch folder first, which the trainer starts from (its reference and KL anchor); ``storage`` "adapter" keeps
    a LoRA stage as the chain's stacked adapter instead of a merged copy; ``moments`` keeps its Adam moments
    beside it (``adam_moments``: a LoRA stage stored as an adapter, trained in one process)."""
    if storage not in STORAGES:
        raise RaitError(f"storage must be one of {', '.join(STORAGES)}, got {storage!r} (config key "
                        "training.lora_storage)")
    out_dir = Path(out_dir)
    from rait.checkpoints import is_adapter

    if moments and (lora is None or storage != "adapter" or is_adapter(model_path)):
        raise RaitError("adam_moments: Adam moments are kept for a LoRA stage stored as an adapter over its base (the "
                        "parameters they are of), not for full fine-tuning, a merged copy or an adapter stacked onto "
                        "its start's")
    key = job_key(model_path, records, {"lora": lora, "extra": extra, "model_class": model_class, **options,
                                        **({"moments": True} if moments else {})})
    work = work_dir(out_dir, key)
    held = hold_work_dir(work)
    claim(out_dir, key)
    try:
        loaded = _full_start(model_path, work)
        trainer = build_trainer(loaded, records, work, lora=lora, log=log, **options)
        if moments and trainer.accelerator.num_processes > 1:
            raise RaitError("adam_moments: kept only for a stage trained in one process (under DeepSpeed ZeRO each "
                            "process holds a shard of them); train it on one GPU")
        save_every(trainer, save_steps)
        trainer.add_callback(watch_claim(out_dir, key))
        stats = _run(trainer, str(model_path), out_dir, work, key, lora=lora is not None, extra=extra, log=log,
                     model_class=model_class, after_train=after_train, loaded=loaded, storage=storage,
                     moments=moments)
    except StaleJob:  # a newer job owns the output: nothing here will ever be resumed
        remove_work_dir(work)
        raise
    except BaseException:
        if latest_checkpoint(work) is None:  # nothing to resume from: leave nothing behind
            remove_work_dir(work)
        raise
    finally:
        release(out_dir, key)
        if held is not None:
            os.close(held)
    remove_work_dir(work)
    return stats
