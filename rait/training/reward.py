"""A reward model with TRL's ``RewardTrainer``: Say-I-Dont-Know's reward model for Idk-BoN and Idk-PPO.

Their reward model (OpenMOSS/Say-I-Dont-Know@a476845, ``src/llama_recipes/utils/train_utils.py`` ``RewardModel``;
``src/Inference/infer_reward_model.py``) is the Idk-SFT model with a scalar head on every token, trained on the Idk
preference pairs (lr 9e-6, one epoch), and scores "[INST] question [/INST] answer" at the last token. Here:
``AutoModelForSequenceClassification`` with one label, started from the checkpoint the stage starts from, on the
same pairs (TRL's own rows: prompt, chosen, rejected; conversational with the chat template when ``chat``), scored
at the last token as theirs. One departure, the loss: theirs (DeepSpeed-Chat's) is -log sigmoid(r_chosen -
r_rejected) averaged over the tokens from the first one where chosen and rejected differ to the end of the longer
(``RewardModel.forward``: ``divergence_ind``, ``c_truncated_reward``); TRL's ``RewardTrainer`` takes it at the last
token only, the same score the model is used with. rait keeps TRL's: the per-token loss trains every position of a
pair to rank, which nothing reads, and needs a trainer of its own. A seeded share of the pairs (``heldout``, 0.1) is
kept out of training; TRL's pairwise accuracy on them is written to ``training_stats.json`` beside the model
(``heldout_accuracy``). The checkpoint is a sequence-classification model, read by ``rait.reward_model``: with LoRA
the chain's adapter and the score head trained whole (``modules_to_save``) over the base
(``training.lora_storage``), else a full copy.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence

from rait.errors import RaitError
from rait.training import settings
from rait.training.settings import setting
from rait.training.common import (lora_config, make_config, options_checked_by_trl, prepare, prepare_work_dir,
                                  set_logging, train_stage)
from rait.training.dpo import rows

FIELDS = ("prompt", "chosen", "rejected")
CONFIG_CLASS = "trl.RewardConfig"  # what its hparams are fields of


@dataclass(frozen=True)
class Settings:
    """training.reward: Say-I-Dont-Know's lr 9e-6, one epoch"""
    hparams: dict = setting({"learning_rate": 9.0e-6, "num_train_epochs": 1, "per_device_train_batch_size": 8,
                             "max_length": 512}, help="trl.RewardConfig fields (over TRL's defaults)")
    heldout: float = setting(0.1, help="share of the pairs kept out; the pairwise accuracy on them goes in "
                                       "training_stats.json")
    lora: dict | None = setting(help="LoRA for this trainer's stages instead of training.lora (null: full fine-tuning)")


SETTINGS = settings.keys(Settings)
MODEL_CLASS = "AutoModelForSequenceClassification"
log_ = logging.getLogger(__name__)


def usable_pairs(records: Sequence[dict]) -> list[dict]:
    """The pairs with something to prefer: chosen and rejected the same text teach nothing (skipped, counted)."""
    kept = [r for r in records if r["chosen"].strip() != r["rejected"].strip()]
    if len(kept) < len(records):
        log_.warning("reward: %d of %d pairs skipped: chosen and rejected are the same text",
                     len(records) - len(kept), len(records))
    return kept


def split_heldout(records: Sequence[dict], share: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, held out): a seeded ``share`` of the pairs, at least one when there are two or more."""
    if not 0 <= share < 1:
        raise RaitError(f"train_reward: heldout must lie in [0, 1), got {share}")
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    count = min(len(records) - 1, max(1, round(len(records) * share))) if share and len(records) >= 2 else 0
    out = set(order[:count])
    return ([r for i, r in enumerate(records) if i not in out], [r for i, r in enumerate(records) if i in out])


def build_trainer(model_path, records, work_dir, *, chat: bool, system: str | None = None,
                  lora: dict | None = None, hparams: dict | None = None, heldout: float = Settings.heldout, seed: int = 0,
                  log: Callable[[str], None] | None = print):
    """The ``trl.RewardTrainer`` that ``train`` runs; its eval set is the held-out pairs."""
    from datasets import Dataset
    from trl import RewardConfig, RewardTrainer

    what = "train_reward"
    records = usable_pairs(records)
    _, tokenizer = prepare(model_path, records, FIELDS, what, chat=chat, system=system, lora=None, log=log)
    peft_config = lora_config(lora, task_type="SEQ_CLS")
    train_records, held = split_heldout(records, heldout, seed)
    args = make_config(RewardConfig, hparams, {"output_dir": str(work_dir), "seed": seed, "data_seed": seed,
                                               "save_strategy": "no"}, what)
    prepare_work_dir(args, Path(work_dir))
    datasets = {name: Dataset.from_list(rows(part, chat=chat, system=system))
                for name, part in (("train", train_records), ("eval", held)) if part}
    with options_checked_by_trl(what):
        trainer = RewardTrainer(model=str(model_path), args=args, train_dataset=datasets["train"],
                                eval_dataset=datasets.get("eval"), processing_class=tokenizer, peft_config=peft_config)
    if log:
        log(f"{what}: {len(train_records)} pairs to train on, {len(held)} held out")
    return set_logging(trainer, log, "reward")


def heldout_stats(trainer) -> dict:
    """TRL's pairwise accuracy (reward of chosen above rejected) and mean margin on the held-out pairs."""
    if trainer.eval_dataset is None:
        return {"heldout_pairs": 0, "heldout_accuracy": None, "heldout_margin": None}
    metrics = trainer.evaluate()
    return {"heldout_pairs": len(trainer.eval_dataset), "heldout_accuracy": metrics.get("eval_accuracy"),
            "heldout_margin": metrics.get("eval_margin")}


def train(model_path, records: Sequence[dict], out_dir, *, chat: bool, system: str | None = None,
          lora: dict | None = None, hparams: dict | None = None, heldout: float = Settings.heldout, seed: int = 0,
          save_steps: int | None = None, storage: str = "merged", log: Callable[[str], None] | None = print) -> dict:
    """A reward model on preference pairs ({"id", "prompt", "chosen", "rejected"}) from ``model_path``;
    ``hparams`` are ``trl.RewardConfig`` fields. Output as for ``rait.training.sft.train``, the model a
    one-label sequence classifier, the statistics with the held-out accuracy."""
    extra = {"method": "reward", "chat": chat, "seed": seed, "heldout": heldout}
    return train_stage(build_trainer, model_path, records, out_dir, lora=lora, log=log, chat=chat, system=system,
                       save_steps=save_steps, storage=storage,
                       hparams=hparams, heldout=heldout, seed=seed, extra=extra, model_class=MODEL_CLASS,
                       after_train=heldout_stats)
