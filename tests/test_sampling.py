"""The transformers engine: the exact nucleus, batches by length, one encoding per prompt, seeds per sample."""

from __future__ import annotations

import re

import pytest

torch = pytest.importorskip("torch")
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

from rait.errors import RaitError  # noqa: E402
from rait.sampling import SamplingSpec  # noqa: E402
from rait.sampling.transformers_engine import (TransformersEngine, _draw, length_batches,  # noqa: E402
                                               nucleus_sample, row_seed)
from rait.synthetic import build_tokenizer  # noqa: E402


def test_draw_keeps_the_smallest_prefix_reaching_top_p_by_hand():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    ids = torch.tensor([[7, 8, 9, 10]])
    # nucleus at top_p 0.7: 0.5 (nothing before it), 0.3 (0.5 before it); not 0.15 (0.8 before it). Mass 0.8.
    assert [_draw(torch, probs, ids, 0.7, torch.tensor([u])).item() for u in (0.0, 0.62, 0.63, 0.999)] == [7, 7, 8, 8]
    # top_p 1.0 keeps all; u = 0.96 lands past 0.95 of the mass: the last token
    assert _draw(torch, probs, ids, 1.0, torch.tensor([0.96])).item() == 10
    # a tiny top_p keeps the most probable token only
    assert _draw(torch, probs, ids, 0.01, torch.tensor([0.99])).item() == 7


def reference_nucleus(logits, temperature, top_p, u):
    """Sort the whole vocabulary, keep the nucleus, invert the renormalised CDF at u: one row, plain Python."""
    probs = torch.softmax(logits / temperature, dim=-1).tolist()
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    kept, before = [], 0.0
    for i in order:
        if before >= top_p:
            break
        kept.append(i)
        before += probs[i]
    total = sum(probs[i] for i in kept)
    running = 0.0
    for i in kept:
        running += probs[i]
        if running > u * total:
            return i
    return kept[-1]


@pytest.mark.parametrize("prefilter", [1, 3, 64])
def test_prefiltered_nucleus_is_exact(prefilter):
    """With a prefilter narrower than the nucleus, rows fall back to a full sort; the token is the same."""
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(200, 20, generator=generator) * 2
    uniforms = torch.rand(200, generator=generator)
    for temperature, top_p in ((1.0, 0.9), (0.7, 0.5), (1.3, 0.99)):
        tokens = nucleus_sample(torch, logits, temperature, top_p, uniforms, prefilter)
        expected = [reference_nucleus(logits[r], temperature, top_p, uniforms[r].item()) for r in range(200)]
        assert tokens.tolist() == expected


def test_length_batches_group_similar_lengths_within_the_budget():
    prompts = [[1] * n for n in (5, 50, 6, 48, 7)]
    batches = length_batches(prompts, rows_per_prompt=2, max_new_tokens=10, token_budget=120)
    # sorted by length: 5, 6, 7 fit together (3 x 2 x 17 = 102); 48 and 50 need 2 x 60 each: one per batch
    assert batches == [[0, 2, 4], [3], [1]]
    assert length_batches(prompts, 2, 10, 10_000, max_prompts=2) == [[0, 2], [4, 3], [1]]
    assert sorted(i for batch in length_batches(prompts, 11, 10, 1) for i in batch) == [0, 1, 2, 3, 4]


def test_row_seed_depends_on_seed_prompt_and_sample_only():
    assert row_seed(0, [1, 2, 3], 0) == row_seed(0, [1, 2, 3], 0)
    assert len({row_seed(0, [1, 2, 3], 0), row_seed(1, [1, 2, 3], 0), row_seed(0, [1, 2], 0),
                row_seed(0, [1, 2, 3], 1)}) == 4


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    """A random two-layer GPT-2 on the synthetic world's word-level tokenizer (its vocabulary: the words below)."""
    words = [f"w{i}" for i in range(60)]
    tokenizer = build_tokenizer(words)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    path = tmp_path_factory.mktemp("tiny_lm")
    GPT2LMHeadModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    prompts = [tokenizer(" ".join(words[i: i + 1 + i % 7]))["input_ids"] for i in range(24)]
    return path, tokenizer, prompts


