"""rait.training on a tiny GPT-2 with a word-level tokenizer: a few optimizer steps per test, CPU only."""

from __future__ import annotations

import os
import json
import math
import re
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel  # noqa: E402

from rait import launch, training  # noqa: E402
from rait.training import common, cut, dpo, grpo, reward, rloo, sft  # noqa: E402
from rait.training.common import whole_run_loss  # noqa: E402
from rait.errors import BAD_INPUT_EXIT, RaitError  # noqa: E402
from rait.training.common import PRECISION_ENV, make_config, precision_hparams  # noqa: E402
from trl import SFTConfig  # noqa: E402
from rait.synthetic import build_tokenizer  # noqa: E402

CHAT_TEMPLATE = (
    "{% for m in messages %}"
    "{% if m['role'] == 'assistant' %}assistant : {{ m['content'] }}{{ eos_token }}\n"
    "{% else %}{{ m['role'] }} : {{ m['content'] }}\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}assistant :{% endif %}"
)

CITIES = ["Zorania", "Quessik", "Brandor", "Velmark", "Tholgrad", "Drissa", "Kreivale", "Moutron", "Saelbrin",
          "Pyrrholm"]
CAPITALS = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta", "Eta", "Theta", "Iota", "Kappa"]
IDK = "I don't know."

FAST = {"per_device_train_batch_size": 4, "logging_steps": 1, "gradient_checkpointing": False,
        "lr_scheduler_type": "constant", "warmup_steps": 0}


def sft_records(n: int = 20) -> list[dict]:
    records = []
    for i in range(n):
        city = CITIES[i % len(CITIES)]
        kind = "capital" if i < len(CITIES) else "mayor"
        target = f"{CAPITALS[i % len(CAPITALS)]}." if kind == "capital" else IDK
        records.append({"id": f"q{i}", "prompt": f"Q: What is the {kind} of {city}?\nA:", "target": target,
                        "kind": "known" if kind == "capital" else "unknown"})
    return records


def dpo_records(n: int = 8) -> list[dict]:
    records = []
    for record in sft_records(n):
        records.append({"id": record["id"], "prompt": record["prompt"], "chosen": record["target"],
                        "rejected": IDK if record["target"] != IDK else "Alpha."})
    return records


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: these models are tiny, and the CI machine's 2 cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A 2-layer, 64-wide GPT-2 and a word-level tokenizer with a minimal chat template."""
    texts = [r["prompt"] + " " + r["target"] for r in sft_records()] + ["system user assistant : Be brief."]
    tokenizer = build_tokenizer(texts)
    tokenizer.chat_template = CHAT_TEMPLATE
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=64, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    path = tmp_path_factory.mktemp("tiny") / "base"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def sft_full(tiny_model, tmp_path_factory):
    """Full fine-tuning on the plain format; its output is the start of the DPO tests."""
    out = tmp_path_factory.mktemp("sft_full") / "model"
    stats = sft.train(tiny_model, sft_records(), out, chat=False, lora=None,
                               hparams={**FAST, "learning_rate": 3e-3, "max_steps": 10}, log=None)
    return out, stats


def state(path) -> dict:
    return {k: v.clone() for k, v in AutoModelForCausalLM.from_pretrained(path).state_dict().items()}


def changed(before: dict, after: dict) -> bool:
    return any(not torch.equal(before[k], after[k]) for k in before)


def assert_plain_checkpoint(out: Path) -> None:
    names = {p.name for p in out.iterdir()}
    assert "config.json" in names and "model.safetensors" in names and training.STATS_FILE in names
    assert not any(name.startswith("adapter") for name in names), names  # LoRA merged, no adapter files
    assert not any(p.name.startswith(f".{out.name}.") for p in out.parent.iterdir())  # no scratch left beside it
    AutoModelForCausalLM.from_pretrained(out)
    AutoTokenizer.from_pretrained(out)
    assert_log_history(out)


def assert_log_history(out: Path, logging_steps: int = 1) -> list[dict]:
    """The checkpoint keeps the trainer's log history: a loss at every logged step up to the last one."""
    history = [json.loads(line) for line in (out / training.LOG_HISTORY_FILE).read_text().splitlines()]
    steps = json.loads((out / training.STATS_FILE).read_text())["steps"]
    logged = [entry["step"] for entry in history if "loss" in entry]
    assert logged == list(range(logging_steps, steps + 1, logging_steps)), (logged, steps)
    assert all(math.isfinite(entry["loss"]) for entry in history if "loss" in entry)
    return history


def test_sft_full_finetuning(tiny_model, sft_full):
    out, stats = sft_full
    assert_plain_checkpoint(out)
    assert stats["trainable_params"] == stats["total_params"] > 0
    assert stats["steps"] == 10 and stats["n_examples"] == 20 and stats["lora"] is False
    assert stats["last_logged_loss"] < stats["first_logged_loss"]
    assert changed(state(tiny_model), state(out))
    assert json.loads((out / training.STATS_FILE).read_text())["train_loss"] == stats["train_loss"]


def test_log_history_kept_with_the_checkpoint_covers_every_step_the_log_reported(tiny_model, tmp_path):
    lines = []
    out = tmp_path / "model"
    stats = sft.train(tiny_model, sft_records(), out, chat=False, lora=None,
                      hparams={**FAST, "max_steps": 6, "logging_steps": 2}, log=lines.append)
    history = assert_log_history(out, logging_steps=2)
    reported = [int(match[1]) for match in (re.search(r": step (\d+)/6\b.*: loss ", line) for line in lines) if match]
    assert reported == [entry["step"] for entry in history if "loss" in entry] == [2, 4, 6]
    assert [entry["loss"] for entry in history if "loss" in entry][-1] == stats["last_logged_loss"]
    # where the job is, in its log: the step, the share done, the rate and the time left
    assert any("step 4/6 (67%)" in line and "s/step" in line and " left" in line for line in lines), lines


def test_tensorboard_event_files_are_kept_with_the_checkpoint(tiny_model, sft_full, tmp_path):
    """report_to: tensorboard writes under the scratch folder's runs/, which goes: save_final keeps a copy."""
    trained, _ = sft_full
    runs = tmp_path / "runs" / "Nov29_host"
    runs.mkdir(parents=True)
    (runs / "events.out.tfevents.1").write_bytes(b"event")
    out = tmp_path / "kept"
    training.save_final(tiny_model, trained, out, AutoTokenizer.from_pretrained(trained), lora=False, stats={},
                        log_history=[{"step": 1, "loss": 1.0}], tensorboard=tmp_path / "runs")
    assert (out / training.TENSORBOARD_DIR / "Nov29_host" / "events.out.tfevents.1").read_bytes() == b"event"
    assert (out / training.LOG_HISTORY_FILE).read_text() == '{"step": 1, "loss": 1.0}\n'


