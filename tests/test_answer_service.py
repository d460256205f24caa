"""One engine per model for every method's answers (issue 26): the transformers engine switches between its base
and adapters over it with the weights load_causal_lm gives each, and a prediction job answered through the engine
service writes the predictions its own engine would have, byte for byte; a service that fails or dies is named,
not waited for."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

pytest.importorskip("peft")

from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

from rait import answer_service  # noqa: E402
from rait.adapters import read_adapter  # noqa: E402
from rait.answering import answer  # noqa: E402
from rait.checkpoints import load_causal_lm, write_adapter_checkpoint  # noqa: E402
from rait.errors import RaitError  # noqa: E402
from rait.io import read_jsonl, write_jsonl  # noqa: E402
from rait.sampling import load_base_engine  # noqa: E402
from rait.sampling.transformers_engine import TransformersEngine  # noqa: E402
from rait.synthetic import build_tokenizer  # noqa: E402

WORDS = [f"w{i}" for i in range(60)]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A random two-layer GPT-2 (the base) and three adapter checkpoints over it: two LoRA adapters on different
    modules, and one trained on another model (not servable over this base)."""
    from peft import LoraConfig, get_peft_model

    root = tmp_path_factory.mktemp("service")
    tokenizer = build_tokenizer(WORDS)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    paths = {}
    for name, seed in (("base", 0), ("other", 1)):
        torch.manual_seed(seed)
        paths[name] = root / name
        GPT2LMHeadModel(config).save_pretrained(paths[name])
        tokenizer.save_pretrained(paths[name])
    for name, base, seed, modules in (("a", "base", 2, ["c_attn", "c_proj"]), ("b", "base", 3, ["c_fc"]),
                                      ("foreign", "other", 4, ["c_fc"])):
        torch.manual_seed(seed)
        peft_model = get_peft_model(GPT2LMHeadModel.from_pretrained(paths[base]),
                                    LoraConfig(r=4, lora_alpha=8, target_modules=modules, fan_in_fan_out=True,
                                               init_lora_weights=False))
        peft_model.save_pretrained(root / f"{name}_peft")
        paths[name] = root / name
        paths[name].mkdir()
        write_adapter_checkpoint(read_adapter(root / f"{name}_peft"), str(paths[base]), paths[name])
        tokenizer.save_pretrained(paths[name])
    return {name: str(path) for name, path in paths.items()}


def logits(model) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([[3, 7, 11, 19, 23, 5]])).logits


def test_the_engine_switches_between_adapters_with_the_weights_each_loads_with(checkpoints):
    engine = TransformersEngine(checkpoints["base"])
    expected = {name: logits(load_causal_lm(checkpoints[name], dtype="auto")) for name in ("base", "a", "b")}
    assert (expected["a"] - expected["base"]).abs().max() > 1e-3 and (expected["b"] - expected["a"]).abs().max() > 1e-3
    for name in ("a", "b", "base", "b", "a", "a", "base"):
        engine.use(checkpoints[name])
        assert torch.equal(logits(engine.model), expected[name]), name  # bitwise: merged exactly as loaded alone
    for name in ("other", "foreign"):
        with pytest.raises(RaitError, match="cannot serve"):
            engine.use(checkpoints[name])
    # an engine of one job loaded from an adapter takes the same steps: its base, then the adapter merged in
    alone = TransformersEngine(checkpoints["b"])
    assert torch.equal(logits(alone.model), expected["b"])
    alone.use(checkpoints["base"])
    assert torch.equal(logits(alone.model), expected["base"])


def params(weights: str, strategy: str = "greedy") -> dict:
    return dict(weights=weights, engine="transformers", engine_options={"token_budget": 512}, gpus=0, chat=False,
                system=None, templates={"open": "{question}"}, strategy=strategy, answer={}, checkpoints={},
                sampling={"n": 0, "temperature": 1.0, "top_p": 0.9, "max_new_tokens": 6, "seed": 3, "stop": []})


@pytest.fixture
def service(checkpoints, tmp_path):
    """The engine service over the base, in a thread, as rule serve_engine runs it."""
    address = tmp_path / "engine.json"
    stop = threading.Event()
    thread = threading.Thread(target=answer_service.serve, daemon=True, kwargs=dict(
        address=address, load=lambda: load_base_engine(answer_service.params_of({"params": params(checkpoints["base"])})),
        answer=answer_service.answer_job, stop=stop))
    thread.start()
    yield address
    stop.set()
    thread.join(timeout=10)