SPEC = SamplingSpec(n=4, temperature=1.0, top_p=0.9, max_new_tokens=6, seed=3)


def test_samples_do_not_depend_on_batching_or_order(tiny_lm):
    path, _, prompts = tiny_lm
    one_batch = TransformersEngine(str(path)).generate(prompts, SPEC, progress=False)
    small = TransformersEngine(str(path), token_budget=5 * 16)
    many_batches = small.generate(prompts, SPEC, progress=False)
    reversed_order = small.generate(prompts[::-1], SPEC, progress=False)[::-1]
    assert one_batch == many_batches == reversed_order
    assert all(len(g.samples) == SPEC.n for g in one_batch)
    assert len({tuple(g.samples) for g in one_batch}) > 1
    other_seed = small.generate(prompts, SamplingSpec(**{**SPEC.__dict__, "seed": 4}), progress=False)
    assert [g.samples for g in other_seed] != [g.samples for g in one_batch]
    assert [g.greedy for g in other_seed] == [g.greedy for g in one_batch]


def test_greedy_answers_equal_generate(tiny_lm):
    path, tokenizer, prompts = tiny_lm
    engine = TransformersEngine(str(path))
    ours = engine.generate(prompts, SamplingSpec(n=0, max_new_tokens=6), progress=False)
    for prompt, generation in zip(prompts, ours):
        output = engine.model.generate(torch.tensor([prompt]), max_new_tokens=6, do_sample=False,
                                       pad_token_id=tokenizer.pad_token_id)
        assert generation.greedy == tokenizer.decode(output[0][len(prompt):], skip_special_tokens=True).strip()
        assert generation.samples == []


def test_stop_strings_end_answers(tiny_lm):
    path, tokenizer, prompts = tiny_lm
    engine = TransformersEngine(str(path))
    free = engine.generate(prompts, SPEC, progress=False)
    word = free[0].greedy.split()[1] if len(free[0].greedy.split()) > 1 else free[0].greedy
    stopped = engine.generate(prompts, SamplingSpec(**{**SPEC.__dict__, "stop": (word,)}), progress=False)
    assert all(word not in text for g in stopped for text in (g.greedy, *g.samples))
    assert stopped[0].greedy == free[0].greedy.split(word)[0].strip()


def test_a_budget_smaller_than_one_prompt_is_refused_by_key(tiny_lm):
    path, _, prompts = tiny_lm
    with pytest.raises(RaitError, match="engine_options.token_budget"):
        TransformersEngine(str(path), token_budget=20).generate(prompts, SPEC, progress=False)
    with pytest.raises(RaitError, match="token_budget must be a whole number"):
        TransformersEngine(str(path), token_budget=0)


def test_shards_cover_every_record_once():
    from rait.sampling import shard_count, shard_of

    records = list(range(10))
    assert [shard_of(records, i, 3) for i in range(3)] == [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]
    assert shard_of(records, 0, 1) == records and shard_of([], 0, 4) == []
    assert (shard_count(10, 3), shard_count(10, 10), shard_count(10, 50), shard_count(None, 5)) == (4, 1, 1, 1)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(RaitError, match="sampling.shard_size"):
            shard_count(10, bad)
    with pytest.raises(RaitError, match="shard 3 of 3"):
        shard_of(records, 3, 3)