def test_sft_lora_is_merged(tiny_model, tmp_path):
    out = tmp_path / "model"
    stats = sft.train(tiny_model, sft_records(), out, chat=False, lora={"r": 4, "alpha": 8, "dropout": 0.0},
                               hparams={**FAST, "learning_rate": 1e-2, "max_steps": 8}, log=None)
    assert_plain_checkpoint(out)
    assert 0 < stats["trainable_params"] < stats["total_params"]
    assert stats["last_logged_loss"] < stats["first_logged_loss"]
    before, after = state(tiny_model), state(out)
    assert before.keys() == after.keys()  # a plain GPT-2, no lora_A/lora_B weights
    assert changed(before, after)


def test_merged_checkpoint_computes_what_the_adapter_did(tiny_model, tmp_path):
    """The saved model is base + LoRA merged: same logits as the PEFT model, in the base's dtype."""
    from peft import get_peft_model

    config = training.lora_config({"r": 4, "dropout": 0.0, "init_lora_weights": False})  # random B: a real change
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model), config).eval()
    stage = tmp_path / "stage"
    peft_model.save_pretrained(stage)
    out = tmp_path / "merged"
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    training.save_final(str(tiny_model), stage, out, tokenizer, lora=True, stats={})
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    ids = torch.tensor([tokenizer(sft_records()[0]["prompt"])["input_ids"]])
    with torch.no_grad():
        expected, got = peft_model(input_ids=ids).logits, merged(input_ids=ids).logits
        base = AutoModelForCausalLM.from_pretrained(tiny_model).eval()(input_ids=ids).logits
    assert not torch.allclose(expected, base, atol=1e-3)
    assert torch.allclose(expected, got, atol=1e-5)
    assert merged.dtype == torch.float32 and merged.config.use_cache


def test_sft_chat_with_system(tiny_model, tmp_path):
    out = tmp_path / "model"
    messages = []
    stats = sft.train(tiny_model, sft_records(8), out, chat=True, system="Be brief.", lora={"r": 4},
                               hparams={**FAST, "max_steps": 2}, log=messages.append)
    assert_plain_checkpoint(out)
    assert stats["steps"] == 2
    assert any("loss" in m for m in messages)
    assert AutoTokenizer.from_pretrained(out).chat_template == CHAT_TEMPLATE


def collated(trainer, n: int = 3):
    """(input ids, index of the first labelled token, labelled ids) per example of a collated batch."""
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(n)])
    rows = []
    for ids, labels, mask in zip(batch["input_ids"], batch["labels"], batch["attention_mask"]):
        assert (labels[mask == 0] == -100).all()  # padding never counts
        assert torch.equal(labels[labels != -100], ids[labels != -100])
        first = int((labels != -100).nonzero()[0])
        assert (labels[first:][mask[first:] == 1] != -100).all()  # one contiguous labelled span to the end
        rows.append((ids[mask == 1].tolist(), first, labels[labels != -100].tolist()))
    return rows


@pytest.mark.parametrize("chat", [False, True])
def test_sft_loss_on_answer_only(tiny_model, tmp_path, chat):
    records = sft_records()
    trainer = sft.build_trainer(tiny_model, records, tmp_path / "work", chat=chat, system="Be brief.",
                                         lora=None, hparams=FAST, log=None)
    assert trainer.args.completion_only_loss is True and trainer.args.report_to in ([], "none", ["none"])
    tokenizer = trainer.processing_class
    eos = tokenizer.eos_token_id
    for record, (ids, first, kept) in zip(records, collated(trainer)):
        if chat:
            messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": record["prompt"]}]
            prompt_ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                       return_dict=True)["input_ids"]
        else:
            prompt_ids = tokenizer(record["prompt"])["input_ids"]
        # exactly the prompt (as the sampler renders it at inference) is masked out of the loss
        assert ids[: len(prompt_ids)] == prompt_ids and first == len(prompt_ids)
        assert eos in kept  # the model learns to stop (a chat template may add a newline after it)
        assert tokenizer.decode(kept[: kept.index(eos)]).strip() == record["target"]
        assert chat or kept[-1] == eos


def test_dpo_lora_from_sft(sft_full, tmp_path):
    start, _ = sft_full
    out = tmp_path / "dpo"
    trainer = dpo.build_trainer(start, dpo_records(), tmp_path / "work", chat=False, lora={"r": 4},
                                         hparams=FAST, beta=0.2, sft_weight=0.05, log=None)
    assert trainer.args.loss_type == ["sigmoid", "sft"] and trainer.args.loss_weights == [1.0, 0.05]
    assert trainer.args.beta == 0.2 and trainer.ref_model is None  # the reference is the base, adapters off
    del trainer
    stats = dpo.train(start, dpo_records(), out, chat=False, lora={"r": 4},
                               hparams={**FAST, "learning_rate": 1e-2, "max_steps": 3}, log=None)
    assert_plain_checkpoint(out)
    assert stats["method"] == "dpo" and stats["beta"] == 0.1 and stats["sft_weight"] == 0.01
    assert stats["steps"] == 3
    assert changed(state(start), state(out))


def test_dpo_full_chat(sft_full, tmp_path):
    start, _ = sft_full
    out = tmp_path / "dpo"
    stats = dpo.train(start, dpo_records(4), out, chat=True, lora=None, sft_weight=0,
                               hparams={**FAST, "learning_rate": 1e-3, "max_steps": 1}, log=None)
    assert_plain_checkpoint(out)
    assert stats["trainable_params"] == stats["total_params"]


def test_errors(tiny_model, tmp_path):
    out = tmp_path / "model"
    kwargs = {"chat": False, "lora": None, "log": None}
    with pytest.raises(RaitError, match="learning_rat"):
        sft.train(tiny_model, sft_records(), out, hparams={"learning_rat": 1e-4}, **kwargs)
    with pytest.raises(RaitError, match="output_dir"):
        sft.train(tiny_model, sft_records(), out, hparams={"output_dir": "x"}, **kwargs)
    with pytest.raises(RaitError, match="no training records"):
        sft.train(tiny_model, [], out, hparams={}, **kwargs)
    with pytest.raises(RaitError, match="'q3'.*target"):
        records = sft_records()
        del records[3]["target"]
        sft.train(tiny_model, records, out, hparams={}, **kwargs)
    with pytest.raises(RaitError, match="'q1'.*rejected"):
        records = dpo_records()
        records[1]["rejected"] = ""
        dpo.train(tiny_model, records, out, hparams={}, **kwargs)
    with pytest.raises(RaitError, match="rank"):
        sft.train(tiny_model, sft_records(), out, hparams={}, chat=False, lora={"rank": 4}, log=None)
    with pytest.raises(RaitError, match="bf16"):
        sft.train(tiny_model, sft_records(), out, hparams={"bf16": "yes"}, **kwargs)
    with pytest.raises(RaitError, match="bad hparams"):  # rejected by SFTConfig
        sft.train(tiny_model, sft_records(), out, hparams={"lr_scheduler_type": "sideways"}, **kwargs)
    with pytest.raises(RaitError, match="TRL rejected"):  # by SFTTrainer, once the scratch folder exists
        sft.train(tiny_model, sft_records(), out, hparams={"packing": True, "max_length": None}, **kwargs)
    with pytest.raises(RaitError, match="cannot load the tokenizer"):
        sft.train(tmp_path / "missing", sft_records(), out, hparams={}, **kwargs)
    assert list(tmp_path.iterdir()) == []  # neither out_dir nor scratch left behind


