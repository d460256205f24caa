"""LESS's gradient features (rait.influence) on a tiny GPT-2 with a LoRA adapter, against a hand computation; its Adam
preconditioning against LESS's own functions on 100 generated cases (tests/fixtures/less_adam_original.json.gz, written
by tools/run_less_original.py)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")
pytest.importorskip("trak")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel  # noqa: E402

from rait import influence  # noqa: E402
from rait.checkpoints import MOMENTS_FILE  # noqa: E402
from rait.errors import RaitError  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
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
              storage="adapter", adam_moments=True, log=None,
              hparams={"max_steps": 3, "learning_rate": 1e-2, "per_device_train_batch_size": 4, "logging_steps": 1})
    return root / "warmup"


def hand_features(adapter: Path, records, dim: int, adam: bool = False) -> np.ndarray:
    """The completion-only cross-entropy of "prompt target<eos>", its LoRA gradient (with ``adam``: m' / sqrt(v' +
    1e-8) after one more Adam step from the stored moments), trak's projection, unit length."""
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
        row = torch.cat([g.reshape(-1) for g in grads])
        if adam:
            stored = load_file(str(adapter / MOMENTS_FILE))
            names = [name for name, p in model.named_parameters() if p.requires_grad]
            m, v = (torch.cat([stored[f"{name}.{key}"].reshape(-1) for name in names]) for key in ("exp_avg", "exp_avg_sq"))
            row = (0.9 * m + 0.1 * row) / torch.sqrt(0.999 * v + 0.001 * row ** 2 + 1e-8)
        rows.append(row)
    grads = torch.stack(rows)
    projected = influence.projector(grads.shape[1], dim, "cpu").project(grads, model_id=0)
    return torch.nn.functional.normalize(projected, dim=1).numpy()


def test_features_are_the_projected_normalised_gradient_of_the_completion_loss(adapter):
    got = influence.gradient_features(adapter, RECORDS, chat=False, dim=256, max_length=64, project_every=2,
                                      gradient_type="sgd")
    assert got.shape == (3, 256)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(got, hand_features(adapter, RECORDS, 256), atol=1e-5)
    # the same prompt with another target has another gradient; a rerun gives the same numbers (to the rounding
    # of a matrix product over another number of rows)
    assert abs(float(got[0] @ got[2])) < 0.99
    again = influence.gradient_features(adapter, RECORDS[:1], chat=False, dim=256, max_length=64, gradient_type="sgd")
    np.testing.assert_allclose(again[0], got[0], atol=1e-6)


def test_adam_features_precondition_the_gradient_with_the_warmups_moments(adapter):
    """LESS's adam type, GRAIT's: the stored moments are those of every LoRA parameter, the features the hand
    computation's, and not the raw gradient's."""
    stored = load_file(str(adapter / MOMENTS_FILE))
    names = [name for name, p in influence.load_adapter_trainable(adapter).named_parameters() if p.requires_grad]
    assert set(stored) == {f"{name}.{key}" for name in names for key in ("exp_avg", "exp_avg_sq")}
    assert all(float(stored[f"{name}.exp_avg_sq"].min()) >= 0 and float(stored[f"{name}.exp_avg_sq"].max()) > 0
               for name in names)
    got = influence.gradient_features(adapter, RECORDS, chat=False, dim=256, max_length=64, gradient_type="adam")
    np.testing.assert_allclose(got, hand_features(adapter, RECORDS, 256, adam=True), atol=1e-5)
    raw = influence.gradient_features(adapter, RECORDS, chat=False, dim=256, max_length=64, gradient_type="sgd")
    assert np.abs(got - raw).max() > 0.05


def test_adam_features_without_the_moments_or_of_an_unknown_type_are_refused(adapter, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(adapter, bare)
    (bare / MOMENTS_FILE).unlink()
    with pytest.raises(RaitError, match="no adam_moments.safetensors: the warm-up kept no Adam moments"):
        influence.gradient_features(bare, RECORDS, chat=False, dim=16, gradient_type="adam")
    save_file({"nothing.exp_avg": torch.zeros(2)}, str(bare / MOMENTS_FILE))
    with pytest.raises(RaitError, match="its moments are not of .*'s LoRA parameters"):
        influence.gradient_features(bare, RECORDS, chat=False, dim=16, gradient_type="adam")
    with pytest.raises(RaitError, match="type 'sign', not one of adam, sgd"):
        influence.gradient_features(adapter, RECORDS, chat=False, dim=16, gradient_type="sign")


def test_adam_moments_are_kept_only_for_a_lora_stage_stored_as_an_adapter(adapter, tmp_path):
    for lora, storage in ((None, "adapter"), ({"r": 2}, "merged")):
        with pytest.raises(RaitError, match="adam_moments: Adam moments are kept for a LoRA stage stored as an adapter"):
            sft.train(adapter.parent / "base", RECORDS, tmp_path / "out", chat=False, lora=lora, storage=storage,
                      adam_moments=True, log=None, hparams={"max_steps": 1})
        assert not (tmp_path / "out").exists()
    with pytest.raises(RaitError, match="not for full fine-tuning, a merged copy or an adapter stacked onto"):
        sft.train(adapter, RECORDS, tmp_path / "out", chat=False, lora={"r": 2}, storage="adapter", adam_moments=True,
                  log=None, hparams={"max_steps": 1})


def _less_cases() -> dict:
    with gzip.open(Path(__file__).parent / "fixtures" / "less_adam_original.json.gz", "rt") as handle:
        return json.load(handle)


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_adam_preconditioning_by_hand():
    """g 2, m 1, v 4: m' 0.9 + 0.2 = 1.1, v' 3.996 + 0.004 = 4, 1.1 / sqrt(4 + 1e-8) = 0.55; zero moments and g 1e-3:
    m' 1e-4, v' 1e-9, and the eps inside the root counts: 1e-4 / sqrt(1.1e-8) = 0.9535."""
    got = influence.adam_preconditioned(torch.tensor([2.0, 1e-3], dtype=torch.float64),
                                        torch.tensor([1.0, 0.0], dtype=torch.float64),
                                        torch.tensor([4.0, 0.0], dtype=torch.float64))
    np.testing.assert_allclose(got.numpy(), [1.1 / np.sqrt(4 + 1e-8), 1e-4 / np.sqrt(1.1e-8)], rtol=1e-12)


def test_adam_preconditioning_is_less_own_on_generated_cases(tmp_path):
    """LESS's prepare_optimizer_state and obtain_gradients_with_adam, run by tools/run_less_original.py: rait's
    read_moments (the moments stored by parameter name, a frozen layer between the trained ones) and
    adam_preconditioned give LESS's vector on each case."""
    fixture, tool = _less_cases(), _tool("run_less_original")
    assert fixture["less_commit"].startswith("1e4afda") and len(fixture["cases"]) == 100
    for index, case in enumerate(fixture["cases"]):
        model = tool.network(case)
        folder = tmp_path / str(index)
        folder.mkdir()
        save_file({f"{name}.{key}": torch.tensor(value, dtype=torch.float64)
                   for name, entry in case["moments"].items() for key, value in entry.items()},
                  str(folder / MOMENTS_FILE))
        batch = {key: torch.tensor(value, dtype=torch.float64) for key, value in case["batch"].items()}
        model(**batch).loss.backward()
        gradient = torch.cat([p.grad.reshape(-1) for p in model.parameters() if p.grad is not None])
        got = influence.adam_preconditioned(gradient, *influence.read_moments(folder, model, "cpu"))
        np.testing.assert_allclose(got.numpy(), case["less"], rtol=1e-12, atol=0, err_msg=f"case {index}")


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
