"""A dataset's `ids` file (the demo's stratified subset), the plan-time size checks, and the stratified selection
(rait.datasets.subsets), each against a hand count."""

from __future__ import annotations

import json

import pytest

import rait.datasets as datasets
from rait.datasets import expected_size, load_split
from rait.datasets.subsets import stratified_ids
from rait.errors import RaitError


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """An embedded folder of one file: 4 train and 3 test questions."""
    rows = [{"id": f"q{i}", "question": f"Question {i}?", "answers": [f"a{i}"], "split": "train" if i < 4 else "test"}
            for i in range(7)]
    (tmp_path / "set.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    monkeypatch.setattr(datasets, "embedded_path", lambda file: tmp_path / file)
    return tmp_path


def spec(**extra):
    return {"source": "embedded", "file": "set.jsonl", "key": "mine", **extra}


def test_an_ids_file_keeps_its_questions_in_source_order_and_counts_them_at_plan_time(embedded):
    (embedded / "keep.txt").write_text("# the header\nq5\nq2\n\nq0  # first\nq6\n")
    assert [r["id"] for r in load_split(spec(ids="keep.txt"), "train")] == ["q0", "q2"]
    assert [r["id"] for r in load_split(spec(ids="keep.txt"), "test")] == ["q5", "q6"]
    assert expected_size(spec(ids="keep.txt"), "train") == 2
    assert expected_size(spec(), "train") == 4
    assert expected_size(spec(ids="keep.txt"), "test", limit=1) == 1


def test_a_limit_above_the_split_is_refused_by_key(embedded):
    assert expected_size(spec(), "test", limit=3) == 3
    with pytest.raises(RaitError, match=r"datasets.mine.limit.test: a subset of 4 questions, but the split holds 3"):
        expected_size(spec(), "test", limit=4)
    (embedded / "keep.txt").write_text("q5\nq0\n")
    with pytest.raises(RaitError, match=r"limit.test: a subset of 2 questions, but the split holds 1 of those its ids"):
        expected_size(spec(ids="keep.txt"), "test", limit=2)


@pytest.mark.parametrize("text, message", [
    ("q1\nq9\n", r"keep.txt:2: no question 'q9' in set.jsonl \(datasets.mine.ids\)"),
    ("q1\n# again\nq1\n", r"keep.txt:3: id 'q1' listed twice \(first on line 1\)"),
    ("# nothing\n", r"keep.txt: lists no id \(datasets.mine.ids\)"),
])
def test_a_bad_ids_file_is_refused_naming_its_line(embedded, text, message):
    (embedded / "keep.txt").write_text(text)
    with pytest.raises(RaitError, match=message):
        expected_size(spec(ids="keep.txt"), "train")


def test_a_missing_ids_file_or_a_split_it_leaves_empty_is_refused(embedded):
    with pytest.raises(RaitError, match=r"datasets.mine.ids: no such file .*nosuch.txt"):
        load_split(spec(ids="nosuch.txt"), "train")
    (embedded / "keep.txt").write_text("q0\n")
    with pytest.raises(RaitError, match=r"datasets.mine.ids: .*keep.txt lists no question of split 'test'"):
        load_split(spec(ids="keep.txt"), "test")


def labels(known: int, unknown: int) -> list[dict]:
    return ([{"id": f"k{i}", "ik": True} for i in range(known)]
            + [{"id": f"u{i}", "ik": False} for i in range(unknown)])


def test_stratified_ids_take_the_share_of_ik_asked_for_seeded():
    chosen = stratified_ids(labels(10, 30), 8, 0.5, seed=0)
    assert len(chosen) == 8 and chosen == sorted(chosen)
    assert sum(c.startswith("k") for c in chosen) == 4
    assert chosen == stratified_ids(labels(10, 30), 8, 0.5, seed=0)
    assert chosen != stratified_ids(labels(10, 30), 8, 0.5, seed=1)
    # round(5 * 0.5) = 2 (round half to even): 2 Ik and 3 others
    assert sum(c.startswith("k") for c in stratified_ids(labels(10, 30), 5, 0.5, seed=0)) == 2
    assert set(stratified_ids(labels(2, 2), 4, 0.5, seed=3)) == {"k0", "k1", "u0", "u1"}


def test_stratified_ids_refuse_more_than_the_labels_hold():
    with pytest.raises(RaitError, match=r"need 6 Ik and 4 others; the labels hold 5 and 30"):
        stratified_ids(labels(5, 30), 10, 0.6, seed=0, where="x.jsonl")
    with pytest.raises(RaitError, match="not between 0 and 1"):
        stratified_ids(labels(5, 30), 10, 1.5, seed=0)