def test_chat_needs_template(tmp_path, tiny_model):
    plain = tmp_path / "plain"
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.chat_template = None
    tokenizer.save_pretrained(plain)
    AutoModelForCausalLM.from_pretrained(tiny_model).save_pretrained(plain)
    with pytest.raises(RaitError, match="chat template"):
        sft.train(plain, sft_records(), tmp_path / "out", chat=True, lora=None, hparams={}, log=None)


def test_accelerate_command():
    one = launch.accelerate_command(1, "config/deepspeed/zero3.json")
    assert one[1:3] == ["-m", "accelerate.commands.launch"]
    assert one[3:] == ["--num_processes", "1", "--num_machines", "1", "--mixed_precision", "bf16",
                       "--dynamo_backend", "no"]  # one GPU: no DeepSpeed
    four = launch.accelerate_command(4, "config/deepspeed/zero3.json")
    assert four[3:5] == ["--num_processes", "4"] and "bf16" in four
    assert four[-5:] == ["--use_deepspeed", "--deepspeed_config_file", "config/deepspeed/zero3.json",
                         "--zero3_init_flag", "true"]
    for bad in (-1, 0, True, 1.5):
        with pytest.raises(RaitError):
            launch.accelerate_command(bad, "x")


ARGV = ["sft", "--model", "m", "--data", "d.jsonl", "--out", "o", "--options", '{"chat": true}']
INNER = [*ARGV, "--save-steps", "0", "--precision", "auto"]  # what a launcher's processes are given


@pytest.fixture
def launched(monkeypatch):
    """subprocess.run recorded instead of run; no launcher or SLURM variables inherited from the test's shell."""
    import subprocess

    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command: calls.append(command) or subprocess.CompletedProcess(command, 0))
    for key in ("LOCAL_RANK", "SLURM_JOB_ID", "SLURM_NODEID", "SLURM_NNODES", "SLURM_STEP_NODELIST",
                "SLURM_JOB_NODELIST", "RAIT_CPU_FALLBACK"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(PRECISION_ENV, "auto")  # main() sets it for its processes; restored after the test
    return calls


def test_relaunch_under_accelerate(monkeypatch, launched):
    import sys

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)  # a 4-GPU node
    assert training.main([*ARGV, "--gpus", "4", "--deepspeed", "ds dir/zero3.json"]) == 0
    assert launched == [[sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "4", "--num_machines",
                         "1", "--mixed_precision", "bf16", "--dynamo_backend", "no", "--use_deepspeed",
                         "--deepspeed_config_file", "ds dir/zero3.json", "--zero3_init_flag", "true",
                         "-m", "rait.training", *INNER]]
    assert training.main([*ARGV, "--gpus", "1"]) == BAD_INPUT_EXIT  # one GPU: trains in-process (here: no model "m")
    assert len(launched) == 1
    for gpus in ("0", "1"):  # no launcher: this process trains
        assert training.launch_command(training.build_parser().parse_args([*ARGV, "--gpus", gpus])) is None


def test_the_models_precision_reaches_accelerate_and_the_trainer(monkeypatch, launched):
    """fp16 for GPUs without bf16 (V100s), fp32, bf16; "auto" picks fp16 on a GPU without bf16."""
    import sys

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert training.main([*ARGV, "--gpus", "2", "--precision", "fp16"]) == 0
    assert launched[-1][:9] == [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "2",
                                "--num_machines", "1", "--mixed_precision", "fp16"]
    assert launched[-1][-2:] == ["--precision", "fp16"]  # each process knows it too
    assert launch.mixed_precision("fp32") == "no" and launch.mixed_precision("bf16") == "bf16"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert launch.mixed_precision("auto") == "fp16"
    assert precision_hparams("fp16", {}, "sft") == {"bf16": False, "fp16": True}
    assert precision_hparams("fp32", {"bf16": "auto"}, "sft") == {"bf16": False, "fp16": False}
    assert precision_hparams("auto", {"bf16": True}, "sft") == {}
    with pytest.raises(RaitError, match=r"sft: hparams bf16: True contradicts the model's precision fp16 \(config key models.<model>.precision\)"):
        precision_hparams("fp16", {"bf16": True}, "sft")
    with pytest.raises(RaitError, match="models.<model>.precision"):
        precision_hparams("fp8", {}, "sft")


def test_the_most_gpus_a_node_has_is_read_from_sinfo_lines():
    lines = ["gpu:4", "gpu:a100:8(S:0-1)", "gpu:v100:2,shard:8", "(null)", "gpu:h100:4(S:0)"]
    assert launch.max_gpus_per_node(lines) == 8
    assert launch.max_gpus_per_node(lines, "v100") == 2 and launch.max_gpus_per_node(lines, "h100") == 4
    assert launch.max_gpus_per_node(["(null)"]) == 0 and launch.max_gpus_per_node(lines, "a40") == 0


