"""On-policy RL with rewards from rait's grader, with TRL's ``GRPOTrainer``: abstain_rl, calibrated_rl, conqord.

Per prompt ``num_generations`` answers are sampled; each answer's advantage is its reward against the mean of its
group (GRPO). The rewards (``rait.rewards``) grade the answers against the question's gold answers, which every
training row carries in its ``grading`` column (the question record, the grading profile, the refusal
sentences), so the reward needs no other file. The stage's ``reward`` (``rait.methods.Stage.reward``) names the
rule; its weights are config (``training.grpo.<reward>``).

CONQORD trains with PPO against a reward model (DeepSpeed-Chat); rait runs its reward, order term included,
under GRPO, the trainer TRL 1.x has (there is no PPO in it), the same substitution as Idk-PPO (``rait.training.rloo``).
Each method's settings (KL, learning rate, schedule, reward scaling, answers per prompt) are its original's, as
its defaults (``methods.<name>.training.grpo``; config/README.md, "RL settings").
Stated confidences that do not parse are counted (``statements`` in ``training_stats.json``; per step in the
log as ``confidence/missing``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence

from rait.errors import RaitError
from rait.rewards import DEFAULT_MARKER, REWARDS, StatementCounts
from rait.training import settings
from rait.training.settings import setting
from rait.training.common import (chat_prompt, make_config, options_checked_by_trl, prepare, prepare_work_dir,
                                  set_logging, train_stage)

FIELDS = ("prompt",)
CONFIG_CLASS = "trl.GRPOConfig"  # what its hparams are fields of
# the stage names its reward (rait.methods.Stage.reward); each reward's settings are training.grpo.<reward>, their
# defaults the reward's (rait.rewards.REWARDS)
REWARDED = True


@dataclass(frozen=True)
class Settings:
    """training.grpo: the generic GRPO settings; each RL method's own, as its original ran them, are its
    defaults over these (methods.<name>.training.grpo)"""
    hparams: dict = setting({"learning_rate": 1.0e-6, "num_train_epochs": 1, "per_device_train_batch_size": 8,
                             "num_generations": 8, "max_completion_length": 64, "temperature": 0.7},
                            help="trl.GRPOConfig fields (over TRL's defaults); reward_weights come from the reward")
    reward: str | None = setting(help="the stage's reward (rait.methods.Stage.reward)", given_by_plan=True)
    reward_settings: dict | None = setting(help="training.grpo.<reward>", given_by_plan=True)
    confidence_marker: str = setting(DEFAULT_MARKER, help="training.confidence_marker", given_by_plan=True)
    confidence_position: str = setting("after", help="training.confidence_position", given_by_plan=True)
    reward_model: str | None = setting(help="the checkpoint of the stage's scorer (conqord_rm)", given_by_plan=True)
    lora: dict | None = setting(help="LoRA for this trainer's stages instead of training.lora (null: full fine-tuning)")


SETTINGS = settings.keys(Settings)


def rows(records: Sequence[dict], *, chat: bool, system: str | None = None) -> list[dict]:
    """Prompts as TRL rows, each with its ``grading`` as JSON text (records of different question kinds have
    different fields; Arrow wants one type per column)."""
    out = []
    for record in records:
        if not isinstance(record.get("grading"), dict) or "question" not in record["grading"]:
            raise RaitError(f"train_grpo: record {record.get('id')!r} has no grading (question record, profile, "
                            "refusals): build it with the graded_prompts builder")
        out.append({"prompt": chat_prompt(record["prompt"], system) if chat else record["prompt"],
                    "grading": json.dumps(record["grading"])})
    return out


def reward_functions(reward: str | None, settings: dict | None, *, marker: str, counts: StatementCounts,
                     position: str = "after", reward_model: str | None = None, chat: bool = False,
                     system: str | None = None):
    if reward not in REWARDS:
        raise RaitError(f"train_grpo: unknown reward {reward!r} (rait.methods.Stage.reward); known: "
                        f"{', '.join(REWARDS)}")
    if reward_model and reward != "conqord":
        raise RaitError(f"train_grpo: reward {reward!r} grades answers; only conqord scores them with a reward model")
    return REWARDS[reward].functions(settings or {}, marker=marker, position=position, counts=counts, reward_model=reward_model,
                           chat=chat, system=system)


def build_trainer(model_path, records, work_dir, *, chat: bool, system: str | None = None,
                  lora: dict | None = None, hparams: dict | None = None, reward: str | None = None,
                  reward_settings: dict | None = None, confidence_marker: str = Settings.confidence_marker,
                  confidence_position: str = Settings.confidence_position, reward_model: str | None = None,
                  counts: StatementCounts | None = None, seed: int = 0, log: Callable[[str], None] | None = print):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    what = "train_grpo"
    functions, weights = reward_functions(reward, reward_settings, marker=confidence_marker,
                                          position=confidence_position, counts=counts or StatementCounts(),
                                          reward_model=reward_model, chat=chat, system=system)
    if "reward_weights" in (hparams or {}):
        raise RaitError(f"{what}: hparams key 'reward_weights' cannot be set (training.grpo.{reward} weighs the rewards)")
    peft_config, tokenizer = prepare(model_path, records, FIELDS, what, chat=chat, system=system, lora=lora, log=log)
    args = make_config(GRPOConfig, hparams, {"output_dir": str(work_dir), "seed": seed, "data_seed": seed,
                                             "save_strategy": "no", "reward_weights": weights}, what)
    prepare_work_dir(args, Path(work_dir))
    with options_checked_by_trl(what):
        trainer = GRPOTrainer(model=str(model_path), reward_funcs=functions, args=args,
                              train_dataset=Dataset.from_list(rows(records, chat=chat, system=system)),
                              processing_class=tokenizer, peft_config=peft_config)
    return set_logging(trainer, log, "grpo")


def train(model_path, records: Sequence[dict], out_dir, *, chat: bool, system: str | None = None,
          lora: dict | None = None, hparams: dict | None = None, reward: str | None = None,
          reward_settings: dict | None = None, confidence_marker: str = Settings.confidence_marker,
          confidence_position: str = Settings.confidence_position, reward_model: str | None = None, seed: int = 0,
          save_steps: int | None = None, storage: str = "merged", log: Callable[[str], None] | None = print) -> dict:
    """GRPO from ``model_path`` on the prompts of ``records`` ({"id", "prompt", "grading"}), rewarded by
    ``rait.rewards.REWARDS[reward]``; ``hparams`` are ``trl.GRPOConfig`` fields (num_generations, beta,
    max_completion_length, temperature, ...). Output as for ``rait.training.sft.train``."""
    counts = StatementCounts()
    extra = {"method": "grpo", "reward": reward, "reward_settings": reward_settings or {}, "chat": chat, "seed": seed,
             "reward_model": str(reward_model) if reward_model else None}

    def statistics(trainer) -> dict:
        rewards = [entry["reward"] for entry in trainer.state.log_history if "reward" in entry]
        return {"statements": dict(counts.counts), "first_logged_reward": rewards[0] if rewards else None,
                "last_logged_reward": rewards[-1] if rewards else None}

    return train_stage(build_trainer, model_path, records, out_dir, lora=lora, log=log, chat=chat, system=system,
                       save_steps=save_steps, storage=storage,
                       hparams=hparams, reward=reward, reward_settings=reward_settings,
                       confidence_marker=confidence_marker, confidence_position=confidence_position,
                       reward_model=reward_model, counts=counts, seed=seed,
                       extra=extra,
                       after_train=statistics)
