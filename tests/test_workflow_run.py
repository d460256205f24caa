"""A rule script's failure speaks in the rule's log: rait's errors by their message, anything else with its
traceback; either way the job exits non-zero."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from rait.errors import RaitError
from rait.workflow import run


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
    assert exit_.value.code == 1
    text = (tmp_path / "rule.log").read_text()
    assert expected in text
    assert ("Traceback" in text) == (not isinstance(error, RaitError))
    if not isinstance(error, RaitError):
        assert "test_workflow_run.py" in text and "KeyError: 'answers'" in text  # the file and line of the fault
