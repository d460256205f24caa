"""LESS's gradient features (rait.influence) on a tiny GPT-2 with a LoRA adapter, against a hand computation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")
pytest.importorskip("trak")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel  # noqa: E402

from rait import influence  # noqa: E402
from rait.errors import RaitError  # noqa: E402
from rait.synthetic import build_tokenizer  # noqa: E402
from rait.training import sft  # noqa: E402

RECORDS = [
    {"id": "q1", "prompt": "Q: What is the capital of Zorania?\nA:", "target": "Alpha."},
    {"id": "q2", "prompt": "Q: What is the capital of Quessik?\nA:", "target": "Beta."},
    {"id": "q3", "prompt": "Q: What is the capital of Zorania?\nA:", "target": "I don't know."},
]


@pytest.fixture(scope="module")
def adapter(tmp_path_factory) -> Path:
    """A 2-layer GPT-2 and a LoRA adapter over it, trained a few steps so that both LoRA matrices are non-zero."""
    tokenizer = build_tokenizer([r["prompt"] + " " + r["target"] for r in RECORDS])
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("influence")
    GPT2LMHeadModel(config).save_pretrained(root / "base")
    tokenizer.save_pretrained(root / "base")
    sft.train(root / "base", RECORDS * 4, root / "warmup", chat=False, lora={"r": 4, "dropout": 0.1},
              storage="adapter", log=None,
              hparams={"max_steps": 3, "learning_rate": 1e-2, "per_device_train_batch_size": 4, "logging_steps": 1})
    return root / "warmup"


def hand_features(adapter: Path, records, dim: int) -> np.ndarray:
    """The completion-only cross-entropy of "prompt target<eos>", its LoRA gradient, trak's projection, unit length."""
    model = influence.load_adapter_trainable(adapter)
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(adapter)
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for record in records:
        prompt = tokenizer(record["prompt"])["input_ids"]
        full = tokenizer(record["prompt"] + " " + record["target"])["input_ids"] + [tokenizer.eos_token_id]
        labels = [-100] * len(prompt) + full[len(prompt):]
        loss = model(input_ids=torch.tensor([full]), labels=torch.tensor([labels])).loss
        grads = torch.autograd.grad(loss, params)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    grads = torch.stack(rows)
    projected = influence.projector(grads.shape[1], dim, "cpu").project(grads, model_id=0)
    return torch.nn.functional.normalize(projected, dim=1).numpy()


def test_features_are_the_projected_normalised_gradient_of_the_completion_loss(adapter):
    got = influence.gradient_features(adapter, RECORDS, chat=False, dim=256, max_length=64, project_every=2)
    assert got.shape == (3, 256)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(got, hand_features(adapter, RECORDS, 256), atol=1e-5)
    # the same prompt with another target has another gradient; a rerun gives the same numbers (to the rounding
    # of a matrix product over another number of rows)
    assert abs(float(got[0] @ got[2])) < 0.99
    again = influence.gradient_features(adapter, RECORDS[:1], chat=False, dim=256, max_length=64)
    np.testing.assert_allclose(again[0], got[0], atol=1e-6)


def test_both_lora_matrices_have_gradients(adapter):
    model = influence.load_adapter_trainable(adapter)
    names = [name for name, p in model.named_parameters() if p.requires_grad]
    assert any("lora_A" in name for name in names) and any("lora_B" in name for name in names)
    assert all("lora_" in name for name in names)


def test_a_full_checkpoint_is_refused(adapter, tmp_path):
    full = tmp_path / "full"
    AutoModelForCausalLM.from_pretrained(adapter.parent / "base").save_pretrained(full)
    with pytest.raises(RaitError, match="not a LoRA adapter checkpoint"):
        influence.gradient_features(full, RECORDS, chat=False, dim=16)
