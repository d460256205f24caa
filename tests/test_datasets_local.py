"""Local loaders on the real shared data, and on bad input written to tmp_path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rait.datasets import local
from rait.errors import RaitError
from shared_data import needs_data, spec_for


@needs_data
@pytest.mark.parametrize("split, count", [("dev", 285), ("val", 1531), ("test", 14042)])
def test_mmlu_all_subjects(split, count):
    records = local.load(spec_for("mmlu"), split)
    assert len(records) == count
    assert len({r["subject"] for r in records}) == 57
    first = records[0]
    assert first["id"] == f"abstract_algebra/{split}/0" and first["subject"] == "abstract_algebra"
    assert len(first["choices"]) == 4 and first["gold"] in "ABCD"


@needs_data
def test_mmlu_text_is_stripped_but_inner_newlines_kept():
    records = local.load(spec_for("mmlu"), "val")
    texts = [r["question"] for r in records] + [c for r in records for c in r["choices"]]
    assert all(t == t.strip() for t in texts)
    assert any("\n" in r["question"] for r in records)


@needs_data
@pytest.mark.parametrize("split, count", [("dev", 299), ("test", 1172)])
def test_arc_challenge(split, count):
    records = local.load(spec_for("arc_challenge"), split)
    assert len(records) == count
    assert {len(r["choices"]) for r in records} == {3, 4, 5}


@needs_data
def test_arc_numeric_labels_and_odd_choice_counts():
    records = {r["id"]: r for r in local.load(spec_for("arc_challenge"), "dev")}
    numeric = records["NYSEDREGENTS_2014_8_20"]  # labels '1'..'4', answerKey '2'
    assert numeric["gold"] == "B" and len(numeric["choices"]) == 4
    three = records["NYSEDREGENTS_2014_4_19"]  # labels A..C, answerKey 'B'
    assert three["gold"] == "B" and len(three["choices"]) == 3
    five = records["TIMSS_2003_8_pg29"]  # labels A..E, answerKey 'E'
    assert five["gold"] == "E" and len(five["choices"]) == 5


@needs_data
def test_nq_open_dev():
    records = local.load(spec_for("nq_open"), "dev")
    assert len(records) == 3610
    assert records[0] == {
        "id": "nq_dev_0",
        "question": "when was the last time anyone was on the moon",
        "answers": ["14 December 1972 UTC", "December 1972"],
    }


# --- formats and mappings on small files -------------------------------------


def open_spec(path, **fields) -> dict:
    return {"key": "toy", "files": {"test": str(path)}, "fields": {"question": "q", "answers": "a", **fields}}


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_default_ids_and_string_answer(tmp_path):
    path = write_jsonl(tmp_path / "toy.jsonl", [{"q": "one?", "a": "1"}, {"q": "two?", "a": ["2", "two", "2"]}])
    records = local.load(open_spec(path), "test")
    assert records == [
        {"id": "toy-1", "question": "one?", "answers": ["1"]},
        {"id": "toy-2", "question": "two?", "answers": ["2", "two"]},
    ]


def test_json_field_and_int_gold(tmp_path):
    path = tmp_path / "toy.json"
    path.write_text(json.dumps({"data": [{"q": "x?", "opts": ["a", "b", "c"], "ans": 2}]}))
    spec = {"key": "toy", "files": {"test": str(path)}, "json_field": "data",
            "fields": {"question": "q", "choices": "opts", "gold": "ans"}}
    assert local.load(spec, "test")[0] == {"id": "toy-0", "question": "x?", "choices": ["a", "b", "c"], "gold": "C"}


def test_parquet(tmp_path):
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "toy.parquet"
    pq.write_table(pa.table({"q": ["x?"], "a": [["yes", "y"]]}), path)
    assert local.load(open_spec(path), "test")[0]["answers"] == ["yes", "y"]


# --- bad input: messages name the file and line -------------------------------


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    with pytest.raises(RaitError, match=r"empty\.jsonl: empty file"):
        local.load(open_spec(path), "test")


def test_csv_header_only_is_empty(tmp_path):
    path = tmp_path / "head.csv"
    path.write_text("q,a\n")
    with pytest.raises(RaitError, match=r"head\.csv: empty file"):
        local.load(open_spec(path), "test")


def test_malformed_json_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"q": "ok?", "a": "y"}\n\n{"q": "broken?", \n')
    with pytest.raises(RaitError, match=r"bad\.jsonl:3: malformed JSON"):
        local.load(open_spec(path), "test")


def test_csv_missing_column(tmp_path):
    path = tmp_path / "anatomy_test.csv"
    path.write_text("id,question,A,B,C,target\nx,q?,a,b,c,A\n")
    spec = spec_for("mmlu")
    spec.update(key="mmlu", files={"test": str(tmp_path / "*.csv")})
    with pytest.raises(RaitError, match=r"anatomy_test\.csv:1: no column 'D'"):
        local.load(spec, "test")


def test_csv_no_question_reports_first_line_of_row(tmp_path):
    path = tmp_path / "toy.csv"
    path.write_text('q,a\n"multi\nline?",yes\n,no\n')  # row 2 starts on line 4
    with pytest.raises(RaitError, match=r"toy\.csv:4: record has no question"):
        local.load(open_spec(path), "test")


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_a_data_file_in_latin1_is_named_with_its_line(tmp_path, suffix):
    path = tmp_path / f"toy{suffix}"
    if suffix == ".csv":
        path.write_bytes("q,a\nwhere?,here\ncaf\u00e9?,yes\n".encode("latin-1"))
    else:
        path.write_bytes('[{"q": "where?", "a": "here"},\n {"q": "caf\u00e9?", "a": "yes"}]'.encode("latin-1"))
    line = 3 if suffix == ".csv" else 2
    with pytest.raises(RaitError, match=rf"toy\{suffix}:{line}: not UTF-8 text"):
        local.load(open_spec(path), "test")


def test_no_question(tmp_path):
    path = write_jsonl(tmp_path / "noq.jsonl", [{"q": "fine?", "a": "y"}, {"a": "y"}])
    with pytest.raises(RaitError, match=r"noq\.jsonl:2: record has no question"):
        local.load(open_spec(path), "test")


def test_no_answer(tmp_path):
    path = write_jsonl(tmp_path / "noa.jsonl", [{"q": "fine?", "a": "y"}, {"q": "empty?", "a": []}])
    with pytest.raises(RaitError, match=r"noa\.jsonl:2: record has no answer"):
        local.load(open_spec(path), "test")


def test_no_answer_in_json_list(tmp_path):
    path = tmp_path / "noa.json"
    path.write_text(json.dumps([{"q": "fine?", "a": "y"}, {"q": "blank?", "a": ["", " "]}]))
    with pytest.raises(RaitError, match=r"noa\.json item 1: record has no answer"):
        local.load(open_spec(path), "test")


def test_gold_not_among_labels(tmp_path):
    row = {"id": "x", "question": {"stem": "q?", "choices": [{"text": "a", "label": "1"}, {"text": "b", "label": "2"}]},
           "answerKey": "3"}
    path = write_jsonl(tmp_path / "arc.jsonl", [row])
    spec = spec_for("arc_challenge")
    spec.update(key="arc_challenge", files={"test": str(path)})
    with pytest.raises(RaitError, match=r"arc\.jsonl:1: gold '3' is not among the labels"):
        local.load(spec, "test")


def test_duplicate_ids(tmp_path):
    path = write_jsonl(tmp_path / "dup.jsonl", [{"id": 1, "q": "a?", "a": "y"}, {"id": 1, "q": "b?", "a": "y"}])
    with pytest.raises(RaitError, match="duplicate id '1'"):
        local.load(open_spec(path, id="id"), "test")


def test_glob_matching_nothing(tmp_path):
    spec = open_spec(tmp_path / "nothing" / "*.jsonl")
    with pytest.raises(RaitError, match=r"datasets\.toy\.files\.test: .* matches no file"):
        local.load(spec, "test")


def test_split_not_configured(tmp_path):
    with pytest.raises(RaitError, match=r"datasets\.toy\.files\.train: not set"):
        local.load(open_spec(tmp_path / "x.jsonl"), "train")


def test_subject_pattern_must_match(tmp_path):
    path = write_jsonl(tmp_path / "nosubject.jsonl", [{"q": "x?", "a": "y"}])
    with pytest.raises(RaitError, match=r"nosubject\.jsonl: file name does not match datasets\.toy\.fields\.subject_pattern"):
        local.load(open_spec(path, subject_pattern=r"^(?P<subject>.+)_test\.jsonl$"), "test")


def test_gold_answers_that_normalise_to_nothing_are_counted_and_warned_about(tmp_path, caplog):
    from rait.datasets import load_split

    path = write_jsonl(tmp_path / "toy.jsonl", [
        {"q": "Fine?", "a": ["yes"]},
        {"q": "Grade?", "a": ["A+", "A plus"]},  # "A+" loses its "+", then the article "a"
        {"q": "Dash?", "a": ["---"]},
    ])
    with caplog.at_level("WARNING", logger="rait.datasets"):
        records = load_split({**open_spec(path), "source": "local"}, "test")
    assert len(records) == 3
    assert "datasets.toy split test: 2 gold answer(s) normalise to nothing" in caplog.text
    assert "'A+'" in caplog.text and "'---'" in caplog.text
    assert "1 question(s) have no other answer" in caplog.text