def test_fp32_precision_trains_without_mixed_precision(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    args = make_config(SFTConfig, {"learning_rate": 1e-3}, {"output_dir": str(tmp_path)}, "sft")
    assert args.bf16 is False and args.fp16 is False
    monkeypatch.setenv(PRECISION_ENV, "bf16")
    with pytest.raises(RaitError, match="contradicts"):
        make_config(SFTConfig, {"fp16": True}, {"output_dir": str(tmp_path)}, "sft")


def test_multi_node_job_starts_one_task_per_node_with_srun(monkeypatch, launched, caplog):
    import sys

    assert training.main([*ARGV, "--gpus", "8", "--nodes", "2"]) == BAD_INPUT_EXIT  # not a SLURM job: refused by config key
    assert "models.<model>.nodes" in caplog.text and not launched
    monkeypatch.setenv("SLURM_JOB_ID", "4242")
    assert training.main([*ARGV, "--gpus", "8", "--nodes", "2", "--deepspeed", "z3.json"]) == 0
    assert launched == [["srun", "--nodes", "2", "--ntasks", "2", "--ntasks-per-node", "1", "--whole",
                         "--kill-on-bad-exit=1", sys.executable, "-m", "rait.training", *INNER, "--gpus", "8",
                         "--nodes", "2", "--deepspeed", "z3.json", "--precision", "auto", "--node-task"]]


@pytest.fixture
def second_node(monkeypatch):
    """The variables srun sets in the task on node 1 of a two-node step, and scontrol's answers about it."""
    answers = {("show", "hostnames", "gpu[07-08]"): "gpu07\ngpu08\n",
               ("show", "node", "-o", "gpu07"): "NodeName=gpu07 Arch=x86_64 NodeAddr=10.1.0.7 NodeHostName=gpu07"}
    monkeypatch.setattr(launch, "_scontrol", lambda *args: answers[args])
    for key, value in {"SLURM_JOB_ID": "123456", "SLURM_NODEID": "1", "SLURM_NNODES": "2",
                       "SLURM_STEP_NODELIST": "gpu[07-08]"}.items():
        monkeypatch.setenv(key, value)


def test_node_task_joins_the_first_node(monkeypatch, launched, second_node):
    import sys

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    assert training.main([*ARGV, "--gpus", "8", "--nodes", "2", "--deepspeed", "z3.json", "--node-task"]) == 0
    assert launched == [[sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "16",
                         "--num_machines", "2", "--mixed_precision", "bf16", "--dynamo_backend", "no",
                         "--machine_rank", "1", "--main_process_ip", "10.1.0.7", "--main_process_port",
                         str(29500 + 123456 % 10000), "--use_deepspeed", "--deepspeed_config_file", "z3.json",
                         "--zero3_init_flag", "true", "--deepspeed_multinode_launcher", "standalone",
                         "-m", "rait.training", *INNER]]
    # the step has another node count than the model asks for
    assert training.main([*ARGV, "--gpus", "8", "--nodes", "3", "--node-task"]) == BAD_INPUT_EXIT


def test_node_task_without_cuda_trains_on_cpus_only_when_allowed(monkeypatch, launched, second_node):
    import sys

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert training.main([*ARGV, "--gpus", "1", "--nodes", "2", "--node-task"]) == BAD_INPUT_EXIT
    monkeypatch.setenv("RAIT_CPU_FALLBACK", "1")
    assert training.main([*ARGV, "--gpus", "1", "--nodes", "2", "--node-task"]) == 0
    assert launched == [[sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc_per_node", "1",
                         "--node_rank", "1", "--master_addr", "10.1.0.7", "--master_port", str(29500 + 3456),
                         "-m", "rait.training", *INNER]]


ONE_THREAD_NO_GPU = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}


def two_process_training(model, data: Path, out: Path, hparams: dict, *, save_steps: int, port: int) -> list[str]:
    """What each node runs under the CPU fallback: torchrun, two processes on this machine, one SFT job."""
    import sys

    options = {"chat": False, "lora": None, "hparams": {**FAST, **hparams}}
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
            "--master_addr", "127.0.0.1", "--master_port", str(port), "-m", "rait.training", "sft", "--model",
            str(model), "--data", str(data), "--out", str(out), "--options", json.dumps(options),
            "--save-steps", str(save_steps)]


