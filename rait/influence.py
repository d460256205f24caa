"""LESS's gradient features (Xia et al., ICML 2024), the input of GRAIT's selection (rait.construct.grait).

Ported from github.com/princeton-nlp/LESS, ``less/data_selection/collect_grad_reps.py`` at 1e4afda, as GRAIT's README
runs it (``get_train_lora_grads.sh``, 8192 dimensions): for each example, the training loss of (prompt, target)
backpropagated into the LoRA parameters of the warm-up checkpoint, the flattened gradient projected by trak's
Rademacher projector (seed 0, blocks of 128: LESS's settings) and normalised to unit length (LESS's
``merge_and_normalize_info``, the ``all_orig.pt`` its matching reads). The loss is TRL's SFT loss, computed by an
``SFTTrainer`` over the same rows the SFT stage trains on (``rait.training.sft.rows``): the same tokens, the prompt
masked out.

What differs, and why:

* Both of LESS's gradient types run: ``adam`` (GRAIT's README: ``GRADIENT_TYPE="adam"``, the default here;
  ``obtain_gradients_with_adam``: one more Adam step's moments from the warm-up's, m' / sqrt(v' + eps), no bias
  correction, LESS's betas and eps) and ``sgd`` (``obtain_gradients``, the raw gradient). LESS reads the moments
  from the warm-up's optimizer file; rait's warm-up writes them beside its adapter (``adam_moments``,
  ``rait.training.common.adam_moments``), by parameter name as ``prepare_optimizer_state`` reads them. GRAIT's
  README takes the warm-up's checkpoint at step 12; this is its last.
* The projection is LESS's: fast_jl's ``CudaProjector`` on a GPU where it runs, else trak's ``BasicProjector`` (the two
  draw different matrices for one seed), in float32 (LESS: the model's dtype). ``BasicProjector`` draws its matrix
  again for each batch of gradients it projects, so on a CPU fewer, larger batches (``project_every``) are faster.
* Dropout is off (evaluation mode): LESS leaves the model as loaded, so its LoRA dropout draws at random; off, a rerun
  gives the same features.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from rait.errors import RaitError

log = logging.getLogger(__name__)

BLOCK_SIZE = 128  # LESS: block_size = 128
SEED = 0  # LESS: seed=0 for every projector
PROJECTOR_BATCH = 16  # LESS: projector_batch_size


def load_adapter_trainable(checkpoint):
    """The warm-up checkpoint's base with its LoRA adapter unmerged and trainable: the parameters LESS takes the
    gradient of."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from rait.checkpoints import adapter_base, check_adapter_files, is_adapter

    if not is_adapter(checkpoint):
        raise RaitError(f"{checkpoint}: not a LoRA adapter checkpoint; LESS's gradients are those of a LoRA warm-up "
                        "(set its lora and keep training.lora_storage: adapter)")
    check_adapter_files(checkpoint)
    base = AutoModelForCausalLM.from_pretrained(adapter_base(checkpoint), dtype="float32")
    return PeftModel.from_pretrained(base, str(checkpoint), is_trainable=True)


def projector_class(device):
    """LESS's ``get_trak_projector``: trak's ``CudaProjector`` on a GPU where fast_jl runs (it draws the random
    matrix on the fly; a 8B model's LoRA gradients are too large to project otherwise), else ``BasicProjector``."""
    from trak.projectors import BasicProjector, CudaProjector

    if device.type != "cuda":
        return BasicProjector
    try:
        import fast_jl
        import torch

        sms = torch.cuda.get_device_properties(device.index or 0).multi_processor_count
        fast_jl.project_rademacher_8(torch.zeros(8, 1_000, device=device), 512, 0, sms)  # LESS's test run
        return CudaProjector
    except Exception as err:  # LESS falls back on any failure of the CUDA kernels too
        log.warning("fast_jl unavailable on %s (%s): trak's BasicProjector, much slower on large models", device, err)
        return BasicProjector