def test_a_killed_sampling_run_resumes_from_its_part_file(tiny_lm, tmp_path, monkeypatch, caplog):
    """Batches are streamed to the part file as they finish; a rerun samples only what is missing, and the
    result equals an uninterrupted run's. A part file written with other settings is not reused."""
    import logging

    from rait.sampling import PartFile, sample_records
    from rait.sampling import transformers_engine as engine_module

    path, tokenizer, prompts = tiny_lm
    records = [{"id": f"q{i}", "question": tokenizer.decode(ids), "answers": ["x"]} for i, ids in enumerate(prompts)]
    kwargs = dict(engine="transformers", engine_options={"token_budget": 5 * 16}, templates={"open": "{question}"},
                  chat=False, spec=SPEC, progress=False)
    uninterrupted = sample_records(records, str(path), **kwargs)
    part = PartFile(tmp_path / ".out.jsonl.part", {"settings": 1})

    class Killed(Exception):
        pass

    real = engine_module.TransformersEngine._generate_batch
    calls = []

    def dies_on_third_batch(self, *args):
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        return real(self, *args)

    monkeypatch.setattr(engine_module.TransformersEngine, "_generate_batch", dies_on_third_batch)
    with pytest.raises(Killed):
        sample_records(records, str(path), part=part, **kwargs)
    monkeypatch.setattr(engine_module.TransformersEngine, "_generate_batch", real)
    kept = len(part.path.read_text().splitlines()) - 1
    assert 0 < kept < len(records)
    with part.path.open("a") as handle:
        handle.write('{"id": "q1", "prom')  # the line a kill cut short
    with caplog.at_level(logging.INFO, logger="rait.sampling"):
        resumed = sample_records(records, str(path), part=part, **kwargs)
    assert f"resuming: {kept} of {len(records)} questions already sampled" in caplog.text
    assert resumed == uninterrupted
    other = PartFile(part.path, {"settings": 2})
    assert other.load() == {}



SAMPLER = """
import json, logging, sys
from rait.io import write_jsonl
logging.basicConfig(level=logging.INFO)
from rait.sampling import PartFile, SamplingSpec, sample_records
model, questions, out = sys.argv[1:4]
records = [json.loads(line) for line in open(questions)]
part = PartFile.beside(out, {"spec": "kill test"}, [questions])
rows = sample_records(records, model, engine="transformers", engine_options={"batch_size": 1},
                      templates={"open": "{question}"}, chat=False, part=part, progress=False,
                      spec=SamplingSpec(n=4, temperature=1.0, top_p=0.9, max_new_tokens=6, seed=3))
write_jsonl(out, rows)
part.remove()
"""


def test_a_sampling_job_killed_with_sigkill_resumes_and_writes_the_same_bytes(tiny_lm, tmp_path):
    """A real kill: the job is a process, SIGKILLed once its part file holds some finished batches."""
    import json
    import signal
    import subprocess
    import sys
    import time

    path, tokenizer, prompts = tiny_lm
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"id": f"q{i}", "question": tokenizer.decode(prompts[i % len(prompts)]),
                                             "answers": ["x"]}) + "\n" for i in range(150)))

    def sampler(out):
        return [sys.executable, "-c", SAMPLER, str(path), str(questions), str(out)]

    subprocess.run(sampler(tmp_path / "whole.jsonl"), check=True, capture_output=True)
    out = tmp_path / "killed.jsonl"
    job = subprocess.Popen(sampler(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = lambda: list(tmp_path.glob(".killed.jsonl.part"))  # noqa: E731
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (parts() and len(parts()[0].read_text().splitlines()) > 10):
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not out.exists() and parts(), "the job finished before it was killed"
    done = len(parts()[0].read_text().splitlines()) - 1
    assert 10 <= done < 150
    rerun = subprocess.run(sampler(out), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    resumed = int(re.search(r"resuming: (\d+) of 150 questions already sampled", rerun.stderr)[1])
    assert resumed >= done - 1 > 0  # what the part file held (a line the kill cut short is sampled again)
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert not parts() and sorted(p.name for p in tmp_path.iterdir()) == ["killed.jsonl", "questions.jsonl",
                                                                           "whole.jsonl"]
