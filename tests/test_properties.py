"""Property-based: the graders and loaders given arbitrary text raise nothing but rait's own error (RaitError:
bad input, named) and return what their callers expect. Hypothesis draws the text: any Unicode, control
characters and surrogates' neighbours included, JSON-shaped or not."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rait.cli import main as rait_cli
from rait.datasets import local
from rait.errors import RaitError
from rait.grading import GRADES, grade, is_refusal, normalize_answer, parse_choice
from rait.io import read_json, read_jsonl
from rait.profiles import PROFILES, grade_with
from rait.prompts import check_template
from rait.records import LETTERS, check_record

TEXT = st.text(max_size=200)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                           max_leaves=12)
RECORD_KEYS = ["id", "question", "answers", "choices", "gold", "unanswerable", "answer", "confidence", "base_answer", "judge", "ik", "split"]
RECORDS = st.dictionaries(st.sampled_from(RECORD_KEYS) | TEXT, JSON_VALUES, max_size=8)


@SETTINGS
@given(response=TEXT, answers=st.lists(TEXT, min_size=1, max_size=4), refusals=st.lists(TEXT, max_size=2))
def test_open_grading_of_any_text_is_a_grade(response, answers, refusals):
    record = {"id": "q", "question": "Q?", "answers": answers}
    assert grade(record, response, refusals=refusals) in GRADES
    assert grade(record, response, exact=True) in GRADES
    assert isinstance(normalize_answer(response), str) and isinstance(is_refusal(response, refusals), bool)
    for name, profile in PROFILES.items():
        if "open" in profile.kinds:
            assert grade_with(name, record, response, refusals) in GRADES


@SETTINGS
@given(response=TEXT, choices=st.lists(TEXT.filter(str.strip), min_size=2, max_size=6), data=st.data())
def test_multiple_choice_grading_of_any_text_is_a_grade(response, choices, data):
    gold = data.draw(st.sampled_from(LETTERS[: len(choices)]))
    record = {"id": "q", "question": "Q?", "choices": choices, "gold": gold}
    assert parse_choice(response, choices) in (None, *LETTERS[: len(choices)])
    assert grade(record, response) in GRADES
    for name, profile in PROFILES.items():
        if "mc" in profile.kinds:
            assert grade_with(name, record, response) in GRADES


@SETTINGS
@given(record=RECORDS)
def test_any_record_is_a_question_or_a_named_error(record):
    try:
        checked = check_record(dict(record), "f.jsonl:1")
    except RaitError as err:
        assert str(err).startswith("f.jsonl:1:")
    else:
        assert isinstance(checked["question"], str)


@SETTINGS
@given(content=st.binary(max_size=300) | TEXT.map(str.encode) | st.lists(RECORDS, max_size=4).map(
    lambda rows: "".join(json.dumps(row) + "\n" for row in rows).encode()))
def test_any_file_loads_as_records_or_a_named_error(tmp_path, content):
    for suffix, reader in ((".jsonl", read_jsonl), (".json", read_json)):
        path = tmp_path / f"data{suffix}"
        path.write_bytes(content)
        try:
            reader(path)
        except RaitError as err:
            assert str(path) in str(err)


@SETTINGS
@given(content=st.binary(max_size=300) | TEXT.map(str.encode), fmt=st.sampled_from(["jsonl", "json", "csv"]),
       mc=st.booleans())
def test_the_local_loader_reads_any_file_or_names_it(tmp_path, content, fmt, mc):
    path = tmp_path / f"data.{fmt}"
    path.write_bytes(content)
    fields = ({"question": "question", "choices": ["a", "b"], "gold": "gold"} if mc
              else {"question": "question", "answers": "answers"})
    spec = {"key": "mine", "source": "local", "files": {"test": str(path)}, "fields": fields}
    try:
        records = local.load(spec, "test")
    except RaitError as err:
        assert str(path) in str(err) or "datasets.mine" in str(err)
    else:
        assert all(isinstance(r["question"], str) for r in records)


@SETTINGS
@given(lines=st.lists(RECORDS | TEXT, min_size=1, max_size=5))
def test_rait_score_answers_any_predictions_file_with_metrics_or_a_named_error(tmp_path, capsys, lines):
    path = tmp_path / "predictions.jsonl"
    path.write_text("".join((json.dumps(line) if isinstance(line, dict) else line.replace("\n", " ")) + "\n"
                            for line in lines))
    code = rait_cli(["score", str(path), "--resamples", "10"])
    captured = capsys.readouterr()
    assert code in (0, 65)
    assert "Traceback" not in captured.err
    if code == 65:
        assert str(path) in captured.err
    else:
        assert "accuracy" in json.loads(captured.out)


@SETTINGS
@given(template=st.text(alphabet=string.printable, max_size=60), kind=st.sampled_from(["open", "mc"]))
def test_any_template_is_accepted_only_if_it_renders(template, kind):
    try:
        check_template(template, kind, "prompts.x")
    except RaitError as err:
        assert str(err).startswith("prompts.x:")
    else:
        template.format(question="Q?", choices="A. x\nB. y", options="A. x\nB. y")


def test_the_strategies_reach_the_error_paths():
    """Not vacuous: a sample of the drawn inputs includes files that fail and records that pass."""
    with pytest.raises(RaitError):
        check_record({"id": "x"}, "f.jsonl:1")
    assert check_record({"id": "x", "question": "Q?", "answers": ["a"]}, "f.jsonl:1")
