"""On-policy RL against a reward model with TRL's ``RLOOTrainer``: rait's Idk-PPO.

Say-I-Dont-Know's Idk-PPO (``src/deepspeed-chat-ppo/``: DeepSpeed-Chat's PPO) trains the Idk-SFT model against
the reward model trained on the Idk preference pairs, KL-regularised to the Idk-SFT model. The TRL installed here
(1.x) has no PPO trainer any more (``PPOTrainer`` left the library and ``trl.experimental`` has none), so rait
runs its closest on-policy relative, REINFORCE Leave-One-Out (``RLOOTrainer``): per prompt ``num_generations``
answers are sampled, each answer's advantage is its reward minus the mean reward of the others, and a KL penalty
``beta`` keeps the policy near the starting model (with LoRA the reference is the start with the adapters off).
No value model is trained: that is the difference from PPO, and why RLOO needs one model fewer in memory.
Their PPO generates one greedy answer per prompt (``ppo_trainer.py``: ``do_sample=True, top_k=1``); RLOO compares
several sampled ones. The rest of their settings are method ``ppo``'s defaults (config/README.md, "RL settings"):
KL 0.1 (``kl_ctl``; TRL subtracts it from the reward as a sequence-level KL, theirs per token), the reward model's
score clipped to [-5, 5] (``clip_reward_value``; TRL's ``reward_clip_range``), lr 1e-6 with a cosine schedule and
100 warm-up steps, weight decay 0.1 (``train.sh``).

The reward is the reward model's score of (prompt, answer), written as in its training (``rait.reward_model``); a
non-finite score stops training with an error instead of turning the loss into NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence

from rait.errors import RaitError
from rait.training import settings
from rait.training.settings import setting
from rait.training.common import (chat_prompt, make_config, options_checked_by_trl, prepare, prepare_work_dir,
                                  set_logging, train_stage)

FIELDS = ("prompt",)
CONFIG_CLASS = "trl.RLOOConfig"  # what its hparams are fields of


@dataclass(frozen=True)
class Settings:
    """training.rloo: the generic RLOO settings; Idk-PPO's own (method ppo) are its defaults over these"""
    hparams: dict = setting({"learning_rate": 1.0e-5, "num_train_epochs": 1, "per_device_train_batch_size": 8,
                             "num_generations": 4, "beta": 0.05, "max_completion_length": 64},
                            help="trl.RLOOConfig fields (over TRL's defaults)")
    reward_model: str | None = setting(help="the checkpoint of the stage's scorer (rait.methods)", given_by_plan=True)
    lora: dict | None = setting(help="LoRA for this trainer's stages instead of training.lora (null: full fine-tuning)")


SETTINGS = settings.keys(Settings)


def rows(records: Sequence[dict], *, chat: bool, system: str | None = None) -> list[dict]:
    """Prompts as TRL rows (conversational when ``chat``)."""
    return [{"prompt": chat_prompt(r["prompt"], system) if chat else r["prompt"]} for r in records]


def reward_function(reward_model_path: str, *, chat: bool, system: str | None = None):
    """A TRL reward function scoring (prompt, completion) with the reward model, as ``rait.reward_model`` does."""
    from rait.rewards import message_text
    from rait.reward_model import RewardModel

    scorer = RewardModel(str(reward_model_path), chat=chat, system=system)

    def reward_model_score(prompts, completions, **_) -> list[float]:
        # RewardModel.scores raises on a non-finite score: RL never goes on with a NaN reward
        return scorer.scores([(message_text(p), message_text(c)) for p, c in zip(prompts, completions, strict=True)])

    return reward_model_score


def build_trainer(model_path, records, work_dir, *, chat: bool, system: str | None = None,
                  lora: dict | None = None, hparams: dict | None = None, reward_model: str | None = None,
                  seed: int = 0, log: Callable[[str], None] | None = print):
    from datasets import Dataset
    from trl import RLOOConfig, RLOOTrainer

    what = "train_rloo"
    if not reward_model:
        raise RaitError(f"{what}: no reward model (the stage's scorer in rait.methods)")
    peft_config, tokenizer = prepare(model_path, records, FIELDS, what, chat=chat, system=system, lora=lora, log=log)
    args = make_config(RLOOConfig, hparams, {"output_dir": str(work_dir), "seed": seed, "data_seed": seed,
                                             "save_strategy": "no"}, what)
    prepare_work_dir(args, Path(work_dir))
    with options_checked_by_trl(what):
        trainer = RLOOTrainer(model=str(model_path), reward_funcs=reward_function(reward_model, chat=chat, system=system),
                              args=args, train_dataset=Dataset.from_list(rows(records, chat=chat, system=system)),
                              processing_class=tokenizer, peft_config=peft_config)
    return set_logging(trainer, log, "rloo")


def train(model_path, records: Sequence[dict], out_dir, *, chat: bool, system: str | None = None,
          lora: dict | None = None, hparams: dict | None = None, reward_model: str | None = None, seed: int = 0,
          save_steps: int | None = None, storage: str = "merged", log: Callable[[str], None] | None = print) -> dict:
    """RLOO from ``model_path`` on the prompts of ``records`` ({"id", "prompt"}), rewarded by ``reward_model``
    (a ``rait.training.reward`` checkpoint); ``hparams`` are ``trl.RLOOConfig`` fields (num_generations, beta,
    max_completion_length, temperature, ...). Output as for ``rait.training.sft.train``."""
    extra = {"method": "rloo", "chat": chat, "seed": seed, "reward_model": str(reward_model)}
    return train_stage(build_trainer, model_path, records, out_dir, lora=lora, log=log, chat=chat, system=system,
                       save_steps=save_steps, storage=storage,
                       hparams=hparams, reward_model=reward_model, seed=seed, extra=extra)
