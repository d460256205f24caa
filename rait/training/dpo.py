"""Direct preference optimisation with TRL's ``DPOTrainer``: Idk-DPO.

The loss is ``["sigmoid", "sft"]`` weighted ``[1, sft_weight]``: the DPO loss plus an NLL term on the chosen
answer (TRL 1.x dropped ``rpo_alpha`` for this). With LoRA the reference model is the starting model itself,
with the adapters disabled; without it TRL loads a frozen copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence

from rait.errors import RaitError
from rait.training import settings
from rait.training.settings import setting
from rait.training.common import (assistant, chat_prompt, make_config, options_checked_by_trl, plain_completion,
                                  prepare, prepare_work_dir, set_logging, train_stage)

FIELDS = ("prompt", "chosen", "rejected")
CONFIG_CLASS = "trl.DPOConfig"  # what its hparams are fields of


@dataclass(frozen=True)
class Settings:
    """training.dpo"""
    hparams: dict = setting({"learning_rate": 5.0e-6, "num_train_epochs": 1, "per_device_train_batch_size": 8,
                             "max_length": 512}, help="trl.DPOConfig fields (over TRL's defaults)")
    beta: float = setting(0.1, help="DPO's KL weight (trl.DPOConfig.beta)")
    sft_weight: float = setting(0.01, help="the weight of the NLL term on the chosen answer beside the DPO loss")


SETTINGS = settings.keys(Settings)


def rows(records: Sequence[dict], *, chat: bool, system: str | None = None) -> list[dict]:
    """Preference pairs as TRL rows with an explicit prompt (conversational when ``chat``)."""
    if chat:
        return [{"prompt": chat_prompt(r["prompt"], system), "chosen": assistant(r["chosen"]),
                 "rejected": assistant(r["rejected"])} for r in records]
    return [{"prompt": r["prompt"], "chosen": plain_completion(r["prompt"], r["chosen"]),
             "rejected": plain_completion(r["prompt"], r["rejected"])} for r in records]


def _weights(beta, sft_weight, what: str) -> tuple[float, float]:
    try:
        beta, sft_weight = float(beta), float(sft_weight)
    except (TypeError, ValueError):
        raise RaitError(f"{what}: beta and sft_weight must be numbers, got {beta!r} and {sft_weight!r}") from None
    if beta <= 0 or sft_weight < 0:
        raise RaitError(f"{what}: need beta > 0 and sft_weight >= 0, got {beta} and {sft_weight}")
    return beta, sft_weight


def build_trainer(model_path, records, work_dir, *, chat: bool, system: str | None = None,
                  lora: dict | None = None, hparams: dict | None = None, beta: float = 0.1,
                  sft_weight: float = 0.01, seed: int = 0, log: Callable[[str], None] | None = print):
    """The ``trl.DPOTrainer`` that ``train`` runs: DPO loss plus ``sft_weight`` x NLL of the chosen answer."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    what = "train_dpo"
    peft_config, tokenizer = prepare(model_path, records, FIELDS, what, chat=chat, system=system, lora=lora, log=log)
    beta, sft_weight = _weights(beta, sft_weight, what)
    losses = {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, sft_weight]} if sft_weight else \
        {"loss_type": ["sigmoid"], "loss_weights": None}
    args = make_config(DPOConfig, hparams, {"output_dir": str(work_dir), "seed": seed, "data_seed": seed,
                                            "save_strategy": "no", "beta": beta, **losses}, what)
    prepare_work_dir(args, Path(work_dir))
    dataset = Dataset.from_list(rows(records, chat=chat, system=system))
    # ref_model=None: TRL loads a frozen copy of the starting model, or with LoRA disables the adapters.
    with options_checked_by_trl(what):
        trainer = DPOTrainer(model=str(model_path), ref_model=None, args=args, train_dataset=dataset,
                             processing_class=tokenizer, peft_config=peft_config)
    return set_logging(trainer, log, "dpo")


def train(model_path, records: Sequence[dict], out_dir, *, chat: bool, system: str | None = None,
          lora: dict | None = None, hparams: dict | None = None, beta: float = Settings.beta,
          sft_weight: float = Settings.sft_weight, seed: int = 0, save_steps: int | None = None,
          storage: str = "merged", log: Callable[[str], None] | None = print) -> dict:
    """DPO on preference pairs ({"id", "prompt", "chosen", "rejected"}) starting from ``model_path``.

    The loss is TRL's sigmoid DPO loss with ``beta`` plus ``sft_weight`` times the mean NLL of the chosen
    answer's tokens (0 turns it off). The reference model is the starting model (with LoRA: the adapters
    disabled). Other arguments and the output as for ``rait.training.sft.train`` (``hparams`` are
    ``trl.DPOConfig`` fields).
    """
    beta, sft_weight = _weights(beta, sft_weight, "train_dpo")
    extra = {"method": "dpo", "chat": chat, "seed": seed, "beta": beta, "sft_weight": sft_weight}
    return train_stage(build_trainer, model_path, records, out_dir, lora=lora, log=log, chat=chat, system=system,
                       save_steps=save_steps, storage=storage,
                       hparams=hparams, beta=beta, sft_weight=sft_weight, seed=seed, extra=extra)
