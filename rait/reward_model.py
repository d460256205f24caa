"""Scoring answers with a reward model (``rait.training.reward``'s checkpoints), and best-of-N.

A (prompt, answer) pair is written as the reward model saw it in training (TRL's ``RewardTrainer``): the chat
template over the user prompt and the assistant's answer when ``chat``, else the prompt, the answer after one
space and the eos token. Its score is the one-label head's output at the last token.

Best-of-N (Say-I-Dont-Know's ``src/Inference/infer_reward_model.py`` with ``reject_sampling``): the candidates
are de-duplicated (``list(set(...))`` there; here in first-seen order, so that the result does not depend on
hashing), scored, and the highest kept; a tie goes to the candidate seen first (``torch.argmax`` takes the first
maximum as well).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rait.errors import RaitError
from rait.progress import progress
from rait.prompts import assistant, chat_prompt, plain_completion


def pair_text(tokenizer, prompt: str, answer: str, *, chat: bool, system: str | None = None) -> str:
    if chat:
        return tokenizer.apply_chat_template(chat_prompt(prompt, system) + assistant(answer), tokenize=False)
    return prompt + plain_completion(prompt, answer) + tokenizer.eos_token


class RewardModel:
    def __init__(self, path: str, *, chat: bool, system: str | None = None, batch_size: int = 16):
        import torch
        from transformers import AutoTokenizer

        from rait.checkpoints import load_model

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "right"
        device = "cuda" if torch.cuda.is_available() else "cpu"
        # a checkpoint, or an adapter (and its score head) over the base: rait.checkpoints
        self.model = load_model(path, "AutoModelForSequenceClassification").to(device).eval()
        if self.model.config.num_labels != 1:
            raise RaitError(f"{path}: a reward model has one label, this one {self.model.config.num_labels}")
        self.model.config.pad_token_id = self.tokenizer.pad_token_id
        self.chat, self.system, self.batch_size, self.device = chat, system, batch_size, device

    def scores(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """The reward of each (prompt, answer)."""
        import torch

        texts = [pair_text(self.tokenizer, prompt, answer, chat=self.chat, system=self.system) for prompt, answer in pairs]
        special = not self.chat  # a chat template already holds its special tokens
        out: list[float] = []
        with torch.no_grad():
            starts = range(0, len(texts), self.batch_size)
            for start in progress(starts, desc=f"reward model scoring {len(texts)} answers", unit="batch",
                                  logger=__name__):
                batch = self.tokenizer(texts[start:start + self.batch_size], return_tensors="pt", padding=True,
                                       add_special_tokens=special).to(self.device)
                out += self.model(**batch).logits.squeeze(-1).float().tolist()
        bad = [i for i, value in enumerate(out) if not math.isfinite(value)]
        if bad:
            raise RaitError(f"the reward model gave a non-finite score to {len(bad)} answer(s), e.g. {pairs[bad[0]][1]!r}")
        return out


def distinct(candidates: Sequence[str]) -> list[str]:
    """The non-empty candidates, each once, in the order first seen."""
    return list(dict.fromkeys(text for text in candidates if text.strip()))


def best_of(candidates: Sequence[str], scores: Sequence[float]) -> tuple[str, float]:
    """The highest-scored candidate and its score; the first of equals wins."""
    if not candidates or len(candidates) != len(scores):
        raise RaitError(f"best-of-N needs one score per candidate, got {len(candidates)} candidates and {len(scores)} scores")
    index = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    return candidates[index], scores[index]


def sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value)) if value >= 0 else math.exp(value) / (1 + math.exp(value))
