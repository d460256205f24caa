"""Issue 26's exactness check: every stage stored as an adapter gives the logits of the same stage stored merged.

    python tools/check_adapter_exactness.py ADAPTER_WORKDIR MERGED_WORKDIR --model synth_tiny --dataset synth

Two runs of one commit with the upstream held fixed (the second a copy of the first's results up to the knowledge
labels, its checkpoints deleted), the second with ``training: {lora_storage: merged}``. For each checkpoint of
``--model`` that ADAPTER_WORKDIR stores as an adapter, the base with the adapter as every consumer loads it
(``rait.checkpoints.load_model``) and MERGED_WORKDIR's merged copy of that stage are run in fp32 on the first
``--count`` test questions of ``--dataset`` with their first gold answer; prints, per stage, the stacked rank, the
maximum absolute logit difference over the real tokens, and how far the stage moved the logits from the base (the
adapter does something). Exit status 1 when a difference exceeds ``--tolerance`` (1e-4) or a stage is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rait.checkpoints import CAUSAL_LM, adapter_base, adapter_model_class, adapter_rank, is_adapter, load_model  # noqa: E402
from rait.io import read_jsonl  # noqa: E402


def texts(workdir: Path, dataset: str, count: int) -> list[str]:
    records = read_jsonl(workdir / "results" / "data" / dataset / "test.jsonl")[:count]
    return [f"{r['question']} {(r.get('answers') or [''])[0]}".strip() for r in records]


def logits(model, tokenizer, batch: list[str]):
    import torch

    encoded = tokenizer(batch, return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model(**encoded).logits.float()
    mask = encoded["attention_mask"].bool()
    return out[mask] if out.dim() == 3 else out  # a reward model scores the sequence: one number per text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("adapter_workdir", type=Path)
    parser.add_argument("merged_workdir", type=Path)
    parser.add_argument("--model", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--count", type=int, default=32)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args(argv)

    import torch
    import transformers
    from transformers import AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    merged_root = args.merged_workdir.resolve() / "results" / "checkpoints"
    os.chdir(args.adapter_workdir)  # an adapter's record names its base relative to its run's working directory
    batch = texts(Path("."), args.dataset, args.count)
    stages = sorted(p for p in Path("results/checkpoints").glob(f"{args.model}_*") if is_adapter(p))
    if not stages:
        print(f"no adapter checkpoint of {args.model} in {args.adapter_workdir}/results/checkpoints")
        return 1
    print("| stage | stacked rank | max abs logit difference | max abs move from the base |")
    print("|---|---:|---:|---:|")
    failed = False
    base_logits = {}  # one forward pass per base, not one per stage (the demo's 21 stages share one base)
    for stage in stages:
        merged = merged_root / stage.name
        if not (merged / "config.json").is_file() or is_adapter(merged):
            print(f"| {stage.name} | {adapter_rank(stage)} | no merged copy in {merged_root} | |")
            failed = True
            continue
        kind = adapter_model_class(stage)
        tokenizer = AutoTokenizer.from_pretrained(str(stage))
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "right"
        served = logits(load_model(stage, kind, dtype=torch.float32), tokenizer, batch)
        full = logits(load_model(merged, kind, dtype=torch.float32), tokenizer, batch)
        difference = (served - full).abs().max().item()
        moved = "n/a (a score head of its own)"
        if kind == CAUSAL_LM:
            base_path = adapter_base(stage)
            if base_path not in base_logits:
                base_logits[base_path] = logits(load_model(base_path, kind, dtype=torch.float32), tokenizer, batch)
            moved = f"{(full - base_logits[base_path]).abs().max().item():.2f}"
        failed |= difference > args.tolerance
        print(f"| {stage.name} | {adapter_rank(stage)} | {difference:.2e} | {moved} |", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