def projector(grad_dim: int, dim: int, device):
    import torch
    from trak.projectors import ProjectionType

    device = torch.device(device)
    return projector_class(device)(grad_dim=grad_dim, proj_dim=dim, seed=SEED, proj_type=ProjectionType.rademacher,
                                   device=device, dtype=torch.float32, block_size=BLOCK_SIZE,
                                   max_batch_size=PROJECTOR_BATCH)


def loss_trainer(model, tokenizer, records: Sequence[dict], *, chat: bool, system: str | None, max_length: int,
                 work_dir):
    """An SFTTrainer that only tokenizes ``records`` and computes their loss, as the SFT stage would."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from rait.training.sft import rows

    # no activation checkpointing: one example at a time needs no memory saved, and with it TRL makes the embeddings'
    # output require a gradient, so the backward pass runs through every layer, not only down to the lowest LoRA one
    args = SFTConfig(output_dir=str(work_dir), completion_only_loss=True, max_length=max_length, report_to="none",
                     per_device_train_batch_size=1, save_strategy="no", use_cpu=not _cuda(),
                     gradient_checkpointing=False)
    return SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows(records, chat=chat, system=system)),
                      processing_class=tokenizer)


# LESS's obtain_gradients_with_adam: AdamW's defaults, which its warm-up trained with
BETA1, BETA2, EPS = 0.9, 0.999, 1e-08
GRADIENT_TYPES = ("adam", "sgd")


def adam_preconditioned(gradient, exp_avg, exp_avg_sq):
    """LESS's ``obtain_gradients_with_adam``: the moments after one more Adam step on ``gradient``, the first over
    the square root of the second (eps inside the root, no bias correction, as LESS writes it)."""
    avg = BETA1 * exp_avg + (1 - BETA1) * gradient
    avg_sq = BETA2 * exp_avg_sq + (1 - BETA2) * gradient ** 2
    return avg / (avg_sq + EPS).sqrt()


def read_moments(checkpoint, model, device):
    """The warm-up's Adam moments as two flat vectors in the order of the model's trainable parameters (LESS's
    ``prepare_optimizer_state``); moments missing or of other parameters are an error naming the checkpoint."""
    from pathlib import Path

    import torch
    from safetensors.torch import load_file

    from rait.checkpoints import MOMENTS_FILE

    path = Path(checkpoint) / MOMENTS_FILE
    if not path.is_file():
        raise RaitError(f"{checkpoint}: no {MOMENTS_FILE}: the warm-up kept no Adam moments, which "
                        "grait.gradients.type adam needs (a checkpoint of an older rait: retrain it, or take sgd)")
    stored = load_file(str(path))
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    wanted = {f"{name}.{moment}" for name, _ in named for moment in ("exp_avg", "exp_avg_sq")}
    if set(stored) != wanted or any(stored[f"{name}.exp_avg"].shape != p.shape for name, p in named):
        raise RaitError(f"{path}: its moments are not of {checkpoint}'s LoRA parameters ({len(stored)} tensors, "
                        f"{len(wanted)} wanted)")
    return tuple(torch.cat([stored[f"{name}.{moment}"].reshape(-1) for name, _ in named]).to(device)
                 for moment in ("exp_avg", "exp_avg_sq"))


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def gradient_features(checkpoint, records: Sequence[dict], *, chat: bool, system: str | None = None, dim: int = 8192,
                      max_length: int = 512, project_every: int = 16, gradient_type: str = "adam",
                      work_dir=None) -> np.ndarray:
    """One unit-length row of ``dim`` numbers per record ({"prompt", "target"}), in order; ``gradient_type`` one of
    ``GRADIENT_TYPES``."""
    import tempfile

    import torch

    from rait.training.common import load_tokenizer

    if not records:
        raise RaitError("gradient features: no examples")
    if gradient_type not in GRADIENT_TYPES:
        raise RaitError(f"gradient features: type {gradient_type!r}, not one of {', '.join(GRADIENT_TYPES)} "
                        "(config key grait.gradients.type)")
    model = load_adapter_trainable(checkpoint)
    tokenizer = load_tokenizer(str(checkpoint), chat, "gradient features")
    with tempfile.TemporaryDirectory(dir=work_dir) as scratch:
        trainer = loss_trainer(model, tokenizer, records, chat=chat, system=system, max_length=max_length,
                               work_dir=scratch)
    model = trainer.model
    model.eval()  # dropout off: the same features on every run
    params = [p for name, p in model.named_parameters() if p.requires_grad]
    if not params or any("lora_" not in name for name, p in model.named_parameters() if p.requires_grad):
        raise RaitError(f"{checkpoint}: gradient features need exactly the LoRA parameters trainable")
    grad_dim = sum(p.numel() for p in params)
    device = next(model.parameters()).device
    moments = read_moments(checkpoint, model, device) if gradient_type == "adam" else None
    project = projector(grad_dim, dim, device)
    log.info("gradient features: %d examples, %d LoRA parameters projected to %d on %s", len(records), grad_dim, dim,
             device)
    if len(trainer.train_dataset) != len(records):  # TRL drops examples whose completion is masked out entirely
        raise RaitError(f"gradient features: {len(records)} examples, {len(trainer.train_dataset)} tokenized")
    features, pending = [], []
    for index in range(len(trainer.train_dataset)):
        batch = trainer._prepare_inputs(trainer.data_collator([trainer.train_dataset[index]]))
        loss = trainer.compute_loss(model, batch)
        loss.backward()
        gradient = torch.cat([p.grad.reshape(-1) for p in params]).float()
        pending.append(gradient if moments is None else adam_preconditioned(gradient, *moments))
        model.zero_grad(set_to_none=True)
        if len(pending) == project_every or index == len(trainer.train_dataset) - 1:
            features.append(project.project(torch.stack(pending), model_id=0).cpu())
            pending = []
            log.info("gradient features: %d of %d", index + 1, len(records))
    return torch.nn.functional.normalize(torch.cat(features), dim=1).numpy()


# ---- GRAIT's gradient file: for each train question, its answer's and its refusal's features -----------------------

def question_examples(questions: Sequence[dict], templates: dict, refusal: str) -> tuple[list[dict], list[dict]]:
    """The examples whose gradients GRAIT compares: each question with its gold answer as target (GRAIT's VAN set) and
    with the refusal (its IDK set), rendered with the prompts its training set uses."""
    from rait.construct.idk import gold_answer
    from rait.prompts import render_question

    prompts = [render_question(question, templates) for question in questions]
    answers = [{"id": q["id"], "prompt": p, "target": gold_answer(q)} for q, p in zip(questions, prompts)]
    refusals = [{"id": q["id"], "prompt": p, "target": refusal} for q, p in zip(questions, prompts)]
    return answers, refusals


def write_features(path, ids: Sequence[str], answer: np.ndarray, refusal: np.ndarray) -> None:
    from rait.io import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, ids=np.asarray([str(i) for i in ids]), answer=answer.astype(np.float32),
                 refusal=refusal.astype(np.float32))


def read_features(path) -> list[dict]:
    """The gradient file as records: {"id", "answer", "refusal"} (numpy rows)."""
    try:
        with np.load(path) as data:
            ids, answer, refusal = data["ids"], data["answer"], data["refusal"]
    except (OSError, KeyError, ValueError) as err:
        raise RaitError(f"{path}: not a gradient file ({err})") from None
    if not len(ids) == len(answer) == len(refusal):
        raise RaitError(f"{path}: {len(ids)} ids, {len(answer)} answer rows, {len(refusal)} refusal rows")
    return [{"id": str(i), "answer": a, "refusal": r} for i, a, r in zip(ids, answer, refusal)]
