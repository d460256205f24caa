"""Training stages: one module per trainer kind, registered in ``TRAINERS``, run as ``python -m rait.training KIND``.

Every trainer reads records from JSONL (``prompt`` is the user text, not yet chat templated) and writes a plain
Hugging Face checkpoint (model + tokenizer + ``training_stats.json``) that every later rule loads with
``AutoModelForCausalLM.from_pretrained(out_dir)``. LoRA through PEFT by default (``lora=None``: full
fine-tuning), merged into the base before saving. What they share (checks, LoRA, the TRL config, saving the
final checkpoint atomically, statistics) is ``rait.training.common``; how a job starts its processes on several
GPUs or nodes is ``rait.launch`` and ``rait.training.cli``.

A trainer module has ``FIELDS`` (what each record must hold), ``Settings`` (a dataclass of the keys of its
settings section in config, ``training.<kind>`` by default, with their defaults and help, and of the options the
plan gives it: ``rait.training.settings``), ``SETTINGS`` (the options it reads, from ``Settings``),
``CONFIG_CLASS``, ``build_trainer(...)`` and ``train(model_path, records, out_dir, **options)``. A new trainer is
one module registered in ``TRAINERS`` (a module lacking one of these is refused there); the workflow's training
rule dispatches on a stage's ``trainer`` (``rait.methods``).
"""

from rait.training import cut, dpo, grpo, reward, rloo, sft
from rait.training.common import COMMON_OPTIONS, LOG_HISTORY_FILE, STATS_FILE, TENSORBOARD_DIR, lora_config, save_final

from rait.registry import Registry  # noqa: E402


def _trainer_problem(module) -> str | None:
    """What a trainer module lacks of what the plan and ``python -m rait.training`` read."""
    import dataclasses

    missing = [name for name in ("FIELDS", "CONFIG_CLASS", "SETTINGS", "build_trainer", "train")
               if not hasattr(module, name)]
    if not dataclasses.is_dataclass(getattr(module, "Settings", None)):
        missing.append("Settings (a dataclass of rait.training.settings fields)")
    return f"module {module.__name__} has no {', '.join(missing)}" if missing else None


TRAINERS = Registry("trainer", check=_trainer_problem)
for _module in (sft, dpo, reward, rloo, grpo, cut):
    TRAINERS.register(_module.__name__.rsplit(".", 1)[1], _module, origin=_module.__name__.replace(".", "/") + ".py")

from rait.launch import check_gpus  # noqa: E402
from rait.training.cli import build_parser, launch_command, main, parse_options  # noqa: E402

__all__ = ["COMMON_OPTIONS", "LOG_HISTORY_FILE", "STATS_FILE", "TENSORBOARD_DIR", "TRAINERS", "build_parser",
           "check_gpus", "launch_command", "lora_config", "main", "parse_options", "save_final"]