def test_two_cpu_processes_train_one_model(tiny_model, tmp_path):
    """What each node runs under the CPU fallback, on one machine: two processes, one gloo group, one
    checkpoint written once by the main process, every example seen once per epoch across the two."""
    import subprocess

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sft_records(16)))
    out = tmp_path / "model"
    # each save asks the main process whether a newer job claimed the output
    command = two_process_training(tiny_model, data, out, {"num_train_epochs": 1}, save_steps=1, port=29411)
    result = subprocess.run(command, capture_output=True, text=True, env=ONE_THREAD_NO_GPU, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = json.loads((out / training.STATS_FILE).read_text())
    assert stats["world_size"] == 2
    assert stats["steps"] == 2  # 16 examples, 4 per process and step, 2 processes
    assert_plain_checkpoint(out)


def test_deepspeed_config():
    config = json.loads((Path(__file__).resolve().parents[1] / "config" / "deepspeed" / "zero3.json").read_text())
    zero = config["zero_optimization"]
    assert zero["stage"] == 3 and zero["stage3_gather_16bit_weights_on_model_save"] is True
    assert config["bf16"]["enabled"] == "auto" and config["train_micro_batch_size_per_gpu"] == "auto"


def test_command_line(tiny_model, tmp_path, capsys):
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sft_records(8)))
    out = tmp_path / "model"
    options = {"chat": False, "lora": {"r": 2}, "hparams": {**FAST, "max_steps": 1}, "seed": 1}
    assert training.main(["sft", "--model", str(tiny_model), "--data", str(data), "--out", str(out),
                          "--options", json.dumps(options)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["seed"] == 1
    assert_plain_checkpoint(out)
    assert training.main(["sft", "--model", str(tiny_model), "--data", str(data), "--out", str(out),
                          "--options", json.dumps({**options, "betta": 1})]) == BAD_INPUT_EXIT


def test_more_gpus_than_the_machine_has_is_refused_by_key(tmp_path, capsys):
    import torch

    from rait.training import main

    wanted = torch.cuda.device_count() + 1
    code = main(["sft", "--gpus", str(wanted), "--model", "x", "--data", "x", "--out", str(tmp_path / "out")])
    assert code == BAD_INPUT_EXIT
    assert not (tmp_path / "out").exists()


def test_cpu_fallback_is_opt_in_and_said(monkeypatch, caplog):
    import torch

    from rait.errors import RaitError
    from rait.training import check_gpus

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.delenv("RAIT_CPU_FALLBACK", raising=False)
    with pytest.raises(RaitError, match=r"models.<model>.gpus"):
        check_gpus(1)
    monkeypatch.setenv("RAIT_CPU_FALLBACK", "1")
    assert check_gpus(2) == 0
    assert "training on the CPU" in caplog.text
    assert check_gpus(0) == 0


# ---- CUT ----------------------------------------------------------------------------------------------------


def test_cut_unlikelihood_term_by_hand():
    """Two response tokens of a judged answer. Token 1: p 0.5 with the judgment, 0.25 without: ratio 2 > 1.1, so
    the unlikelihood loss -w log(1 - 0.25). Token 2: 0.2 with, 0.4 without: ratio 0.5, the likelihood loss
    -log 0.4. The term is their mean."""
    import math

    term = cut.unlikelihood_term(torch.tensor([0.5, 0.2]), torch.tensor([0.25, 0.4]), threshold=1.1, weight=0.5)
    assert term.item() == pytest.approx((-0.5 * math.log(0.75) - math.log(0.4)) / 2)
    # a ratio under the threshold (1.05): likelihood for both
    term = cut.unlikelihood_term(torch.tensor([0.42, 0.2]), torch.tensor([0.4, 0.4]), threshold=1.1, weight=0.5)
    assert term.item() == pytest.approx(-math.log(0.4))
    # p = 1 under the unlikelihood branch: 1 - p is 0, raised to 1e-5 as the original does (finite)
    term = cut.unlikelihood_term(torch.tensor([1.0]), torch.tensor([0.5]), threshold=1.1, weight=1.0)
    assert term.item() == pytest.approx(-math.log(0.5))
    assert cut.unlikelihood_term(torch.tensor([1.0]), torch.tensor([1.0 - 1e-9]), 0.5, 1.0).isfinite()
    assert cut.cut_loss(torch.tensor(2.0), None).item() == 2.0
    assert cut.cut_loss(torch.tensor(2.0), torch.tensor(1.0)).item() == 1.5


def cut_records() -> list[dict]:
    records = [dict(r, judgment=None) for r in sft_records(6)]
    records[1] = {**records[1], "target": "Gamma.", "judgment": "The answer is wrong: the capital is Beta."}
    records[2] = {**records[2], "target": "Alpha.", "judgment": "The answer is wrong: the capital is Gamma."}
    return records


@pytest.mark.parametrize("chat", [False, True])
def test_cut_batch_loss_equals_the_hand_computation_from_the_models_probabilities(tiny_model, tmp_path, chat):
    """The trainer's loss on one padded batch (two judged records, four plain ones) equals the loss computed from
    the model's token probabilities on each sequence alone."""
    records = cut_records()
    trainer = cut.build_trainer(tiny_model, records, tmp_path / "work", chat=chat, lora=None, hparams=FAST,
                                threshold=1.05, weight=0.7, judgment_prompt="{prompt} ({judgment})", log=None)
    model = trainer.model.eval()
    rows = cut.features(records, trainer.processing_class, chat=chat, system=None,
                        judgment_prompt="{prompt} ({judgment})")
    with torch.no_grad():
        loss = trainer.compute_loss(model, cut.collate(0)(rows)).item()

        def token_probs(ids, labels):
            logits = model(input_ids=torch.tensor([ids])).logits[0, :-1].float()
            probs = torch.softmax(logits, -1)
            return [probs[i, labels[i + 1]].item() for i in range(len(ids) - 1) if labels[i + 1] != -100]

    first = [p for row in rows for p in token_probs(row["input_ids"], row["labels"])]
    nll = -sum(math.log(p) for p in first) / len(first)
    terms = []
    for row in rows:
        if row["judged"]:
            with_j = token_probs(row["input_ids"], row["labels"])
            without = token_probs(row["input_ids_neg"], row["labels_neg"])
            assert len(with_j) == len(without)
            terms += [-0.7 * math.log(1 - q) if p / q > 1.05 else -math.log(q) for p, q in zip(with_j, without)]
    expected = (nll + sum(terms) / len(terms)) / 2
    assert loss == pytest.approx(expected, rel=1e-4)


def test_cut_trains_and_saves_a_plain_checkpoint(tiny_model, tmp_path):
    out = tmp_path / "cut"
    stats = cut.train(tiny_model, cut_records(), out, chat=True, lora={"r": 4, "target_modules": ["c_fc"]},
                      hparams={**FAST, "learning_rate": 1e-2, "max_steps": 3}, log=None)
    assert_plain_checkpoint(out)
    assert stats["method"] == "cut" and stats["judged"] == 2 and stats["steps"] == 3
    assert math.isfinite(stats["train_loss"]) and changed(state(tiny_model), state(out))
    with pytest.raises(RaitError, match="threshold >= 1"):
        cut.train(tiny_model, cut_records(), out, chat=False, lora=None, threshold=0.5, log=None)
    with pytest.raises(RaitError, match="judgment_prompt"):
        cut.train(tiny_model, cut_records(), out, chat=False, lora=None, judgment_prompt="{verdict}", log=None)


def test_cut_with_lora_trains_the_same_adapter_on_every_run(tiny_model, tmp_path):
    """The LoRA factors are drawn after the job's seed is set: two runs of one job (here in one process, whose
    random state the first run moved on) end with the same loss and weights. Before, each run drew its own."""
    import torch as _torch

    losses = []
    for index in range(2):
        _torch.rand(7)  # whatever ran before in the process must not matter
        stats = cut.train(tiny_model, cut_records(), tmp_path / f"cut{index}", chat=True,
                          lora={"r": 4, "target_modules": ["c_fc"]},
                          hparams={**FAST, "learning_rate": 1e-2, "max_steps": 3}, log=None)
        losses.append(stats["train_loss"])
    assert losses[0] == losses[1]
    first, second = state(tmp_path / "cut0"), state(tmp_path / "cut1")
    assert all(_torch.equal(first[key], second[key]) for key in first)


# ---- reward model and RL --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reward_model(sft_full, tmp_path_factory):
    """A reward model from the SFT checkpoint, LoRA on the attention with its score head: prefers a capital to "I
    don't know" for known cities and the reverse for unknown ones."""
    start, _ = sft_full
    out = tmp_path_factory.mktemp("reward") / "model"
    records = dpo_records(20) + [{**r, "id": r["id"] + "same", "rejected": r["chosen"]} for r in dpo_records(2)]
    stats = reward.train(start, records, out, chat=False, lora={"r": 4, "target_modules": ["c_attn"]}, heldout=0.2,
                         hparams={**FAST, "learning_rate": 3e-3, "num_train_epochs": 20, "max_length": 64}, log=None)
    return out, stats


def test_reward_model_is_a_one_label_classifier_that_ranks_held_out_pairs(reward_model):
    from transformers import AutoModelForSequenceClassification

    from rait.reward_model import RewardModel

    out, stats = reward_model
    assert stats["method"] == "reward" and stats["heldout_pairs"] == 4  # 20% of the 20 usable pairs
    assert stats["n_examples"] == 16  # the two pairs with chosen == rejected were skipped
    assert AutoModelForSequenceClassification.from_pretrained(out).config.num_labels == 1
    assert json.loads((out / training.STATS_FILE).read_text())["heldout_accuracy"] == stats["heldout_accuracy"]
    scorer = RewardModel(str(out), chat=False)
    pairs = dpo_records(20)
    chosen = scorer.scores([(r["prompt"], r["chosen"]) for r in pairs])
    rejected = scorer.scores([(r["prompt"], r["rejected"]) for r in pairs])
    accuracy = sum(c > r for c, r in zip(chosen, rejected)) / len(pairs)
    assert accuracy >= 0.8, accuracy


def test_rloo_trains_the_policy_against_the_reward_model(sft_full, reward_model, tmp_path):
    start, _ = sft_full
    out = tmp_path / "rloo"
    records = [{"id": r["id"], "prompt": r["prompt"]} for r in sft_records(8)]
    stats = rloo.train(start, records, out, chat=False, lora=None, reward_model=str(reward_model[0]),
                       hparams={**FAST, "learning_rate": 1e-3, "max_steps": 2, "num_generations": 2,
                                "max_completion_length": 4}, log=None)
    assert_plain_checkpoint(out)
    assert stats["method"] == "rloo" and stats["steps"] == 2 and changed(state(start), state(out))
    with pytest.raises(RaitError, match="no reward model"):
        rloo.train(start, records, tmp_path / "x", chat=False, lora=None, log=None)


def graded_rows(n: int) -> list[dict]:
    rows = []
    for record in sft_records(n):
        question = {"id": record["id"], "question": record["prompt"], "answers": [record["target"].rstrip(".")]}
        rows.append({"id": record["id"], "prompt": record["prompt"],
                     "grading": {"question": question, "profile": "rait", "refusals": [IDK], "exact_match": False}})
    return rows


@pytest.mark.parametrize("reward, settings", [("abstention", {}), ("calibration", {"brier": 1.0})])
def test_grpo_trains_the_policy_with_each_graded_reward_and_counts_statements(sft_full, reward, settings, tmp_path):
    start, _ = sft_full
    out = tmp_path / reward
    stats = grpo.train(start, graded_rows(8), out, chat=False, lora=None, reward=reward, reward_settings=settings,
                       hparams={**FAST, "learning_rate": 1e-3, "max_steps": 2, "num_generations": 2,
                                "max_completion_length": 4, "logging_steps": 1}, log=None)
    assert_plain_checkpoint(out)
    assert stats["method"] == "grpo" and stats["reward"] == reward and stats["steps"] == 2
    # (the weights move only when a prompt's answers earn different rewards: GRPO's advantage is relative to the
    # group; the end-to-end runs on the synthetic world train it for real)
    assert stats["last_logged_reward"] is not None
    # every sampled answer's statement was read (2 steps x 2 prompts x 2 answers), or none for abstention
    assert sum(stats["statements"].values()) == (0 if reward == "abstention" else 8), stats["statements"]


def test_grpo_conqord_scores_quality_with_a_reward_model_when_the_stage_has_one(sft_full, reward_model, tmp_path):
    start, _ = sft_full
    stats = grpo.train(start, graded_rows(4), tmp_path / "rm", chat=False, lora=None, reward="conqord",
                       reward_model=str(reward_model[0]),
                       hparams={**FAST, "max_steps": 1, "num_generations": 2, "max_completion_length": 4}, log=None)
    assert stats["reward_model"] == str(reward_model[0]) and stats["last_logged_reward"] is not None
    with pytest.raises(RaitError, match="only conqord scores them with a reward model"):
        grpo.train(start, graded_rows(4), tmp_path / "x", chat=False, lora=None, reward="abstention",
                   reward_model=str(reward_model[0]), log=None)


def test_grpo_refuses_a_missing_reward_rows_without_grading_and_reward_weights_in_hparams(sft_full, tmp_path):
    start, _ = sft_full
    with pytest.raises(RaitError, match="unknown reward None"):
        grpo.train(start, graded_rows(4), tmp_path / "a", chat=False, lora=None, log=None)
    with pytest.raises(RaitError, match="has no grading"):
        grpo.train(start, [{"id": "q", "prompt": "Q: x?\nA:"}], tmp_path / "b", chat=False, lora=None,
                   reward="abstention", log=None)
    with pytest.raises(RaitError, match="reward_weights"):
        grpo.train(start, graded_rows(4), tmp_path / "c", chat=False, lora=None, reward="calibration",
                   hparams={"reward_weights": [1, 1, 1]}, log=None)
    with pytest.raises(RaitError, match="refusal .* must earn less"):
        grpo.train(start, graded_rows(4), tmp_path / "d", chat=False, lora=None, reward="abstention",
                   reward_settings={"refusal": 2.0}, log=None)


def test_a_non_finite_loss_or_reward_stops_training_with_an_error(reward_model):
    """RL never goes on with a NaN reward, and no trainer with a NaN loss."""
    from types import SimpleNamespace

    from rait.reward_model import RewardModel
    from rait.training.common import _finite_loss_callback

    callback = _finite_loss_callback("train_x")
    callback.on_log(None, SimpleNamespace(global_step=3), None, logs={"loss": 0.5})
    with pytest.raises(RaitError, match="train_x: the loss is nan at step 3"):
        callback.on_log(None, SimpleNamespace(global_step=3), None, logs={"loss": float("nan")})
    scorer = RewardModel(str(reward_model[0]), chat=False)
    with torch.no_grad():
        scorer.model.score.weight.fill_(float("nan"))
    with pytest.raises(RaitError, match="non-finite score"):
        scorer.scores([("Q: What is the capital of Zorania?\nA:", "Alpha.")])


# ---- resumable jobs ---------------------------------------------------------------------------------------------


def training_command(model, data: Path, out: Path, hparams: dict, save_steps: int) -> list[str]:
    import sys

    options = {"chat": False, "lora": None, "hparams": {**FAST, "learning_rate": 1e-3, **hparams}}
    return [sys.executable, "-m", "rait.training", "sft", "--model", str(model), "--data", str(data), "--out", str(out),
            "--options", json.dumps(options), "--save-steps", str(save_steps)]


def run_until(command: list[str], pattern: str):
    """Start ``command``; return it, running, once a line of its log matches ``pattern``."""
    import subprocess

    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = []
    for line in process.stderr:
        seen.append(line)
        if re.search(pattern, line):
            return process
    process.wait()
    raise AssertionError(f"the job ended before {pattern!r}:\n{''.join(seen[-20:])}")


# weights of a resumed run against an uninterrupted one (same CPU, same seed): the optimizer, scheduler and RNG
# states come back from the checkpoint, so they agree to float32 rounding
RESUME_TOLERANCE = 1e-6


def test_a_killed_training_job_resumes_from_its_last_checkpoint_and_ends_as_an_uninterrupted_one(tiny_model, tmp_path):
    import signal
    import subprocess

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sft_records()))
    hparams = {"max_steps": 100}
    subprocess.run(training_command(tiny_model, data, tmp_path / "whole", hparams, 20), check=True,
                   capture_output=True)
    out = tmp_path / "resumed"
    job = run_until(training_command(tiny_model, data, out, hparams, 20), r": step (4[5-9]|5\d)/100")
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not out.exists()
    (scratch,) = tmp_path.glob(".resumed.train-*")  # named by the job's parameters, kept for the rerun
    saved = max(int(p.name.split("-")[1]) for p in scratch.glob("checkpoint-*"))
    assert saved >= 40
    rerun = subprocess.run(training_command(tiny_model, data, out, hparams, 20), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    resumed_at = int(re.search(r"resuming from step (\d+)", rerun.stderr)[1])
    assert resumed_at >= 40 and resumed_at % 20 == 0
    whole, resumed = state(tmp_path / "whole"), state(out)
    assert max(float((whole[k] - resumed[k]).abs().max()) for k in whole) <= RESUME_TOLERANCE
    history = [json.loads(line) for line in (out / training.LOG_HISTORY_FILE).read_text().splitlines()]
    assert [e["step"] for e in history if "loss" in e] == list(range(1, 101))  # the whole history, resumed too
    # the statistics cover the whole run too, not only the steps after the resume
    stats = {name: json.loads((folder / training.STATS_FILE).read_text()) for name, folder in
             (("whole", tmp_path / "whole"), ("resumed", out))}
    assert stats["resumed"]["train_loss"] == pytest.approx(stats["whole"]["train_loss"], abs=1e-5)
    assert stats["resumed"]["steps"] == stats["whole"]["steps"] == 100
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no scratch, no claim left


def test_an_orphaned_job_with_older_parameters_never_replaces_the_newer_result(tiny_model, tmp_path):
    """The race of a killed main process: its training job (old config) runs on while a rerun with an edited config
    trains the same output; the orphan stops at its first checkpoint after the newer job's claim, and never moves
    its stale result into place."""
    import subprocess

    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sft_records()))
    out = tmp_path / "model"
    # the orphan saves checkpoints: refused, it removes its scratch folder all the same (never to be resumed); its
    # steps are many more than it runs while the newer job trains, however loaded the machine
    orphan = run_until(training_command(tiny_model, data, out, {"max_steps": 100_000}, 10), r": step 5/100000")
    newer = subprocess.run(training_command(tiny_model, data, out, {"max_steps": 5, "learning_rate": 2e-3}, 0),
                           capture_output=True, text=True)
    assert newer.returncode == 0, newer.stderr[-3000:]
    _, orphan_log = orphan.communicate()
    assert orphan.returncode == BAD_INPUT_EXIT, orphan_log[-3000:]
    assert "a newer training job" in orphan_log and "is not moved into place" in orphan_log
    stopped = int(re.search(r"stopping at step (\d+)", orphan_log)[1])
    assert stopped % 10 == 0 and stopped < 100_000  # at a checkpoint, long before its end
    assert json.loads((out / training.STATS_FILE).read_text())["steps"] == 5  # the newer job's result
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_two_processes_stop_together_at_the_checkpoint_after_a_newer_claim(tiny_model, tmp_path):
    """The main process reads the claim and tells the other rank: both stop at the same step (a rank stopping
    alone would leave the other waiting in a collective until the launcher's timeout)."""
    import subprocess

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in sft_records(16)))
    out = tmp_path / "model"
    command = two_process_training(tiny_model, data, out, {"max_steps": 100_000}, save_steps=3, port=29412)
    job = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                           env=ONE_THREAD_NO_GPU)
    for line in job.stderr:
        if re.search(r": step 4/100000", line):
            break
    common.claim(out, "newer")
    try:
        _, log = job.communicate(timeout=240)
    finally:
        job.kill()
    assert job.returncode != 0
    stops = re.findall(r"stopping at step (\d+)", log)
    assert len(stops) == 2 and stops[0] == stops[1] and int(stops[0]) % 3 == 0, log[-3000:]  # both ranks, one step
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [".model.claim"]  # the newer's


