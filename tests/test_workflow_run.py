"""A rule script's failure speaks in the rule's log: rait's errors by their message, anything else with its
traceback; either way the job exits non-zero."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from rait.errors import RaitError
from rait.workflow import OFFLINE, run, typed_overrides


def fake_snakemake(tmp_path):
    return SimpleNamespace(log=[str(tmp_path / "rule.log")], rule="toy_rule", input=["results/data/x.jsonl"])


@pytest.mark.parametrize("error, expected", [
    (RaitError("data.jsonl:3: record has no question"), "data.jsonl:3: record has no question"),
    (KeyError("answers"), "rule toy_rule failed with an unexpected error (inputs: results/data/x.jsonl)"),
])
def test_a_failing_script_writes_why_to_its_log_and_exits_non_zero(tmp_path, error, expected):
    def main(sm):
        raise error

    sm = fake_snakemake(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        run(sm, main)
    root = logging.getLogger()
    for handler in list(root.handlers):  # run() set up the rule's logging; take it down again
        handler.close()
        root.removeHandler(handler)
    assert exit_.value.code == (65 if isinstance(error, RaitError) else 1)  # 65: bad input, no retry helps
    text = (tmp_path / "rule.log").read_text()
    assert expected in text
    assert ("Traceback" in text) == (not isinstance(error, RaitError))
    if not isinstance(error, RaitError):
        assert "test_workflow_run.py" in text and "KeyError: 'answers'" in text  # the file and line of the fault


def test_every_job_but_the_fetching_ones_runs_with_the_hub_offline(monkeypatch):
    import os

    import huggingface_hub.constants

    for key in OFFLINE:
        monkeypatch.setenv(key, "0")  # recorded, so the test's end restores what was there
        monkeypatch.delenv(key)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    seen = {}

    def main(sm):
        seen.update({key: os.environ.get(key) for key in OFFLINE}, constant=huggingface_hub.constants.HF_HUB_OFFLINE)

    run(SimpleNamespace(rule="download_model", log=[], input=[], params=SimpleNamespace(network=True)), main)
    assert seen == {**dict.fromkeys(OFFLINE), "constant": False}
    run(SimpleNamespace(rule="sample_answers", log=[], input=[], params=SimpleNamespace()), main)
    # huggingface_hub was imported before the switch: it is told too
    assert seen == {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "constant": True}


@pytest.mark.parametrize("given, typed", [
    ({"knowledge": {"threshold": "0.9"}}, {"knowledge": {"threshold": 0.9}}),
    ({"report": {"skip_missing": "true"}, "sampling": {"n": "4", "stop": ["\n"]}},
     {"report": {"skip_missing": True}, "sampling": {"n": 4}}),
    ({"prompts": {"open": "Q: {question}"}, "demo": {"model": "smollm2_135m"}}, {}),
    ({"datasets": {"nq": {"limit": {"test": "5"}}}}, {"datasets": {"nq": {"limit": {"test": 5}}}}),
])
def test_config_overrides_left_as_strings_are_typed_as_yaml_types_them(given, typed):
    assert typed_overrides(given) == typed
