"""JSONL on disk, written atomically.

Every output goes to a temporary file beside its destination and is renamed
into place only once complete, so an interrupted job never leaves a file that
a later run would take as finished.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Iterator

from rait.errors import RaitError, where


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _stale_temporaries(path: Path) -> list[Path]:
    """What an earlier writer of ``path`` killed mid-write (SIGKILL, a node lost) left beside it: mkstemp's and
    mkdtemp's ``.{name}.XXXXXXXX.tmp``. Only one job writes a given output (Snakemake's lock; a stale orphan's
    result must not win anyway), so a new write of ``path`` clears them."""
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}\.tmp")
    return [p for p in path.parent.glob(f".{glob.escape(path.name)}.*.tmp") if pattern.fullmatch(p.name)]


def clear_stale_temporaries(path: str | os.PathLike) -> None:
    import shutil

    for stale in _stale_temporaries(Path(path)):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success move it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    # mkstemp makes the file private; outputs get the permissions a plain open() would give.
    tmp.chmod(0o666 & ~_umask())
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[Any]:
    with atomic_path(path) as tmp, open(tmp, mode, encoding="utf-8") as handle:
        yield handle


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> int:
    count = 0
    with atomic_open(path) as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_open(path) as handle:
        json.dump(obj, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def not_utf8(path: str | os.PathLike, err: UnicodeDecodeError) -> RaitError:
    """The error for a file that is not UTF-8 text, naming its line and the offending byte (the decoder's own
    message names neither the file nor the line: it saw one chunk of it)."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as whole:
        line = data.count(b"\n", 0, whole.start) + 1
        return RaitError(f"{where(path, line)}: not UTF-8 text (byte {data[whole.start:whole.start + 1]!r}, "
                         f"{whole.reason}); save the file as UTF-8")
    return RaitError(f"{path}: not UTF-8 text ({err.reason}); save the file as UTF-8")


@contextlib.contextmanager
def utf8_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn a UnicodeDecodeError while reading ``path`` into a RaitError naming the file and line."""
    try:
        yield
    except UnicodeDecodeError as err:
        raise not_utf8(path, err) from None


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield (line number, record); a malformed line is an error naming it."""
    with utf8_errors(path), open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise RaitError(f"{where(path, number)}: malformed JSON ({err.msg})") from None
            if not isinstance(record, dict):
                raise RaitError(f"{where(path, number)}: expected a JSON object, got {type(record).__name__}")
            yield number, record


def read_numbered_jsonl(path: str | os.PathLike, *, allow_empty: bool = False) -> list[tuple[int, dict]]:
    """(line number, record) of every record; a missing or (unless ``allow_empty``) empty file is an error."""
    if not Path(path).exists():
        raise RaitError(f"{path}: no such file")
    numbered = list(iter_jsonl(path))
    if not numbered and not allow_empty:
        raise RaitError(f"{path}: empty file, expected at least one record")
    return numbered


def read_jsonl(path: str | os.PathLike, *, allow_empty: bool = False) -> list[dict]:
    return [record for _, record in read_numbered_jsonl(path, allow_empty=allow_empty)]


def read_jsonl_files(paths) -> list[dict]:
    """The records of several JSONL files (a rule's per-dataset inputs), in order."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    return [record for path in paths for record in read_jsonl(path)]


def read_json(path: str | os.PathLike) -> Any:
    try:
        with utf8_errors(path), open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise RaitError(f"{path}: no such file") from None
    except json.JSONDecodeError as err:
        raise RaitError(f"{where(path, err.lineno)}: malformed JSON ({err.msg})") from None


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``path``.

    Model checkpoints are directories: a half-saved one must never sit at the
    final path, where the next rule would load it.
    """
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale_temporaries(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