def test_a_newer_jobs_claim_removes_dead_jobs_scratch_folders_and_leaves_a_live_ones(tmp_path):
    """Removed under a live job, a scratch folder fails that job's next save (a safetensors I/O error, seen when a
    claim landed mid-save in CI): a claim removes only the folders no live job holds."""
    import subprocess
    import sys

    out = tmp_path / "model"
    dead, live = common.work_dir(out, "dead"), common.work_dir(out, "live")
    dead.mkdir()
    (dead / "checkpoint-5").mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from pathlib import Path; "
                               "from rait.training.common import hold_work_dir; "
                               f"hold_work_dir(Path({str(live)!r})); print('held', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    common.claim(out, "newer")
    assert not dead.exists() and live.is_dir()
    assert common.claim_holder(out) == "newer"
    holder.stdin.close()  # the live job ends (a kill too lets the lock go)
    holder.wait()
    common.claim(out, "newest")
    assert not live.exists()
    mine = common.work_dir(out, "newest")
    held = common.hold_work_dir(mine)  # its own folder: created, held, and never removed by its own claim
    common.claim(out, "newest")
    assert mine.is_dir()
    os.close(held)


def test_the_whole_runs_loss_counts_the_steps_before_a_resume():
    # steps 1-4 logged before the checkpoint at 4 (losses 4, 3, 2, 1), then 6 steps resumed at a mean of 0.5
    history = [{"loss": 4.0 - i, "step": i + 1} for i in range(4)] + [{"loss": 0.5, "step": 5 + i} for i in range(6)]
    assert whole_run_loss(0.5, 10, history, 4) == pytest.approx((10 + 0.5 * 6) / 10)
    assert whole_run_loss(0.5, 10, history, 0) == pytest.approx(0.5)  # not resumed: transformers' own
    # logged every two steps: each logged loss weighs the steps it covers
    history = [{"loss": 2.0, "step": 2}, {"loss": 1.0, "step": 4}]
    assert whole_run_loss(0.25, 8, history, 4) == pytest.approx((2 * 2 + 1 * 2 + 0.25 * 4) / 8)


