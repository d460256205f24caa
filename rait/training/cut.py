"""CUT, contrastive unlikelihood training from judgments (Xu et al., "Reasons to Reject? Aligning Language Models
with Judgments", github.com/wwxu21/CUT), as a small ``transformers.Trainer`` subclass: no library has the loss.

A training record is ``{"prompt", "target"}`` and, for a response that was judged wrong, ``"judgment"``. Follows
``finetune_unlikelihood.py`` and ``modeling_llama_unlikelihood.py`` (``LlamaForCausalLM.forward`` and
``unlikelihood``):

* a judged record is encoded twice with the same response tokens: once with the judgment in the prompt (their
  ``prompt_no_input_judge``; here ``judgment_prompt``) and once without (``prompt_no_input``); a record without
  a judgment once;
* the likelihood loss (mean NLL of the response tokens) on the first copy of every record: the judged responses
  *given their judgment*, the others as in SFT;
* for the judged records, each response token whose probability with the judgment is more than ``threshold``
  times its probability without it (the judgment "explains" the token: it is what was wrong) gets the
  unlikelihood loss ``-weight * log(1 - p)``, the others the likelihood loss ``-log p``, both under the prompt
  without the judgment; the mean over these tokens is the unlikelihood term;
* the loss is the mean of the two terms when the batch holds a judged record, the likelihood term alone otherwise.

The judgment's place: theirs is the Alpaca layout of ``templates/alpaca.json`` (wwxu21/CUT@bb1d5de), the judged
copy being "Below is an instruction that describes a task. Write a response to the instruction and the response
should match the corresponding judgment.\n\n### Instruction:\n{instruction}\n\n### Judgment:\n{judgment}\n\n###
Response:\n" and the other its ``prompt_no_input``. rait's prompts are the model's own (a chat template, or the
entry's plain prompt), so the judgment goes into the user's turn instead, after the question
(``DEFAULT_JUDGMENT_PROMPT``); a plain model can be given their layout through ``training.cut.judgment_prompt``.

Their run (``fine-tuning-unlike.sh``): threshold 1.1 (the paper's online setting; 1.2 offline), weight 1, lr 4e-4,
one epoch, batches of 8, LoRA r 16, alpha 16 on the MLP projections (gate, up, down). Two departures: a probability
of exactly 0 is raised to 1e-5 before the log as theirs does, but ``1 - p`` of a token with p = 1 likewise (theirs
adds 1e-5 only to zeros after ``1 - p``, the same case); and a non-finite loss stops training with an error naming
the step, where theirs would go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence

from rait.errors import RaitError
from rait.prompts import check_fields
from rait.training import settings
from rait.training.settings import setting
from rait.training.common import (chat_prompt, check_records, load_tokenizer, lora_config, make_config,
                                  plain_completion, prepare_work_dir, set_logging, train_stage)

FIELDS = ("prompt", "target")
CONFIG_CLASS = "transformers.TrainingArguments"  # what its hparams are fields of
JUDGMENT_PROMPT_FIELDS = ("prompt", "judgment")
DEFAULT_JUDGMENT_PROMPT = "{prompt}\n\nA judgment of the response: {judgment}\nWrite a response that matches the judgment."
EPS = 1e-5


@dataclass(frozen=True)
class Settings:
    """training.cut: CUT's trainer as its fine-tuning-unlike.sh runs it"""
    hparams: dict = setting({"learning_rate": 4.0e-4, "num_train_epochs": 1, "per_device_train_batch_size": 8,
                             "lr_scheduler_type": "cosine", "warmup_steps": 100},
                            help="transformers.TrainingArguments fields (over their defaults)")
    threshold: float = setting(1.1, help="a response token gets the unlikelihood loss when its probability with the "
                                         "judgment is more than this times without (the paper's online value; "
                                         "1.2 offline)")
    weight: float = setting(1.0, help="the unlikelihood loss's weight (CUT's --weight_unlike)")
    judgment_prompt: str = setting(DEFAULT_JUDGMENT_PROMPT, help="how the judgment is added to the prompt; fields "
                                                                 "{prompt} and {judgment}, both required")
    lora: dict | None = setting({"r": 16, "alpha": 16, "dropout": 0.05,
                                 "target_modules": ["gate_proj", "up_proj", "down_proj"]},
                                help="CUT's LoRA: r 16, alpha 16 on the MLP projections")


SETTINGS = settings.keys(Settings)


