"""Supervised fine-tuning with TRL's ``SFTTrainer``: Idk-SFT and every method whose training set is
prompt -> target (CRaFT, Alignment for Honesty, CRaFT's rehearsal).

The data is given to TRL in its prompt-completion format, conversational when ``chat`` (TRL applies the
model's own chat template, with the system message if one is given) or plain text otherwise (prompt, then
" " + answer + eos as completion, for models without a chat template such as the synthetic world's tiny
GPT-2). TRL masks the prompt tokens out of the loss (labels -100), so the loss is on the answer only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence

from rait.training import settings
from rait.training.settings import setting
from rait.training.common import (assistant, chat_prompt, make_config, options_checked_by_trl, plain_completion,
                                  prepare, prepare_work_dir, set_logging, train_stage)

FIELDS = ("prompt", "target")
CONFIG_CLASS = "trl.SFTConfig"  # what its hparams are fields of


@dataclass(frozen=True)
class Settings:
    """training.sft"""
    hparams: dict = setting({"learning_rate": 1.0e-4, "num_train_epochs": 3, "per_device_train_batch_size": 8,
                             "gradient_accumulation_steps": 1, "max_length": 512},
                            help="trl.SFTConfig fields (over TRL's defaults)")
    adam_moments: bool = setting(False, given_by_plan=True,
                                 help="keep the optimizer's Adam moments of the LoRA parameters beside the adapter "
                                 "(adam_moments.safetensors): a stage whose registry entry says so (rait.methods.Stage)")


SETTINGS = settings.keys(Settings)


def rows(records: Sequence[dict], *, chat: bool, system: str | None = None) -> list[dict]:
    """Records as TRL prompt-completion rows (conversational when ``chat``)."""
    if chat:
        return [{"prompt": chat_prompt(r["prompt"], system), "completion": assistant(r["target"])} for r in records]
    return [{"prompt": r["prompt"], "completion": plain_completion(r["prompt"], r["target"])} for r in records]


def build_trainer(model_path, records, work_dir, *, chat: bool, system: str | None = None,
                  lora: dict | None = None, hparams: dict | None = None, seed: int = 0,
                  log: Callable[[str], None] | None = print):
    """The ``trl.SFTTrainer`` that ``train`` runs (its data already tokenized and masked)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    what = "train_sft"
    peft_config, tokenizer = prepare(model_path, records, FIELDS, what, chat=chat, system=system, lora=lora, log=log)
    args = make_config(SFTConfig, hparams, {"output_dir": str(work_dir), "seed": seed, "data_seed": seed,
                                            "save_strategy": "no", "completion_only_loss": True}, what)
    prepare_work_dir(args, Path(work_dir))
    dataset = Dataset.from_list(rows(records, chat=chat, system=system))
    with options_checked_by_trl(what):
        trainer = SFTTrainer(model=str(model_path), args=args, train_dataset=dataset, processing_class=tokenizer,
                             peft_config=peft_config)
    return set_logging(trainer, log, "sft")


def train(model_path, records: Sequence[dict], out_dir, *, chat: bool, system: str | None = None,
          lora: dict | None = None, hparams: dict | None = None, seed: int = 0, save_steps: int | None = None,
          storage: str = "merged", adam_moments: bool = Settings.adam_moments,
          log: Callable[[str], None] | None = print) -> dict:
    """Supervised fine-tuning on ``records`` ({"id", "prompt", "target"}), loss on the target only.

    ``lora``: LoRA options (r, alpha, dropout, target_modules; ``{}`` for the defaults ``DEFAULT_LORA``), or
    None for full fine-tuning. ``hparams``: ``trl.SFTConfig`` fields (learning_rate, num_train_epochs,
    per_device_train_batch_size, gradient_accumulation_steps, max_length, warmup_ratio, lr_scheduler_type,
    bf16 ("auto" by default), logging_steps, gradient_checkpointing, ...); TRL's defaults otherwise.
    Writes the merged model, tokenizer and ``training_stats.json`` to ``out_dir`` and returns those statistics.
    ``adam_moments``: also the optimizer's Adam moments (``rait.training.common.adam_moments``).
    """
    return train_stage(build_trainer, model_path, records, out_dir, lora=lora, log=log, chat=chat, system=system,
                       save_steps=save_steps, storage=storage, moments=adam_moments,
                       hparams=hparams, seed=seed, extra={"method": "sft", "chat": chat, "seed": seed})