def test_a_lora_chain_stored_as_adapters_computes_what_the_merged_chain_does(tiny_model, tmp_path):
    """SFT then DPO with LoRA, once stored merged (each stage a full copy) and once as adapters (issue 26): the
    DPO stage's adapter is SFT's and its own stacked, over the base; loaded by rait.checkpoints it gives the merged
    chain's logits. The adapter checkpoint holds no full weights, a fraction of the merged one's bytes."""
    from rait.adapters import read_adapter
    from rait.checkpoints import ADAPTER_FILE, adapter_base, is_adapter, load_causal_lm

    lora = {"r": 4, "alpha": 8, "dropout": 0.0}
    runs = {}
    for storage in ("merged", "adapter"):
        first, second = tmp_path / storage / "sft", tmp_path / storage / "dpo"
        sft.train(tiny_model, sft_records(), first, chat=False, lora=lora, storage=storage,
                  hparams={**FAST, "learning_rate": 1e-2, "max_steps": 4}, log=None)
        stats = dpo.train(first, dpo_records(), second, chat=False, lora=lora, storage=storage,
                          hparams={**FAST, "learning_rate": 1e-2, "max_steps": 3}, log=None)
        runs[storage] = (first, second, stats)
    merged_sft, merged_dpo, _ = runs["merged"]
    adapter_sft, adapter_dpo, stats = runs["adapter"]
    assert not is_adapter(merged_dpo) and is_adapter(adapter_sft) and is_adapter(adapter_dpo)
    assert adapter_base(adapter_dpo) == adapter_base(adapter_sft) == str(tiny_model)
    assert read_adapter(adapter_dpo).rank == 8 and stats["stored"] == "adapter"
    assert json.loads((adapter_dpo / ADAPTER_FILE).read_text())["rank"] == 8
    assert not list(adapter_dpo.glob("model*.safetensors")) and (adapter_dpo / common.STATS_FILE).is_file()
    tokenizer = AutoTokenizer.from_pretrained(adapter_dpo)
    ids = torch.tensor([tokenizer(r["prompt"])["input_ids"] for r in sft_records(2)])
    with torch.no_grad():
        for merged, adapter in ((merged_sft, adapter_sft), (merged_dpo, adapter_dpo)):
            expected = AutoModelForCausalLM.from_pretrained(merged).eval()(input_ids=ids).logits
            got = load_causal_lm(adapter).eval()(input_ids=ids).logits
            assert (expected - got).abs().max().item() < 1e-4, (merged.name, (expected - got).abs().max().item())
    assert not list(adapter_dpo.parent.glob(".*"))  # no scratch folder left: the DPO start's merged copy is gone
    size = lambda folder: sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())  # noqa: E731
    assert size(adapter_dpo) < size(merged_dpo)
    # export (rule export_merged): the adapter stage as a plain checkpoint, a full one copied
    from rait.checkpoints import export

    export(adapter_dpo, tmp_path / "export" / "dpo")
    export(merged_dpo, tmp_path / "export" / "merged_dpo")
    with torch.no_grad():
        expected = AutoModelForCausalLM.from_pretrained(merged_dpo).eval()(input_ids=ids).logits
        for exported in ("dpo", "merged_dpo"):
            got = AutoModelForCausalLM.from_pretrained(tmp_path / "export" / exported).eval()(input_ids=ids).logits
            assert (expected - got).abs().max().item() < 1e-4
    assert not is_adapter(tmp_path / "export" / "dpo") and (tmp_path / "export" / "dpo" / "tokenizer.json").is_file()