def unlikelihood_term(p_with, p_without, threshold: float, weight: float):
    """CUT's unlikelihood term over the response tokens of judged records (1-D tensors of the target token's
    probability with and without the judgment in the prompt): the mean of ``-weight * log(1 - p_without)`` over
    tokens with ``p_with / p_without > threshold`` and ``-log(p_without)`` over the others."""
    import torch

    ratio = (p_with / p_without).detach()
    unlike = ratio > threshold
    q = torch.where(unlike, 1 - p_without, p_without)
    q = torch.where(q == 0, torch.full_like(q, EPS), q)
    log_q = torch.log(q)
    log_q = torch.where(unlike, weight * log_q, log_q)
    return -log_q.sum() / log_q.numel()


def cut_loss(nll, unlike):
    """The batch loss: the mean of the likelihood and unlikelihood terms, or the likelihood term alone when the
    batch holds no judged record (``unlike`` None)."""
    return nll if unlike is None else (nll + unlike) / 2


def _encode(tokenizer, prompt: str, target: str, chat: bool, system: str | None) -> tuple[list[int], int]:
    """Token ids of prompt + response (+ eos), and where the response starts. The response is tokenized on its
    own, so both copies of a judged record share its tokens exactly (the original asserts the same)."""
    if chat:
        text = tokenizer.apply_chat_template(chat_prompt(prompt, system), add_generation_prompt=True, tokenize=False)
        prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        response = target
    else:
        prompt_ids = tokenizer(prompt)["input_ids"]
        response = plain_completion(prompt, target)
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return prompt_ids + response_ids, len(prompt_ids)


def features(records: Sequence[dict], tokenizer, *, chat: bool, system: str | None, judgment_prompt: str) -> list[dict]:
    """Per record: the first copy (with the judgment, if any) and, for a judged record, the second (without)."""
    rows = []
    for record in records:
        judged = bool(record.get("judgment"))
        first = judgment_prompt.format(prompt=record["prompt"], judgment=record["judgment"]) if judged else record["prompt"]
        ids, start = _encode(tokenizer, first, record["target"], chat, system)
        row = {"input_ids": ids, "labels": [-100] * start + ids[start:], "judged": judged}
        if judged:
            ids_neg, start_neg = _encode(tokenizer, record["prompt"], record["target"], chat, system)
            row.update(input_ids_neg=ids_neg, labels_neg=[-100] * start_neg + ids_neg[start_neg:])
        else:
            row.update(input_ids_neg=[], labels_neg=[])
        rows.append(row)
    return rows


def collate(pad_id: int):
    """Right-pads both copies of a batch to one length (the no-judgment copies of unjudged records are all pad)."""
    import torch

    def pad(rows: list[list[int]], value: int, length: int):
        return torch.tensor([row + [value] * (length - len(row)) for row in rows])

    def collate_batch(batch: list[dict]) -> dict:
        length = max(max(len(r["input_ids"]), len(r["input_ids_neg"])) for r in batch)
        return {
            "input_ids": pad([r["input_ids"] for r in batch], pad_id, length),
            "attention_mask": pad([[1] * len(r["input_ids"]) for r in batch], 0, length),
            "labels": pad([r["labels"] for r in batch], -100, length),
            "input_ids_neg": pad([r["input_ids_neg"] for r in batch], pad_id, length),
            "attention_mask_neg": pad([[1] * len(r["input_ids_neg"]) for r in batch], 0, length),
            "labels_neg": pad([r["labels_neg"] for r in batch], -100, length),
            "judged": torch.tensor([r["judged"] for r in batch]),
        }

    return collate_batch


def _token_probs(logits, labels):
    """Log-probabilities of each next label token (positions with label -100 dropped), per row."""
    import torch

    log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    targets = labels[:, 1:]
    valid = targets != -100
    picked = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return picked, valid


def trainer_class():
    from transformers import Trainer

    class CutTrainer(Trainer):
        """``transformers.Trainer`` with CUT's loss (``unlikelihood_term``, ``cut_loss``)."""

        def __init__(self, *args, threshold: float, weight: float, **kwargs):
            super().__init__(*args, **kwargs)
            self.threshold, self.weight = threshold, weight

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            import torch

            batch = inputs["input_ids"].shape[0]
            judged = inputs["judged"]
            ids = torch.cat([inputs["input_ids"], inputs["input_ids_neg"][judged]])
            mask = torch.cat([inputs["attention_mask"], inputs["attention_mask_neg"][judged]])
            outputs = model(input_ids=ids, attention_mask=mask)
            logits = outputs.logits
            log_p, valid = _token_probs(logits[:batch], inputs["labels"])
            nll = -log_p[valid].mean()
            unlike = None
            if judged.any():
                log_p_without, valid_without = _token_probs(logits[batch:], inputs["labels_neg"][judged])
                p_with = log_p[judged][valid[judged]].exp()
                p_without = log_p_without[valid_without].exp()
                if p_with.shape != p_without.shape:
                    raise RaitError("train_cut: a judged response has different tokens with and without its judgment")
                unlike = unlikelihood_term(p_with, p_without, self.threshold, self.weight)
            loss = cut_loss(nll, unlike)
            if not torch.isfinite(loss):
                raise RaitError(f"train_cut: the loss is {loss.item()} at step {self.state.global_step}; stopping "
                                "(lower the learning rate or check the data)")
            return (loss, outputs) if return_outputs else loss

    return CutTrainer


