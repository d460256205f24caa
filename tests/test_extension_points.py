"""Every extension point of docs/extending.md, added on a copy of the checkout by the files it lists and no other: a
toy trainer (SFT under another name), a toy answer strategy, a toy reward, a toy metric and a toy local dataset, with
a method that trains with the trainer and answers with the strategy and one whose GRPO stage optimises the reward.
The unchanged rule files plan and run them on the synthetic world; the eval file holds the metric, the predictions
are the strategy's, the reward is the one logged, the dataset is prepared."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SYNTH_OVERRIDES, deep_merge
from rait.io import read_json, read_jsonl
from rait.plan.layout import LOG_HISTORY_FILE
from test_method_extension import append, copy_checkout, planned, run_copy, smk_files

# xdist: one worker runs every module of the synthetic world (tests/conftest.py, synth_run)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("world")]

TOY_TRAINER = '''"""A toy trainer: supervised fine-tuning under another name, one epoch by default."""

from dataclasses import dataclass

from rait.training import settings
from rait.training.settings import setting
from rait.training.sft import CONFIG_CLASS, FIELDS, build_trainer, train  # noqa: F401


@dataclass(frozen=True)
class Settings:
    """training.toy"""
    hparams: dict = setting({"num_train_epochs": 1}, help="trl.SFTConfig fields")


SETTINGS = settings.keys(Settings)
'''
TOY_TRAINER_REGISTRATION = '''
from rait.training import toy  # noqa: E402

TRAINERS.register("toy", toy)
'''
TOY_TRAINER_SCHEMA = '''      toy:
        type: object
        additionalProperties: false
        properties:
          hparams: {type: object}
'''
TOY_STRATEGY = '''

def lower_case_predictions(generated: list[dict], settings: dict | None = None) -> list[dict]:
    return [{**p, "answer": p["answer"].lower()} for p in greedy_predictions(generated, settings)]


STRATEGIES.register("toy", Strategy("the greedy answer in lower case", lower_case_predictions))
'''
TOY_METRIC = '''
register_metric("toy_answered", Metric("higher", compute=lambda outcomes: sum(
    o["grade"] != "refusal" for o in outcomes) / len(outcomes)))
'''
TOY_REWARD = '''

def brevity_functions(settings: dict, **_) -> tuple[list[Callable], list[float]]:
    def brevity(completions, **kwargs) -> list[float]:
        return [-settings["per_word"] * len(message_text(c).split()) for c in completions]

    return [brevity], [1.0]


REWARDS.register("toy", Reward(brevity_functions, {"per_word": 0.25}, "fewer words"))
'''
TOY_METHOD = '''
METHODS["toy_ext"] = Method("sidk", (Stage("toy_ext", "toy", Data("idk_sft")),), Answer(strategy="toy"))
METHODS["toy_rl"] = Method("rl", (Stage("toy_rl", "grpo", Data("graded_prompts", {"questions": "questions"}),
                                        reward="toy"),))
'''
TOY_DATASET = {"source": "local", "files": {"test": "toy_questions.jsonl"},
               "fields": {"id": "qid", "question": "text", "answers": "gold"}}


def documented_files(*sections: str) -> set[str]:
    """The backticked paths of the "Files:" line of each of docs/extending.md's ``sections``."""
    text = (REPO / "docs" / "extending.md").read_text()
    files = set()
    for section in sections:
        body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
        line = next(line for line in body.splitlines() if line.startswith("Files:"))
        files |= set(re.findall(r"`([^`]+)`", line))
    return files


def changed_files(copy: Path) -> set[str]:
    """Files of the copy that the checkout lacks or holds otherwise."""
    changed = set()
    for path in copy.rglob("*"):
        name = path.relative_to(copy).as_posix()
        if path.is_file() and "__pycache__" not in name:
            original = REPO / name
            if not original.is_file() or original.read_bytes() != path.read_bytes():
                changed.add(name)
    return changed


