"""A short check on a CUDA machine, through rait's own entry points: SFT (full fine-tuning, bf16), DPO (LoRA, bf16)
and GRPO (abstention reward) with `python -m rait.training`, a reward model and its scores and R-Tuning's follow-up
log-probabilities (rait.reward_model, rait.followup), then sampling with the transformers engine in bf16. Issue 26:
DPO is stored as an adapter over the SFT checkpoint and a second LoRA stage chained on it (their adapters stacked);
the engine service over the SFT checkpoint answers for SFT, DPO and the chain, switching adapters, and each answer
file is compared with the same job's own engine. GRAIT: a LoRA warm-up that keeps its Adam moments, then LESS's adam
gradient features of 64 examples at its adapter (rait.influence; which trak projector ran, and the features' norms).

    python bench/gpu_smoke.py INPUTS OUT
    RAIT_SMOKE_CPU=1 python bench/gpu_smoke.py INPUTS OUT   # the same steps on the CPU (to check the script)

INPUTS holds `model/` (a causal LM checkpoint), `sft.jsonl`, `dpo.jsonl` and `test.jsonl` (the synthetic world's
files: `results/models/synth_tiny`, `results/train_data/synth_tiny_{sft,dpo}.jsonl`, `results/data/synth/test.jsonl`).
OUT gets each stage's training_stats.json and log_history.jsonl, the samples, and summary.json; no weights.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ON_CPU = os.environ.get("RAIT_SMOKE_CPU") == "1"
GPUS = 0 if ON_CPU else 1


def train(kind: str, model: Path, data: Path, out: Path, options: dict) -> dict:
    started = time.monotonic()
    command = [sys.executable, "-m", "rait.training", kind, "--model", str(model), "--data", str(data),
               "--out", str(out), "--options", json.dumps(options), "--gpus", str(GPUS), "--save-steps", "10"]
    result = subprocess.run(command, capture_output=True, text=True)
    (out.parent / f"{kind}.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{result.stderr[-4000:]}")
    stats = json.loads((out / "training_stats.json").read_text())
    return {**stats, "wall_s": round(time.monotonic() - started, 1)}


def sample(model: Path, questions: list[dict]) -> dict:
    import torch

    from rait.sampling import SamplingSpec, sample_records

    started = time.monotonic()
    rows = sample_records(questions, str(model), engine="transformers", engine_options={"dtype": "bfloat16"},
                          templates={"open": "Q: {question}\nA:"}, chat=False,
                          spec=SamplingSpec(n=10, temperature=1.0, top_p=0.9, max_new_tokens=16, seed=0, stop=("\n",)))
    return {"rows": rows, "wall_s": round(time.monotonic() - started, 1),
            "device": "cpu" if ON_CPU else torch.cuda.get_device_name(0),
            "refusals": sum(row["greedy"].strip().startswith("I don't know") for row in rows)}


def score(out: Path, inputs: Path) -> dict:
    from rait.followup import FollowUp
    from rait.reward_model import RewardModel

    pairs = [json.loads(line) for line in (inputs / "dpo.jsonl").read_text().splitlines()][:64]
    started = time.monotonic()
    scorer = RewardModel(str(out / "reward"), chat=False)
    chosen = scorer.scores([(p["prompt"], p["chosen"]) for p in pairs])
    rejected = scorer.scores([(p["prompt"], p["rejected"]) for p in pairs])
    follow = FollowUp(str(out / "sft"), chat=False)
    logprobs = follow.logprobs([(p["prompt"], " " + p["chosen"]) for p in pairs])
    return {"pairs": len(pairs), "chosen_above_rejected": sum(c > r for c, r in zip(chosen, rejected)),
            "reward_device": str(scorer.model.device), "followup_device": str(follow.model.device),
            "followup_dtype": str(follow.model.dtype), "mean_logprob_chosen": sum(chosen_logprob for chosen_logprob, _ in logprobs) / len(pairs),
            "wall_s": round(time.monotonic() - started, 1)}


def serve_adapters(out: Path, questions: list[dict]) -> dict:
    """The engine service over the SFT checkpoint answers for it, the DPO adapter over it and the chained adapter,
    switching (sft, dpo, chained, dpo); each answer file against the same job on its own engine."""
    import threading

    from rait import answer_service
    from rait.answering import answer
    from rait.io import read_jsonl, write_jsonl
    from rait.sampling import load_base_engine

    test = out / "service_test.jsonl"
    write_jsonl(test, questions[:100])

    def job(stage: str, kind: str) -> dict:
        params = dict(weights=str(out / stage), engine="transformers", engine_options={"dtype": "bfloat16"},
                      gpus=GPUS, chat=False, system=None, templates={"open": "Q: {question}\nA:"}, strategy="greedy",
                      answer={}, checkpoints={}, sampling={"n": 0, "temperature": 1.0, "top_p": 0.9,
                                                           "max_new_tokens": 16, "seed": 0, "stop": ["\n"]})
        return dict(params=params, questions=str(test), output=str(out / f"{kind}_{stage}.jsonl"), log=None)

    address, stop = out / "engines" / "smoke.json", threading.Event()
    load = lambda: load_base_engine(answer_service.params_of(job("sft", "served")))  # noqa: E731
    thread = threading.Thread(target=answer_service.serve, daemon=True,
                              kwargs=dict(address=address, load=load, answer=answer_service.answer_job, stop=stop))
    started = time.monotonic()
    thread.start()
    try:
        for stage in ("sft", "dpo", "chained", "dpo"):
            answer_service.answer_through(address, job(stage, "served"))
    finally:
        stop.set()
        thread.join(timeout=30)
    result = {"served_s": round(time.monotonic() - started, 1)}
    for stage in ("sft", "dpo", "chained"):
        started = time.monotonic()
        alone = job(stage, "alone")
        answer(answer_service.params_of(alone), alone["questions"], alone["output"])
        served = Path(job(stage, "served")["output"])
        result[stage] = {"identical": served.read_bytes() == Path(alone["output"]).read_bytes(),
                         "alone_s": round(time.monotonic() - started, 1),
                         "refusals": sum(row["answer"].startswith("I don't know") for row in read_jsonl(served)),
                         # the adapters are applied: answers that moved from the SFT checkpoint's
                         "differ_from_sft": sum(a["answer"] != b["answer"] for a, b in zip(
                             read_jsonl(served), read_jsonl(job("sft", "served")["output"])))}
    result["stacked_rank"] = json.loads((out / "chained" / "rait_adapter.json").read_text())["rank"]
    return result


def gradients(out: Path, inputs: Path) -> dict:
    """GRAIT's warm-up (LoRA stored as an adapter, Adam moments kept) and LESS's adam features at it."""
    import torch

    from rait import influence

    summary = {"warmup": train("sft", inputs / "model", inputs / "sft.jsonl", out / "warmup",
                               {"chat": False, "lora": {"r": 8, "alpha": 32, "target_modules": ["c_attn"]},
                                "storage": "adapter", "adam_moments": True,
                                "hparams": {"max_steps": 20, "learning_rate": 1e-3, "per_device_train_batch_size": 16,
                                            "max_length": 64}})}
    records = [json.loads(line) for line in (inputs / "sft.jsonl").read_text().splitlines()][:64]
    started = time.monotonic()
    features = influence.gradient_features(out / "warmup", records, chat=False, dim=1024, max_length=64,
                                           gradient_type="adam")
    device = torch.device("cpu" if ON_CPU else "cuda:0")
    norms = features @ features.T
    summary.update(projector=influence.projector_class(device).__name__, shape=list(features.shape),
                   norms=[round(float(norms.diagonal().min()), 6), round(float(norms.diagonal().max()), 6)],
                   wall_s=round(time.monotonic() - started, 1))
    for path in (out / "warmup").glob("*.safetensors"):
        path.unlink()
    return summary


def main() -> None:
    import torch

    inputs, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    assert ON_CPU or torch.cuda.is_available(), "no CUDA device"
    summary = {"torch": torch.__version__, "cuda": torch.version.cuda, "bf16": ON_CPU or torch.cuda.is_bf16_supported()}
    summary["sft"] = train("sft", inputs / "model", inputs / "sft.jsonl", out / "sft",
                           {"chat": False, "lora": None, "hparams": {"num_train_epochs": 4, "learning_rate": 5e-4,
                                                                    "per_device_train_batch_size": 16,
                                                                    "max_length": 64}})
    summary["dpo"] = train("dpo", out / "sft", inputs / "dpo.jsonl", out / "dpo",
                           {"chat": False, "lora": {"r": 8, "alpha": 16, "target_modules": ["c_attn"]},
                            "storage": "adapter", "hparams": {"num_train_epochs": 2, "learning_rate": 1e-4,
                                                              "per_device_train_batch_size": 16, "max_length": 64}})
    # a LoRA stage on the DPO adapter: stored as both adapters stacked over the SFT checkpoint (rank 8 + 8)
    summary["chained"] = train("sft", out / "dpo", inputs / "sft.jsonl", out / "chained",
                               {"chat": False, "lora": {"r": 8, "alpha": 16, "target_modules": ["c_attn", "c_fc"]},
                                "storage": "adapter", "hparams": {"max_steps": 20, "learning_rate": 1e-3,
                                                                  "per_device_train_batch_size": 16, "max_length": 64}})
    questions = [json.loads(line) for line in (inputs / "test.jsonl").read_text().splitlines()][:200]
    # GRPO from the SFT checkpoint with the abstention reward (+1 right, 0 refusal, -1 wrong), on the test prompts
    graded = out / "grpo.jsonl"
    graded.write_text("".join(json.dumps({"id": q["id"], "prompt": f"Q: {q['question']}\nA:",
                                          "grading": {"question": q, "profile": "rait", "refusals": ["I don't know."],
                                                      "exact_match": False}}) + "\n" for q in questions[:64]))
    summary["grpo"] = train("grpo", out / "sft", graded, out / "grpo",
                            {"chat": False, "lora": None, "reward": "abstention", "reward_settings": {},
                             "hparams": {"max_steps": 8, "learning_rate": 1e-4, "per_device_train_batch_size": 8,
                                         "num_generations": 4, "max_completion_length": 16}})
    for path in (out / "grpo").glob("*.safetensors"):
        path.unlink()
    # the reward model (Idk-BoN, Idk-PPO, conqord_rm) and its scores, and R-Tuning's follow-up log-probabilities
    summary["reward"] = train("reward", out / "sft", inputs / "dpo.jsonl", out / "reward",
                              {"chat": False, "lora": None, "heldout": 0.1,
                               "hparams": {"num_train_epochs": 4, "learning_rate": 5e-4,
                                           "per_device_train_batch_size": 16, "max_length": 64}})
    summary["scoring"] = score(out, inputs)
    for path in (out / "reward").glob("*.safetensors"):
        path.unlink()
    for stage in ("sft", "dpo"):
        sampled = sample(out / stage, questions)
        (out / f"samples_{stage}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sampled.pop("rows")))
        summary[f"sample_{stage}"] = sampled
    with open(out / "sft" / "config.json") as handle:
        summary["sft_dtype"] = json.load(handle).get("dtype")
    summary["service"] = serve_adapters(out, questions)
    summary["grait"] = gradients(out, inputs)
    for stage in ("sft", "dpo", "chained"):
        for path in (out / stage).glob("*.safetensors"):
            path.unlink()  # the weights stay on the device
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
