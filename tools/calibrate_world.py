"""Measure SmolLM2-135M-Instruct's greedy accuracy on the embedded world set.

    python tools/calibrate_world.py                      # full test split, open + mc
    python tools/calibrate_world.py --limit 64 --kind open   # quick subset
    python tools/calibrate_world.py --by-relation --save /tmp/resp.jsonl

Prompts exactly as the pipeline's defaults (config/config.yaml ``prompts``):
one user turn in the model's chat template, tokenized without extra special
tokens, greedy decoding, left padding (pad = eos when the tokenizer has no pad
token), ``max_new_tokens`` 24 as the smollm2_135m entry samples.
Responses are graded with ``rait.grading.grade``. Prints per-subject and total
accuracy (share graded "correct") and the grade counts.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rait.grading import grade  # noqa: E402
from rait.prompts import render_question  # noqa: E402
from rait.sampling.transformers_engine import left_padded  # noqa: E402

OPEN_PROMPT = "Answer the following question in a few words.\nQuestion: {question}"
MC_PROMPT = "{question}\n{choices}\nAnswer:"  # the smollm2_135m entry's prompts.mc
MAX_NEW = {"open": 24, "mc": 24}
EMBEDDED = ROOT / "rait" / "datasets" / "embedded"


def default_model() -> str:
    path = ROOT / "results" / "models" / "smollm2_135m"
    return str(path) if (path / "config.json").exists() else "/tmp/smol"


def load(path: Path, split: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [r for r in map(json.loads, fh) if r.get("split") == split]


def subset(records: list[dict], limit: int | None, seed: int) -> list[dict]:
    """A seeded sample of ``limit`` records, stratified by subject (proportional)."""
    if not limit or limit >= len(records):
        return records
    by_subject = defaultdict(list)
    for r in records:
        by_subject[r["subject"]].append(r)
    rng = random.Random(seed)
    out = []
    for subject in sorted(by_subject):
        group = by_subject[subject]
        k = max(1, round(limit * len(group) / len(records)))
        out.extend(rng.sample(group, min(k, len(group))))
    return out


def prompt(tokenizer, record: dict, templates: dict) -> str:
    content = render_question(record, templates)
    messages = [{"role": "user", "content": content}]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def generate(model, tokenizer, records: list[dict], kind: str, templates: dict, batch: int) -> list[str]:
    import torch

    ids = [tokenizer(prompt(tokenizer, r, templates), add_special_tokens=False)["input_ids"] for r in records]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # similar lengths share a batch
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: list[str] = [""] * len(ids)
    for start in range(0, len(order), batch):
        chunk = order[start:start + batch]
        input_ids, mask = left_padded(torch, [ids[i] for i in chunk], pad, "cpu")
        width = input_ids.shape[1]
        with torch.no_grad():
            gen = model.generate(input_ids=input_ids, attention_mask=mask, do_sample=False,
                                 max_new_tokens=MAX_NEW[kind], pad_token_id=pad)
        for row, i in enumerate(chunk):
            out[i] = tokenizer.decode(gen[row, width:], skip_special_tokens=True).strip()
    return out


def report(kind: str, records: list[dict], grades: list[str], relations: dict | None) -> None:
    tally = defaultdict(Counter)
    for r, g in zip(records, grades):
        tally[r["subject"]][g] += 1
        tally["TOTAL"][g] += 1
        if relations is not None:
            tally["rel:" + relations.get(r["question"], "?")][g] += 1
    print(f"\n== {kind} ({len(records)} questions) ==")
    print(f"{'subject':<28}{'n':>5}{'acc':>8}   correct/wrong/refusal/unparsed")
    keys = sorted(k for k in tally if k != "TOTAL" and not k.startswith("rel:"))
    keys += sorted(k for k in tally if k.startswith("rel:")) + ["TOTAL"]
    for k in keys:
        c = tally[k]
        n = sum(c.values())
        print(f"{k:<28}{n:>5}{c['correct'] / n:>8.1%}   "
              f"{c['correct']}/{c['wrong']}/{c['refusal']}/{c['unparsed']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=default_model())
    ap.add_argument("--open-file", type=Path, default=EMBEDDED / "world_open.jsonl")
    ap.add_argument("--mc-file", type=Path, default=EMBEDDED / "world_mc.jsonl")
    ap.add_argument("--split", default="test")
    ap.add_argument("--kind", choices=["open", "mc", "both"], default="both")
    ap.add_argument("--limit", type=int, default=None, help="stratified subset of this many questions per kind")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mc-prompt", default=None, help="try another multiple-choice prompt ({question}, {choices})")
    ap.add_argument("--open-prompt", default=None, help="try another open-question prompt ({question})")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--by-relation", action="store_true", help="also report per relation (rebuilds the tables)")
    ap.add_argument("--save", type=Path, help="write every response and grade to this JSONL file")
    args = ap.parse_args(argv)

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model.eval()

    relations = None
    if args.by_relation:
        sys.path.insert(0, str(ROOT / "tools"))
        from build_world import relation_of

        relations = relation_of()

    unescape = lambda text: text.replace("\\n", "\n")
    templates = {"mc": unescape(args.mc_prompt or MC_PROMPT), "open": unescape(args.open_prompt or OPEN_PROMPT)}
    kinds = ["open", "mc"] if args.kind == "both" else [args.kind]
    saved = []
    for kind in kinds:
        path = args.open_file if kind == "open" else args.mc_file
        records = subset(load(path, args.split), args.limit, args.seed)
        t0 = time.time()
        responses = generate(model, tokenizer, records, kind, templates, args.batch)
        grades = [grade(r, resp) for r, resp in zip(records, responses)]
        report(kind, records, grades, relations)
        print(f"({time.time() - t0:.0f}s)")
        saved += [{**r, "kind": kind, "response": resp, "grade": g}
                  for r, resp, g in zip(records, responses, grades)]
    if args.save:
        with open(args.save, "w", encoding="utf-8") as fh:
            for row in saved:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
