"""LoRA adapters as stored files: read, stack a chain into one, write atomically.

A stage that starts from another LoRA stage trains its own low-rank update on the parent's weights, so a chain's
weights are W + s_1 B_1 A_1 + s_2 B_2 A_2 + ... (``s = alpha / r``, or ``alpha / sqrt(r)`` with rsLoRA). The
updates are additive: stacking the A factors as rows and the scaled B factors as columns gives one adapter of
rank r_1 + r_2 + ... whose update is their sum exactly (B A = [s_1 B_1, s_2 B_2] [A_1; A_2]), served over the base
in one step (PEFT's ``PeftModel``, vLLM's ``LoRARequest``). Its scaling is folded into B, so its ``lora_alpha``
equals its rank (scale 1). A module one adapter of the chain does not touch gets zeros there: the rank is one
number for every module, as vLLM wants it. The target modules are the union of the adapters' modules, written as
PEFT's full-match pattern of their exact names (an adapter restricted to some layers stays so).

Files are PEFT's: ``adapter_config.json`` and ``adapter_model.safetensors`` with keys
``base_model.model.<module>.lora_A.weight`` / ``.lora_B.weight``. What rait does not stack is refused by name:
per-module ranks or alphas (``rank_pattern``, ``alpha_pattern``), DoRA, trained biases, and two adapters that
disagree on ``fan_in_fan_out``. Modules trained whole beside the adapter (PEFT's ``modules_to_save``: a reward
model's new score head) are kept as PEFT saved them (``head``), on the last adapter of a chain only: nothing trains
on top of a reward model, and a head under a later stage's adapter would be a model the chain never trained.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from collections.abc import Sequence
from pathlib import Path

from rait.errors import RaitError

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
_KEY = re.compile(r"^base_model\.model\.(?P<module>.+)\.lora_(?P<factor>[AB])\.weight$")
# the values vLLM takes for max_lora_rank (vllm.config.lora); it serves any adapter rank up to it
VLLM_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


@dataclass
class Adapter:
    """A LoRA adapter: PEFT's config and, per module, its (A, B) factors (A: r x in, B: out x r)."""
    config: dict
    factors: dict  # module name -> (A, B) torch tensors
    origin: str = "<memory>"
    head: dict = field(default_factory=dict)  # PEFT's key -> tensor of a module trained whole (modules_to_save)

    @property
    def rank(self) -> int:
        return int(self.config["r"])

    def scaling(self) -> float:
        alpha = float(self.config["lora_alpha"])
        return alpha / math.sqrt(self.rank) if self.config.get("use_rslora") else alpha / self.rank


def _check_stackable(config: dict, origin: str) -> None:
    if config.get("peft_type", "LORA") != "LORA":
        raise RaitError(f"{origin}: a {config['peft_type']} adapter, not LoRA")
    refused = {"rank_pattern": "per-module ranks", "alpha_pattern": "per-module alphas", "use_dora": "DoRA"}
    for key, what in refused.items():
        if config.get(key):
            raise RaitError(f"{origin}: {CONFIG_FILE} sets {key} ({what}), which rait cannot stack")
    if config.get("bias", "none") != "none":
        raise RaitError(f"{origin}: {CONFIG_FILE} trains biases (bias: {config['bias']!r}), which rait cannot stack")


def read_adapter(folder) -> Adapter:
    """The adapter PEFT saved in ``folder``; a missing or unreadable file is an error naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for path in (config_path, weights_path):
        if not path.is_file():
            raise RaitError(f"{folder}: no {path.name}: not a LoRA adapter folder (or one half written)")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RaitError(f"{config_path}: not JSON: {err}") from None
    _check_stackable(config, str(folder))
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError) as err:
        raise RaitError(f"{weights_path}: unreadable: {err}") from None
    pairs: dict[str, dict[str, object]] = {}
    head = {}
    for key, tensor in tensors.items():
        match = _KEY.match(key)
        if match:
            pairs.setdefault(match["module"], {})[match["factor"]] = tensor
        elif _trained_whole(key, config.get("modules_to_save") or ()):
            head[key] = tensor
        else:
            raise RaitError(f"{weights_path}: tensor {key!r} is neither a LoRA factor nor a module of "
                            "modules_to_save, which rait cannot stack")
    factors = {}
    for module, pair in sorted(pairs.items()):
        if set(pair) != {"A", "B"}:
            raise RaitError(f"{weights_path}: module {module!r} has lora_{'A' if 'B' in pair else 'B'} missing")
        factors[module] = (pair["A"], pair["B"])
    return Adapter(config, factors, str(folder), head)


def _trained_whole(key: str, modules: Sequence[str]) -> bool:
    """Whether PEFT's saved ``key`` (``base_model.model.<path>.<param>``) is a parameter of one of ``modules``."""
    path = key.removeprefix("base_model.model.").rsplit(".", 1)[0]
    return any(path == name or path.endswith("." + name) for name in modules)