def test_jobs_answered_through_the_service_write_what_their_own_engine_would(checkpoints, service, tmp_path, caplog):
    caplog.set_level(logging.INFO)  # as rait.workflow.run sets it in the service's job
    questions = tmp_path / "test.jsonl"
    write_jsonl(questions, [{"id": f"q{i}", "question": " ".join(WORDS[i:i + 3]), "answers": ["x"]} for i in range(12)])
    jobs = {name: dict(params=params(checkpoints[name]), questions=str(questions),
                       output=str(tmp_path / f"{name}.jsonl"), log=str(tmp_path / f"{name}.log"))
            for name in ("a", "b", "base", "foreign")}
    replies, errors = {}, {}

    def ask(name):  # the jobs of a group ask at once; the service answers them in turn
        try:
            replies[name] = answer_service.answer_through(service, jobs[name])
        except RaitError as err:
            errors[name] = str(err)

    threads = [threading.Thread(target=ask, args=(name,)) for name in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(replies) == ["a", "b", "base"] and all(reply["ok"] for reply in replies.values())
    assert "could not answer" in errors["foreign"] and "cannot serve" in errors["foreign"]
    assert not Path(jobs["foreign"]["output"]).exists()  # nothing half-written for a later run to trust
    for name in ("a", "b", "base"):
        alone = tmp_path / f"{name}_alone.jsonl"
        answer(answer_service.params_of(jobs[name]), str(questions), str(alone))
        assert Path(jobs[name]["output"]).read_bytes() == alone.read_bytes(), name
        assert "answered" in Path(jobs[name]["log"]).read_text()  # the service logs into the job's own log
    assert len({Path(jobs[name]["output"]).read_bytes() for name in ("a", "b", "base")}) == 3
    assert read_jsonl(jobs["a"]["output"])[0]["id"] == "q0"


def test_rtunings_follow_up_scores_on_the_answering_engine_not_a_second_load(checkpoints, service, tmp_path,
                                                                            monkeypatch):
    """R-Tuning's follow-up (strategy followup_sure) scores with the transformers engine that answered, through
    the service and on a job's own engine alike: neither loads the checkpoint again, and the confidences are those
    of the checkpoint loaded alone (rait.followup.FollowUp), the predictions byte for byte the same on both paths."""
    from rait import checkpoints as checkpoint_module
    from rait.followup import FollowUp

    wording = {"followup": "w1 w2", "prefix": "w3", "sure": "w4", "unsure": "w5", "answer_weight": 0.5}
    questions = tmp_path / "test.jsonl"
    records = [{"id": f"q{i}", "question": " ".join(WORDS[i:i + 3]), "answers": ["x"]} for i in range(8)]
    write_jsonl(questions, records)
    job = dict(params={**params(checkpoints["a"], "followup_sure"), "answer": wording}, questions=str(questions),
               output=str(tmp_path / "served.jsonl"), log=str(tmp_path / "served.log"))

    def second_load(*args, **kwargs):
        raise AssertionError("the follow-up loaded the checkpoint again")

    monkeypatch.setattr(checkpoint_module, "load_causal_lm", second_load)
    assert answer_service.answer_through(service, job)["ok"]
    own = tmp_path / "own.jsonl"
    answer(answer_service.params_of(job), str(questions), str(own))
    monkeypatch.undo()
    assert Path(job["output"]).read_bytes() == own.read_bytes()
    predictions = read_jsonl(own)
    alone = FollowUp(checkpoints["a"], chat=False).confidences(
        [record["question"] for record in records], [p["answer"] for p in predictions], wording, 0.5)
    assert [p["confidence"] for p in predictions] == [c["confidence"] for c in alone]
    assert len({p["confidence"] for p in predictions}) > 1


def test_a_service_that_fails_to_load_is_named_by_the_waiting_job(tmp_path):
    address = tmp_path / "engine.json"

    def broken():
        raise RaitError("no GPU here")

    with pytest.raises(RaitError, match="no GPU here"):
        answer_service.serve(address, broken, answer_service.answer_job)
    with pytest.raises(RaitError, match="failed to start .*no GPU here.*serve.log"):
        answer_service.answer_through(address, {"output": "x"}, "serve.log")


def test_a_service_that_died_while_loading_is_not_waited_for(tmp_path, monkeypatch):
    address = tmp_path / "engine.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    answer_service.write_state(address, {"state": "starting"})
    state = answer_service.read_state(address)
    assert state["pid"] == os.getpid() and state["state"] == "starting"
    address.write_text(address.read_text().replace(str(os.getpid()), dead.stdout.strip()))
    monkeypatch.setattr(answer_service, "STALE_GRACE_S", 0.5)
    with pytest.raises(RaitError, match="is gone before it answered; see serve.log"):
        answer_service.answer_through(address, {"output": "x"}, "serve.log")


def test_a_job_answered_before_is_answered_from_the_cache_until_what_it_reads_changes(tmp_path):
    """A failed job fails its group and Snakemake removes every prediction the group wrote: the service answers
    a job it answered before from its cache, until the job's settings or files change."""
    calls = []

    def answer(job, engine):
        calls.append(job["output"])
        write_jsonl(job["output"], [{"id": "q0", "answer": f"call {len(calls)}"}])

    address, stop = tmp_path / "engines" / "m.json", threading.Event()
    thread = threading.Thread(target=answer_service.serve, daemon=True,
                              kwargs=dict(address=address, load=lambda: "engine", answer=answer, stop=stop))
    thread.start()
    questions, checkpoint, output = tmp_path / "test.jsonl", tmp_path / "ckpt", tmp_path / "out.jsonl"
    questions.write_text("{}\n")
    checkpoint.mkdir()
    job = {"params": {"weights": str(checkpoint)}, "questions": str(questions), "inputs": [str(checkpoint)],
           "output": str(output), "log": None}
    try:
        answer_service.answer_through(address, job)
        output.unlink()  # the group failed: Snakemake removed it
        answer_service.answer_through(address, job)
        assert len(calls) == 1 and read_jsonl(output) == [{"id": "q0", "answer": "call 1"}]
        later = checkpoint.stat().st_mtime + 10
        os.utime(checkpoint, (later, later))  # retrained
        answer_service.answer_through(address, job)
        answer_service.answer_through(address, {**job, "params": {"weights": str(checkpoint), "seed": 1}})
        assert len(calls) == 3 and read_jsonl(output) == [{"id": "q0", "answer": "call 3"}]
        assert len(list(answer_service.cache_dir_of(address).iterdir())) == 3
    finally:
        stop.set()
        thread.join(timeout=10)


def test_a_job_on_its_own_engine_goes_through_the_models_answer_cache(tmp_path, monkeypatch):
    """A prediction that does not read the service (a stage trained in full, evaluation.shared_engine off) loads
    its own engine only when the model's answer cache lacks the job: a rerun for nothing its answers depend on is a
    copy; a retrained checkpoint answers afresh. The service and a job's own engine share the cache (one key)."""
    import rait.answering

    calls = []

    def fake_answer(params, questions, output):
        calls.append(params.weights)
        write_jsonl(output, [{"id": "q0", "answer": f"call {len(calls)}"}])

    monkeypatch.setattr(rait.answering, "answer", fake_answer)
    questions, checkpoint, output = tmp_path / "test.jsonl", tmp_path / "ckpt", tmp_path / "out.jsonl"
    questions.write_text("{}\n")
    checkpoint.mkdir()
    cache = tmp_path / "engines" / "m.answered"
    job = {"params": {"weights": str(checkpoint)}, "questions": str(questions), "inputs": [str(checkpoint)],
           "output": str(output), "log": None}
    answer_service.answer_on_own_engine(job, cache)
    output.unlink()
    answer_service.answer_on_own_engine(job, cache)
    assert calls == [str(checkpoint)] and read_jsonl(output) == [{"id": "q0", "answer": "call 1"}]
    assert [path.name for path in cache.iterdir()] == [f"{answer_service.cache_key(job)}.jsonl"]
    later = checkpoint.stat().st_mtime + 10
    os.utime(checkpoint, (later, later))  # retrained
    answer_service.answer_on_own_engine(job, cache)
    assert len(calls) == 2 and read_jsonl(output) == [{"id": "q0", "answer": "call 2"}]
