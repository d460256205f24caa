"""rait.adapters: a chain of LoRA adapters, each trained on the weights its parent merged into, stacked into one
adapter that PEFT serves over the base with the logits of the sequentially merged model."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from rait.adapters import CONFIG_FILE, WEIGHTS_FILE, read_adapter, served_rank, stack, write_adapter
from rait.errors import RaitError

TOKENS = torch.tensor([[1, 5, 9, 13, 2, 7, 40, 3], [4, 4, 8, 15, 16, 23, 42, 0]])


def tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    return LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2)).eval()


def tiny_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=2, n_positions=16)).eval()


def train_like(model, folder, seed, **lora):
    """A LoRA adapter on ``model`` with random (non-zero) factors, as a trained one would be, saved to ``folder``;
    returns the model with it merged in (what the next stage of a chain starts from)."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    peft_model = get_peft_model(model, LoraConfig(init_lora_weights=False, **lora))
    peft_model.save_pretrained(str(folder))
    return peft_model.merge_and_unload().eval()


def logits(model) -> torch.Tensor:
    with torch.no_grad():
        return model(TOKENS).logits


def served(base, folder) -> torch.Tensor:
    from peft import PeftModel

    return logits(PeftModel.from_pretrained(copy.deepcopy(base), str(folder)).eval())


CHAINS = {
    # rait's default LoRA, then CUT's (r 16 alpha 16 on the MLP) under rsLoRA: different modules, ranks, scalings
    "llama": (tiny_llama, [dict(r=4, lora_alpha=32, target_modules="all-linear"),
                           dict(r=2, lora_alpha=16, target_modules=["gate_proj", "up_proj", "down_proj"],
                                use_rslora=True),
                           dict(r=3, lora_alpha=6, target_modules=["q_proj", "v_proj"], layers_to_transform=[1])]),
    # GPT-2's Conv1D layers store their weights transposed (fan_in_fan_out)
    "gpt2": (tiny_gpt2, [dict(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj"], fan_in_fan_out=True),
                         dict(r=2, lora_alpha=4, target_modules=["c_fc"], fan_in_fan_out=True)]),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_a_stacked_chain_serves_the_logits_of_the_sequentially_merged_model(tmp_path, name):
    make, loras = CHAINS[name]
    base = make()
    merged = copy.deepcopy(base)
    folders = []
    for index, lora in enumerate(loras):
        folders.append(tmp_path / f"stage{index}")
        merged = train_like(merged, folders[-1], seed=index + 1, **lora)
    expected = logits(merged)
    assert (expected - logits(base)).abs().max() > 0.1  # the adapters change the model

    stacked = stack([read_adapter(folder) for folder in folders])
    assert stacked.rank == sum(lora["r"] for lora in loras) and stacked.scaling() == 1.0
    write_adapter(stacked, tmp_path / "stacked")
    difference = (served(base, tmp_path / "stacked") - expected).abs().max().item()
    assert difference < 1e-4, difference
    # one adapter alone stacks to itself
    alone = stack([read_adapter(folders[0])])
    write_adapter(alone, tmp_path / "alone")
    first = train_like(copy.deepcopy(base), tmp_path / "again", seed=1, **loras[0])
    assert (served(base, tmp_path / "alone") - logits(first)).abs().max().item() < 1e-4


def test_an_engine_rank_is_the_smallest_served_one_that_holds_it():
    assert [served_rank(r) for r in (1, 2, 8, 9, 32, 48, 300, 512)] == [1, 8, 8, 16, 32, 64, 320, 512]
    with pytest.raises(RaitError, match="stacked LoRA rank of 600 is above the largest an engine serves"):
        served_rank(600)


def test_a_missing_or_half_written_adapter_is_named_by_its_file(tmp_path):
    train_like(tiny_llama(), tmp_path / "a", seed=1, r=2, lora_alpha=4, target_modules=["q_proj"])
    (tmp_path / "a" / WEIGHTS_FILE).write_bytes((tmp_path / "a" / WEIGHTS_FILE).read_bytes()[:100])
    with pytest.raises(RaitError, match=rf"a/{WEIGHTS_FILE}: unreadable"):
        read_adapter(tmp_path / "a")
    (tmp_path / "a" / WEIGHTS_FILE).unlink()
    with pytest.raises(RaitError, match=rf"no {WEIGHTS_FILE}: not a LoRA adapter folder \(or one half written\)"):
        read_adapter(tmp_path / "a")
    with pytest.raises(RaitError, match=f"no {CONFIG_FILE}"):
        read_adapter(tmp_path / "missing")


def test_what_cannot_be_stacked_is_refused_by_name(tmp_path):
    train_like(tiny_llama(), tmp_path / "llama", seed=1, r=2, lora_alpha=4, target_modules=["q_proj"])
    config = json.loads((tmp_path / "llama" / CONFIG_FILE).read_text())
    (tmp_path / "llama" / CONFIG_FILE).write_text(json.dumps({**config, "rank_pattern": {"q_proj": 8}}))
    with pytest.raises(RaitError, match="sets rank_pattern \\(per-module ranks\\)"):
        read_adapter(tmp_path / "llama")
    (tmp_path / "llama" / CONFIG_FILE).write_text(json.dumps(config))
    # an adapter of another base: the same module name with other shapes
    llama = read_adapter(tmp_path / "llama")
    other = copy.deepcopy(llama)
    other.factors = {m: (torch.zeros(2, 7), torch.zeros(5, 2)) for m in llama.factors}
    with pytest.raises(RaitError, match="adapters of different base models"):
        stack([llama, other])
    # a module trained whole (a reward model's score head) rides on the last adapter only; a stray tensor is named
    headed = copy.deepcopy(llama)
    headed.head = {"base_model.model.score.weight": torch.ones(1, 32)}
    assert stack([llama, headed]).head == headed.head
    with pytest.raises(RaitError, match=r"trains modules whole \(base_model.model.score.weight\): only the last stage"):
        stack([headed, llama])
    from safetensors.torch import load_file, save_file

    weights = load_file(str(tmp_path / "llama" / WEIGHTS_FILE))
    save_file({**weights, "base_model.model.score.weight": torch.ones(1, 32)}, str(tmp_path / "llama" / WEIGHTS_FILE))
    with pytest.raises(RaitError, match="tensor 'base_model.model.score.weight' is neither a LoRA factor nor a module of "
                                        "modules_to_save"):
        read_adapter(tmp_path / "llama")
    (tmp_path / "llama" / CONFIG_FILE).write_text(json.dumps({**config, "modules_to_save": ["classifier", "score"]}))
    assert list(read_adapter(tmp_path / "llama").head) == ["base_model.model.score.weight"]


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    adapter = read_adapter(train_like(tiny_llama(), tmp_path / "a", seed=1, r=2, lora_alpha=4,
                                      target_modules=["q_proj"]) and tmp_path / "a")
    adapter.factors = {"bad": ("not a tensor", "neither")}
    with pytest.raises(AttributeError):
        write_adapter(adapter, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