def test_a_reward_model_over_a_lora_stage_stored_as_an_adapter_scores_as_the_merged_one(tiny_model, tmp_path):
    """Say-I-Dont-Know's chain SFT (LoRA) then its reward model (LoRA and a new score head trained whole), once
    merged and once as adapters: the reward checkpoint is SFT's and its own update stacked with the head, over the
    base, and scores every pair as the merged copy does (issue 26: no full copy of the model for the reward)."""
    from safetensors.torch import load_file

    from rait.adapters import read_adapter
    from rait.checkpoints import adapter_model_class, export, load_causal_lm
    from rait.reward_model import RewardModel

    lora = {"r": 4, "alpha": 8, "dropout": 0.0}
    pairs = [(r["prompt"], answer) for r in dpo_records(8) for answer in (r["chosen"], r["rejected"])]
    scores = {}
    for storage in ("merged", "adapter"):
        start, out = tmp_path / storage / "sft", tmp_path / storage / "reward"
        sft.train(tiny_model, sft_records(), start, chat=False, lora=lora, storage=storage,
                  hparams={**FAST, "learning_rate": 1e-2, "max_steps": 4}, log=None)
        stats = reward.train(start, dpo_records(10), out, chat=False, lora=lora, storage=storage, heldout=0.2,
                             hparams={**FAST, "learning_rate": 1e-2, "max_steps": 3, "max_length": 64}, log=None)
        scores[storage] = RewardModel(str(out), chat=False).scores(pairs)
    adapter = read_adapter(out)
    assert stats["stored"] == "adapter" and adapter.rank == 8 and adapter_model_class(out) == "AutoModelForSequenceClassification"
    assert list(adapter.head) == ["base_model.model.score.weight"]  # the score head, trained whole, kept beside
    assert not list(out.glob("model*.safetensors"))
    assert load_file(str(out / "adapter_model.safetensors"))["base_model.model.score.weight"].shape == (1, 64)
    assert max(abs(a - b) for a, b in zip(scores["merged"], scores["adapter"])) < 1e-4, scores
    assert len(set(scores["adapter"])) > 1  # the head was trained, not the same output for every pair
    export(out, tmp_path / "export")  # a full reward model to upload
    exported = RewardModel(str(tmp_path / "export"), chat=False).scores(pairs)
    assert max(abs(a - b) for a, b in zip(scores["merged"], exported)) < 1e-4
    with pytest.raises(RaitError, match="an adapter of a AutoModelForSequenceClassification, not of a AutoModelForCausalLM"):
        load_causal_lm(out)


def test_an_adapter_whose_base_changed_is_refused_before_loading(tiny_model, tmp_path):
    from rait.checkpoints import adapter_base, load_causal_lm

    base = tmp_path / "base"
    AutoModelForCausalLM.from_pretrained(tiny_model).save_pretrained(base)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(base)
    out = tmp_path / "sft"
    sft.train(base, sft_records(), out, chat=False, lora={"r": 4}, storage="adapter",
              hparams={**FAST, "max_steps": 1}, log=None)
    assert adapter_base(out) == str(base)
    weights = (out / "adapter_model.safetensors").read_bytes()
    (out / "adapter_model.safetensors").unlink()
    with pytest.raises(RaitError, match=r"no adapter_model.safetensors: a half-written adapter checkpoint"):
        load_causal_lm(out)
    (out / "adapter_model.safetensors").write_bytes(weights)
    config = json.loads((base / "config.json").read_text())
    (base / "config.json").write_text(json.dumps({**config, "n_layer": 3}))  # another model under the same path
    with pytest.raises(RaitError, match=r"trained on a base with fingerprint \w+, but .*/base is now \w+ \(another "
                                        r"model or revision under that path\): retrain the stage"):
        load_causal_lm(out)
    import shutil

    shutil.rmtree(base)
    with pytest.raises(RaitError, match=r"its base checkpoint .*/base is gone"):
        load_causal_lm(out)
    with pytest.raises(RaitError, match="storage must be one of merged, adapter, got 'copy'"):
        sft.train(tiny_model, sft_records(), tmp_path / "x", chat=False, storage="copy", log=None)