@pytest.fixture(scope="module")
def extended(tmp_path_factory) -> Path:
    checkout = copy_checkout(tmp_path_factory.mktemp("checkout"))
    # a trainer: its module (its settings and their defaults), its registration, its settings in the schema and the
    # config's guide
    (checkout / "rait/training/toy.py").write_text(TOY_TRAINER)
    append(checkout / "rait/training/__init__.py", TOY_TRAINER_REGISTRATION)
    schema = checkout / "workflow/schemas/config.schema.yaml"
    sft_block = "      sft:\n        type: object\n        additionalProperties: false\n        properties:\n" \
                "          hparams: {type: object}\n"
    schema.write_text(schema.read_text().replace(sft_block, sft_block + TOY_TRAINER_SCHEMA, 1))
    # a dataset: its entry
    config = checkout / "config/config.yaml"
    config.write_text(config.read_text().replace("\ndatasets:\n", f"\ndatasets:\n  toy_local: {json.dumps(TOY_DATASET)}\n", 1))
    append(checkout / "config/README.md", "\n| `training.toy.hparams` | — | the toy trainer's `trl.SFTConfig` fields |\n")
    # an answer strategy, a metric, and the method that trains with the trainer and answers with the strategy
    append(checkout / "rait/answering.py", TOY_STRATEGY)
    append(checkout / "rait/metrics.py", TOY_METRIC)
    append(checkout / "rait/rewards.py", TOY_REWARD)
    append(checkout / "rait/methods.py", TOY_METHOD)
    assert smk_files(checkout) == smk_files(REPO)  # no rule file touched
    return checkout


def test_each_extension_touches_the_files_its_guide_lists_and_no_other(extended):
    expected = documented_files("A trainer", "An answer strategy", "A reward (RL)", "A metric", "A dataset")
    assert changed_files(extended) == expected | {"rait/methods.py"}  # and the method that uses them


def test_a_toy_trainer_strategy_reward_metric_and_dataset_plan_and_run_on_the_synthetic_world(extended, synth_run,
                                                                                             tmp_path):
    workdir, _ = synth_run
    copy_config = yaml.safe_load((extended / "config/config.yaml").read_text())
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(deep_merge(deep_merge(copy_config, SYNTH_OVERRIDES), {
        "models": {"synth_tiny": {"training": {"toy": {"hparams": {"num_train_epochs": 2,
                                                                    "per_device_train_batch_size": 16}}}}}})))
    (workdir / "toy_questions.jsonl").write_text("".join(json.dumps(row) + "\n" for row in (
        {"qid": "t1", "text": "What colour is the sky?", "gold": ["blue"]},
        {"qid": "t2", "text": "How many legs has a cat?", "gold": ["four", "4"]})))
    target, rl_target = "results/eval/synth_tiny_toy_ext.json", "results/eval/synth_tiny_toy_rl.json"
    jobs = planned(run_copy(extended, workdir, "-n", target, rl_target, "results/data/toy_local/test.jsonl",
                            configfile=configfile).stdout)
    # upstream of the new methods everything exists: their own four jobs each, and the new dataset's preparation
    assert sorted(jobs) == ["build_train_data", "evaluate_method", "predict_answers", "prepare_dataset",
                            "train_stage"], jobs
    assert sorted(jobs["train_stage"]) == ["results/checkpoints/synth_tiny_toy_ext", "results/checkpoints/synth_tiny_toy_rl"]

    run_copy(extended, workdir, target, rl_target, "results/data/toy_local/test.jsonl", configfile=configfile)
    # the GRPO stage optimised the toy reward, with its registered default (0.25 per word: never positive)
    history = read_jsonl(workdir / "results/checkpoints/synth_tiny_toy_rl" / LOG_HISTORY_FILE)
    rewards = [row["rewards/brevity/mean"] for row in history if "rewards/brevity/mean" in row]
    assert rewards and all(reward <= 0 for reward in rewards), history[:2]
    questions = read_jsonl(workdir / "results/data/toy_local/test.jsonl")
    assert [(q["id"], q["question"], q["answers"]) for q in questions] == [
        ("t1", "What colour is the sky?", ["blue"]), ("t2", "How many legs has a cat?", ["four", "4"])]
    stats = read_json(workdir / "results/checkpoints/synth_tiny_toy_ext/training_stats.json")
    assert stats["steps"] > 0
    predictions = read_jsonl(workdir / "results/predictions/synth_tiny_toy_ext/synth_test.jsonl")
    assert predictions and all(p["answer"] == p["answer"].lower() for p in predictions)
    evaluation = read_json(workdir / target)
    for block in evaluation["test_sets"].values():
        assert block["toy_answered"] == pytest.approx(1 - block["refusal_rate"])
        assert block["intervals"]["toy_answered"] is not None
