"""R-Tuning's confidence: the answer is generated, then the model is asked whether it is sure.

Follows R-Tuning's ``evaluation/pararel/evaluate.py`` (github.com/shizhediao/R-Tuning): ``inference`` decodes
the answer greedily and keeps the geometric mean of its tokens' probabilities (``predict_conf``); ``checksure``
appends ". Are you sure you accurately answered the question based on your internal knowledge? I am" and
reads P(sure) / (P(sure) + P(unsure)) from the next token. Their average precision
(``evaluation/MMLU/results/calculate_ap.py``) ranks answers by 0.5 * predict_conf + 0.5 * sure: that mix is the
prediction's ``confidence`` here (``answer_weight``, 0.5), and both parts are kept (``answer_prob``, ``sure``).

Departures: the probability of each word is that of all its tokens (their code takes the first token of "sure"
and "unsure", the same for Llama's tokenizer where each is one token), computed by teacher forcing (for a
greedy answer the same numbers as the generation scores). The trained model writes the follow-up itself after
its answer (it was trained on it); the answer is the text before it (their decoding stops at the first ".").
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from rait.construct.confidence import followup_context
from rait.progress import progress
from rait.prompts import chat_prompt, plain_completion


def answer_before_followup(text: str, wording: dict) -> str:
    """The generated answer without the follow-up the model goes on to write (its first two words start it)."""
    cut = len(text)
    head = " ".join(wording["followup"].split()[:2])
    for needle in (wording["followup"], head):
        match = re.search(re.escape(needle), text, re.IGNORECASE) if needle else None
        if match:
            cut = min(cut, match.start())
    return text[:cut].strip().rstrip(".").strip()


def sure_share(logp_sure: float, logp_unsure: float) -> float:
    """P(sure) / (P(sure) + P(unsure)) from log-probabilities: the sigmoid of their difference."""
    from rait.reward_model import sigmoid

    return sigmoid(logp_sure - logp_unsure)


def mixed_confidence(answer_prob: float, sure: float, answer_weight: float) -> float:
    return answer_weight * answer_prob + (1 - answer_weight) * sure


class FollowUp:
    """A causal LM that scores continuations of a question's prompt (transformers, on the GPU when there is one)."""

    def __init__(self, path: str, *, chat: bool, system: str | None = None, batch_size: int = 16, loaded=None):
        """``loaded``: (model, tokenizer, device) already serving ``path`` (the answering engine's, issue 26: no
        second load of the checkpoint); else ``path`` is loaded."""
        import copy

        import torch
        from transformers import AutoTokenizer

        from rait.checkpoints import load_causal_lm

        if loaded is not None:
            self.model, tokenizer, self.device = loaded
            self.tokenizer = copy.deepcopy(tokenizer)  # the pad token set below stays ours
        else:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            self.device = "cuda" if torch.cuda.is_available() else "cpu"
            dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
            self.model = load_causal_lm(path, dtype=dtype).to(self.device).eval()
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.chat, self.system, self.batch_size = chat, system, batch_size

    def prompt_text(self, prompt: str) -> str:
        """The question as the model is asked it, up to where its answer starts."""
        if self.chat:
            return self.tokenizer.apply_chat_template(chat_prompt(prompt, self.system), tokenize=False,
                                                      add_generation_prompt=True)
        return prompt

    def answer_text(self, prompt: str, answer: str) -> str:
        """The answer as it follows the prompt (a plain-text answer after one space, as in training)."""
        return answer if self.chat else plain_completion(prompt, answer)

    def logprobs(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[float, int]]:
        """(sum of log-probabilities, token count) of each continuation after its context."""
        import torch

        special = not self.chat  # a chat template already holds its special tokens
        out: list[tuple[float, int]] = []
        starts = range(0, len(pairs), self.batch_size)
        for start in progress(starts, desc=f"scoring {len(pairs)} continuations", unit="batch", logger=__name__):
            batch = pairs[start:start + self.batch_size]
            contexts = [len(self.tokenizer(c, add_special_tokens=special)["input_ids"]) for c, _ in batch]
            encoded = self.tokenizer([c + x for c, x in batch], add_special_tokens=special, padding=True,
                                     padding_side="right", return_tensors="pt").to(self.device)
            with torch.no_grad():
                logits = self.model(**encoded).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, encoded["input_ids"][:, 1:, None])[..., 0]
            for row, n_context in enumerate(contexts):
                end = int(encoded["attention_mask"][row].sum())
                tokens = logp[row, n_context - 1:end - 1]
                out.append((float(tokens.sum()), int(tokens.numel())))
        return out

    def confidences(self, prompts: Sequence[str], answers: Sequence[str], wording: dict,
                    answer_weight: float) -> list[dict]:
        """Per answer: ``answer_prob`` (geometric mean of its token probabilities), ``sure`` and ``confidence``."""
        asked = [self.prompt_text(prompt) for prompt in prompts]
        answered = self.logprobs([(question, self.answer_text(prompt, answer))
                                  for prompt, question, answer in zip(prompts, asked, answers)])
        contexts = [question + self.answer_text(prompt, followup_context(answer, wording))
                    for prompt, question, answer in zip(prompts, asked, answers)]
        sure = self.logprobs([(c, " " + wording["sure"]) for c in contexts])
        unsure = self.logprobs([(c, " " + wording["unsure"]) for c in contexts])
        out = []
        for (answer_logp, n), (logp_sure, _), (logp_unsure, _) in zip(answered, sure, unsure):
            answer_prob = math.exp(answer_logp / n) if n else 0.0
            share = sure_share(logp_sure, logp_unsure)
            out.append({"answer_prob": round(answer_prob, 6), "sure": round(share, 6),
                        "confidence": round(mixed_confidence(answer_prob, share, answer_weight), 6)})
        return out