def _settings(threshold, weight, judgment_prompt) -> tuple[float, float, str]:
    try:
        threshold, weight = float(threshold), float(weight)
    except (TypeError, ValueError):
        raise RaitError(f"train_cut: threshold and weight must be numbers, got {threshold!r} and {weight!r}") from None
    if threshold < 1 or weight < 0:
        raise RaitError(f"train_cut: need threshold >= 1 and weight >= 0, got {threshold} and {weight}")
    return threshold, weight, check_judgment_prompt(judgment_prompt)


def check_judgment_prompt(template: str, key: str = "training.cut.judgment_prompt") -> str:
    """The judged copy's prompt: exactly the fields {prompt} and {judgment}, both used."""
    return check_fields(template, JUDGMENT_PROMPT_FIELDS, JUDGMENT_PROMPT_FIELDS, key)


def build_trainer(model_path, records, work_dir, *, chat: bool, system: str | None = None,
                  lora: dict | None = None, hparams: dict | None = None, threshold: float = Settings.threshold,
                  weight: float = Settings.weight, judgment_prompt: str = Settings.judgment_prompt, seed: int = 0,
                  log: Callable[[str], None] | None = print):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, TrainingArguments, set_seed

    what = "train_cut"
    check_records(records, FIELDS, what)
    threshold, weight, judgment_prompt = _settings(threshold, weight, judgment_prompt)
    tokenizer = load_tokenizer(str(model_path), chat, what)
    hparams = dict(hparams or {})
    if not {"gradient_checkpointing", "activation_checkpointing"} & set(hparams):
        hparams["activation_checkpointing"] = False  # short QA responses: memory is not the limit
    args = make_config(TrainingArguments, hparams, {"output_dir": str(work_dir), "seed": seed, "data_seed": seed,
                                                    "save_strategy": "no", "remove_unused_columns": False}, what)
    prepare_work_dir(args, Path(work_dir))
    # seeded before the LoRA factors are drawn: TRL's trainers seed before they wrap the model, transformers'
    # Trainer only when it is built, after; unseeded, two runs of one job trained different adapters
    set_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(str(model_path))
    peft_config = lora_config(lora)
    if peft_config is not None:
        from peft import get_peft_model

        model = get_peft_model(model, peft_config)
    rows = features(records, tokenizer, chat=chat, system=system, judgment_prompt=judgment_prompt)
    if log:
        log(f"{what}: {sum(r['judged'] for r in rows)} judged responses, {sum(not r['judged'] for r in rows)} others; "
            f"threshold {threshold}, weight {weight}")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    trainer = trainer_class()(model=model, args=args, train_dataset=Dataset.from_list(rows),
                              data_collator=collate(pad_id), processing_class=tokenizer,
                              threshold=threshold, weight=weight)
    return set_logging(trainer, log, "cut")


def train(model_path, records: Sequence[dict], out_dir, *, chat: bool, system: str | None = None,
          lora: dict | None = None, hparams: dict | None = None, threshold: float = Settings.threshold,
          weight: float = Settings.weight, judgment_prompt: str = Settings.judgment_prompt, seed: int = 0,
          save_steps: int | None = None, storage: str = "merged", log: Callable[[str], None] | None = print) -> dict:
    """CUT on ``records`` ({"id", "prompt", "target", "judgment"?}) from ``model_path``; ``hparams`` are
    ``transformers.TrainingArguments`` fields. Output as for ``rait.training.sft.train``."""
    threshold, weight, judgment_prompt = _settings(threshold, weight, judgment_prompt)
    extra = {"method": "cut", "chat": chat, "seed": seed, "threshold": threshold, "weight": weight,
             "judged": sum(bool(r.get("judgment")) for r in records)}
    return train_stage(build_trainer, model_path, records, out_dir, lora=lora, log=log, chat=chat, system=system,
                       save_steps=save_steps, storage=storage,
                       hparams=hparams, threshold=threshold, weight=weight, judgment_prompt=judgment_prompt,
                       seed=seed, extra=extra)