def stack(adapters: list[Adapter]) -> Adapter:
    """One adapter whose update is the sum of ``adapters``' updates (a chain, the first trained on the base): rank
    the sum of theirs, scaling folded into B, zeros where an adapter does not touch a module."""
    import torch

    if not adapters:
        raise RaitError("stack: no adapters")
    for adapter in adapters:
        _check_stackable(adapter.config, adapter.origin)
    for adapter in adapters[:-1]:
        if adapter.head:
            raise RaitError(f"stack: {adapter.origin} trains modules whole ({', '.join(sorted(adapter.head))}): "
                            "only the last stage of a chain may")
    fan = {bool(a.config.get("fan_in_fan_out")) for a in adapters}
    if len(fan) > 1:
        raise RaitError(f"stack: the adapters disagree on fan_in_fan_out: {', '.join(a.origin for a in adapters)}")
    shapes: dict[str, tuple[int, int, torch.dtype]] = {}
    for adapter in adapters:
        for module, (a, b) in adapter.factors.items():
            shape = (a.shape[1], b.shape[0], a.dtype)
            if shapes.setdefault(module, shape)[:2] != shape[:2]:
                raise RaitError(f"stack: module {module!r} has shape {shape[:2]} in {adapter.origin} but "
                                f"{shapes[module][:2]} before: adapters of different base models")
    rank = sum(adapter.rank for adapter in adapters)
    factors = {}
    for module, (fan_in, fan_out, dtype) in sorted(shapes.items()):
        rows, columns = [], []
        for adapter in adapters:
            if module in adapter.factors:
                a, b = adapter.factors[module]
                rows.append(a.float())
                columns.append(b.float() * adapter.scaling())
            else:
                rows.append(torch.zeros(adapter.rank, fan_in))
                columns.append(torch.zeros(fan_out, adapter.rank))
        factors[module] = (torch.cat(rows, 0).to(dtype).contiguous(), torch.cat(columns, 1).to(dtype).contiguous())
    config = {**adapters[-1].config, "r": rank, "lora_alpha": rank, "use_rslora": False,
              "target_modules": target_pattern(factors), "layers_to_transform": None, "layers_pattern": None}
    return Adapter(config, factors, " + ".join(adapter.origin for adapter in adapters), dict(adapters[-1].head))


def served_rank(rank: int, ranks: tuple[int, ...] = VLLM_RANKS) -> int:
    """The smallest rank an engine serves that holds ``rank``; an error above its largest."""
    for allowed in ranks:
        if allowed >= rank:
            return allowed
    raise RaitError(f"a stacked LoRA rank of {rank} is above the largest an engine serves ({ranks[-1]}): lower "
                    "training.lora.r or train fewer chained LoRA stages")


def target_pattern(factors: dict) -> str:
    """PEFT's full-match pattern of exactly these module names."""
    return "^(?:" + "|".join(re.escape(module) for module in sorted(factors)) + ")$"


def write_adapter_files(adapter: Adapter, folder) -> None:
    """The adapter's two files in PEFT's format into an existing ``folder``."""
    from safetensors.torch import save_file

    tensors = {}
    for module, (a, b) in adapter.factors.items():
        tensors[f"base_model.model.{module}.lora_A.weight"] = a.contiguous()
        tensors[f"base_model.model.{module}.lora_B.weight"] = b.contiguous()
    tensors.update({key: tensor.contiguous() for key, tensor in adapter.head.items()})
    save_file(tensors, str(Path(folder) / WEIGHTS_FILE), metadata={"format": "pt"})
    (Path(folder) / CONFIG_FILE).write_text(json.dumps(adapter.config, indent=2, sort_keys=True), encoding="utf-8")


def write_adapter(adapter: Adapter, folder) -> Path:
    """``folder`` holding the adapter in PEFT's format, written beside it and renamed into place."""
    from rait.io import atomic_dir

    with atomic_dir(folder) as tmp:
        write_adapter_files(adapter, tmp)
    return Path(folder)
