"""Atomic outputs and line-numbered input errors."""

from __future__ import annotations

import pytest

from rait.errors import RaitError
from rait.io import atomic_dir, read_json, read_jsonl, write_jsonl


def test_interrupted_write_leaves_no_output(tmp_path):
    target = tmp_path / "out.jsonl"

    def records():
        yield {"id": 1}
        raise KeyboardInterrupt  # the job is killed mid-write

    with pytest.raises(KeyboardInterrupt):
        write_jsonl(target, records())
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_interrupted_directory_leaves_previous_state(tmp_path):
    target = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "config.json").write_text("{}")
            raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with atomic_dir(target) as tmp:
        (tmp / "config.json").write_text("{}")
    assert (target / "config.json").exists()


def test_malformed_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\n\n{"id": 2,\n')
    with pytest.raises(RaitError, match=r"bad.jsonl:3: malformed JSON"):
        read_jsonl(path)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(RaitError, match="empty.jsonl: empty file"):
        read_jsonl(tmp_path / "empty.jsonl")
    with pytest.raises(RaitError, match="nope.jsonl: no such file"):
        read_jsonl(tmp_path / "nope.jsonl")


def test_non_object_line(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text("[1, 2]\n")
    with pytest.raises(RaitError, match=r"list.jsonl:1: expected a JSON object"):
        read_jsonl(path)


def test_outputs_are_not_private(tmp_path):
    write_jsonl(tmp_path / "out.jsonl", [{"id": 1}])
    with atomic_dir(tmp_path / "model") as tmp:
        (tmp / "config.json").write_text("{}")
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o044 == 0o044
    assert (tmp_path / "model").stat().st_mode & 0o055 == 0o055


@pytest.mark.parametrize("reader", ["jsonl", "json"])
def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path, reader):
    path = tmp_path / f"data.{reader}"
    if reader == "jsonl":
        path.write_bytes(b'{"id": "a"}\n{"id": "b"}\n{"id": "caf\xe9"}\n')
    else:
        path.write_bytes(b'[\n{"id": "a"},\n{"id": "caf\xe9"}\n]\n')
    with pytest.raises(RaitError, match=rf"data.{reader}:3: not UTF-8 text \(byte b'\\xe9'"):
        read_jsonl(path) if reader == "jsonl" else read_json(path)


def test_a_new_write_clears_what_a_killed_writer_of_the_same_output_left(tmp_path):
    """SIGKILL skips the cleanup of atomic_path/atomic_dir: the next write of the same output removes the hidden
    temporary file or folder (a checkpoint-sized one for a model), and only those of that output."""
    (tmp_path / ".out.jsonl.k1lled_1.tmp").write_text('{"id": 1}\n')
    (tmp_path / ".model.abcd1234.tmp").mkdir()
    (tmp_path / ".model.abcd1234.tmp" / "model.safetensors").write_bytes(b"\0" * 64)
    kept = [".out.jsonl.gz.abcd1234.tmp", ".out.jsonl.part", ".out.jsonl.notrandom.tmp", ".model.train-0123abcd"]
    for name in kept:
        (tmp_path / name).write_text("")
    write_jsonl(tmp_path / "out.jsonl", [{"id": 2}])
    with atomic_dir(tmp_path / "model") as tmp:
        (tmp / "config.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, "model", "out.jsonl"])
