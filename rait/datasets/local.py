"""Local files (JSON, JSONL, CSV, Parquet) turned into question records.

Spec keys: ``files`` (project split -> path or glob, relative to the working
directory), optional ``format`` and ``json_field``, and ``fields`` mapping
record keys to dotted paths in the raw rows:

- ``question``; ``id`` (default ``<file stem>-<line>``); ``subject`` or
  ``subject_pattern`` (a regex with a group ``subject`` over the file name);
- open questions: ``answers``, a path to a string or a list (or a list of such
  paths, concatenated);
- multiple choice: ``choices``, a list of paths (columns) or one path to a list
  of strings or of dicts (keys ``choice_text`` / ``choice_label``, default
  ``text`` / ``label``); ``gold``, a letter, a label, or an int index;
- open questions some of which have no answer: ``answerable`` (SelfAware's column: true, false) or
  ``unanswerable`` (FalseQA's ``label``: 1 for a false premise), a boolean, 0 or 1, or the text of one; a
  question without an answer keeps none of the row's answers (FalseQA's is a rebuttal of the premise);
- ``popularity``: a number >= 0 (PopQA's ``s_pop``).

Every error names the file and line (JSONL, CSV: header is line 1), JSON item
or Parquet row, or the config key.
"""

from __future__ import annotations

import csv
import glob
import json
import math
import re
from pathlib import Path
from collections.abc import Iterator

from rait.errors import RaitError, where
from rait.io import iter_jsonl, utf8_errors
from rait.records import LETTERS, check_record, check_unique_ids

_MISSING = object()


def load(spec: dict, split: str) -> list[dict]:
    key = f"datasets.{spec.get('key', '?')}"
    fields = _check_fields(spec.get("fields"), f"{key}.fields")
    paths = _expand((spec.get("files") or {}).get(split), f"{key}.files.{split}")
    records = []
    for path in paths:
        subject = _subject_from_name(path, fields, key)
        for origin, line, raw in _rows(path, spec, key):
            record = _convert(raw, fields, origin, default_id=f"{path.stem}-{line}")
            if subject is not None:
                record["subject"] = subject
            records.append(check_record(record, origin))
    check_unique_ids(records, f"{key}.files.{split}")
    return records


def count(spec: dict, split: str) -> int:
    """Raw rows of a split's files (what ``load`` reads), without converting them."""
    key = f"datasets.{spec.get('key', '?')}"
    return sum(1 for path in _expand((spec.get("files") or {}).get(split), f"{key}.files.{split}")
               for _ in _rows(path, spec, key))


def _check_fields(fields, key: str) -> dict:
    if not isinstance(fields, dict) or "question" not in fields:
        raise RaitError(f"{key}: must map at least 'question'")
    if ("answers" in fields) == ("choices" in fields):
        raise RaitError(f"{key}: give either 'answers' (open questions) or 'choices' and 'gold'")
    if "choices" in fields and "gold" not in fields:
        raise RaitError(f"{key}.gold: required with 'choices'")
    if "subject" in fields and "subject_pattern" in fields:
        raise RaitError(f"{key}: give 'subject' or 'subject_pattern', not both")
    if "answerable" in fields and "unanswerable" in fields:
        raise RaitError(f"{key}: give 'answerable' or 'unanswerable', not both")
    if ("answerable" in fields or "unanswerable" in fields) and "choices" in fields:
        raise RaitError(f"{key}: 'answerable' and 'unanswerable' are for open questions ('answers')")
    return fields


def _expand(patterns, key: str) -> list[Path]:
    if not patterns:
        raise RaitError(f"{key}: not set")
    paths: set[str] = set()
    for pattern in [patterns] if isinstance(patterns, str) else patterns:
        paths.update(p for p in glob.glob(str(Path(pattern).expanduser()), recursive=True) if Path(p).is_file())
    if not paths:
        raise RaitError(f"{key}: {patterns!r} matches no file")
    return [Path(p) for p in sorted(paths)]


def _subject_from_name(path: Path, fields: dict, key: str):
    pattern = fields.get("subject_pattern")
    if pattern is None:
        return None
    try:
        regex = re.compile(pattern)
    except re.error as err:
        raise RaitError(f"{key}.fields.subject_pattern: bad regex ({err})") from None
    if "subject" not in regex.groupindex:
        raise RaitError(f"{key}.fields.subject_pattern: needs a group named 'subject', (?P<subject>...)")
    match = regex.search(path.name)
    if not match or not match["subject"]:
        raise RaitError(f"{path}: file name does not match {key}.fields.subject_pattern {pattern!r}")
    return match["subject"]


def _rows(path: Path, spec: dict, key: str) -> Iterator[tuple[str, int, dict]]:
    """Yield (origin for messages, line or item number, raw row); an empty file is an error."""
    fmt = spec.get("format") or path.suffix.lstrip(".").lower()
    readers = {"jsonl": _jsonl_rows, "json": _json_rows, "csv": _csv_rows, "parquet": _parquet_rows}
    if fmt not in readers:
        raise RaitError(f"{path}: unknown format {fmt!r}; set {key}.format to one of {', '.join(readers)}")
    if path.stat().st_size == 0:
        raise RaitError(f"{path}: empty file")
    count = 0
    for row in readers[fmt](path, spec, key):
        count += 1
        yield row
    if count == 0:
        raise RaitError(f"{path}: empty file, no records")


def _jsonl_rows(path, spec, key):
    for line, raw in iter_jsonl(path):
        yield where(path, line), line, raw


def _json_rows(path, spec, key):
    try:
        with utf8_errors(path):
            data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise RaitError(f"{where(path, err.lineno)}: malformed JSON ({err.msg})") from None
    if isinstance(data, dict):
        if not spec.get("json_field"):
            raise RaitError(f"{path}: holds a JSON object; set {key}.json_field to the key of its list of records")
        data = _get(data, spec["json_field"])
    if not isinstance(data, list):
        raise RaitError(f"{path}: expected a JSON list of records")
    for index, raw in enumerate(data):
        if not isinstance(raw, dict):
            raise RaitError(f"{path} item {index}: expected a JSON object, got {type(raw).__name__}")
        yield f"{path} item {index}", index, raw


def _csv_rows(path, spec, key):
    # csv.reader, not DictReader: DictReader hides skipped blank lines, and a
    # quoted field may span lines, so a row's first line is tracked by hand.
    with utf8_errors(path), open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            return
        missing = [c for c in _columns(spec["fields"]) if c not in header]
        if missing:
            raise RaitError(f"{where(path, 1)}: no column {', '.join(map(repr, missing))} (mapped in {key}.fields)")
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row:
                continue
            if len(row) != len(header):
                raise RaitError(f"{where(path, line)}: {len(row)} fields, the header has {len(header)}")
            yield where(path, line), line, dict(zip(header, row))


def _parquet_rows(path, spec, key):
    import pyarrow  # comes with datasets; yields plain lists and dicts, unlike pandas
    import pyarrow.parquet

    try:
        rows = pyarrow.parquet.read_table(path).to_pylist()
    except (pyarrow.ArrowException, OSError) as err:  # a truncated or corrupt file, or not Parquet at all
        raise RaitError(f"{path}: not a readable Parquet file ({err})") from None
    for index, raw in enumerate(rows):
        yield f"{path} row {index}", index, raw


def _columns(fields: dict) -> list[str]:
    """Top-level columns that the mapping reads."""
    paths = []
    for name in ("id", "question", "answers", "choices", "gold", "subject", "answerable", "unanswerable", "popularity"):
        value = fields.get(name)
        paths += value if isinstance(value, list) else [value] if value else []
    return list(dict.fromkeys(p.split(".")[0] for p in paths))


def _get(raw, path: str):
    value = raw
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _need(raw, fields, name, origin):
    value = _get(raw, fields[name])
    if value is _MISSING or value is None or value == "" or value == []:
        raise RaitError(f"{origin}: record has no {name} (field {fields[name]!r})")
    return value


def _text(value, origin: str = "", name: str = "value"):
    # Source text often carries stray edge spaces (MMLU); they would leak into prompts and answer matching.
    if isinstance(value, float) and not math.isfinite(value):  # JSON's NaN or Infinity: not an answer "nan"
        raise RaitError(f"{origin}: {name} is {value!r}, not text")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value


def _convert(raw: dict, fields: dict, origin: str, default_id: str) -> dict:
    record = {
        "id": _id(_need(raw, fields, "id", origin), origin) if "id" in fields else default_id,
        "question": _text(_need(raw, fields, "question", origin)),
    }
    if "answers" in fields and not _answerable(raw, fields, origin):
        record["unanswerable"], record["answers"] = True, []
    elif "answers" in fields:
        record["answers"] = _answers(raw, fields["answers"], origin)
    else:
        record["choices"], labels = _choices(raw, fields, origin)
        record["gold"], key = _gold(_need(raw, fields, "gold", origin), labels, origin)
        if key != record["gold"]:
            record["answer_key"] = key
    if "subject" in fields:
        record["subject"] = _need(raw, fields, "subject", origin)
    if "popularity" in fields:
        record["popularity"] = _need(raw, fields, "popularity", origin)  # checked by check_record, as any record's
    return record


_TRUTH = {"true": True, "false": False, "1": True, "0": False}


def _answerable(raw, fields, origin) -> bool:
    """Whether the row's question has an answer: True unless an ``answerable`` or ``unanswerable`` field says
    otherwise; a value that is not a boolean, 0 or 1 is an error naming the field."""
    name = "answerable" if "answerable" in fields else "unanswerable" if "unanswerable" in fields else None
    if name is None:
        return True
    value = _need(raw, fields, name, origin)
    if isinstance(value, bool):
        flag = value
    elif isinstance(value, (int, float)) and value in (0, 1):
        flag = bool(value)
    else:
        flag = _TRUTH.get(value.strip().lower()) if isinstance(value, str) else None
    if flag is None:
        raise RaitError(f"{origin}: {name} (field {fields[name]!r}) is {value!r}, not true/false or 1/0")
    return flag if name == "answerable" else not flag


def _id(value, origin: str) -> str:
    """An id is text or a number: a list or an object (a nested id) would become its repr."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RaitError(f"{origin}: id {value!r} is not text or a number")
    return str(_text(value, origin, "id"))


def _answers(raw, paths, origin) -> list:
    answers = []
    for path in [paths] if isinstance(paths, str) else paths:
        value = _get(raw, path)
        answers += value if isinstance(value, list) else [] if value is _MISSING or value is None else [value]
    answers = [_text(a, origin, "an answer") for a in answers
               if isinstance(a, (str, int, float)) and not isinstance(a, bool) and str(a).strip()]
    if not answers:
        raise RaitError(f"{origin}: record has no answer (field {paths!r})")
    return list(dict.fromkeys(answers))  # order kept: the canonical answer stays first


def _choices(raw, fields, origin) -> tuple[list, list]:
    """Return (texts, labels); labels are the letters unless the items carry their own."""
    spec = fields["choices"]
    if isinstance(spec, list):
        items = [_need(raw, {"choice": p}, "choice", origin) for p in spec]
    else:
        items = _need(raw, fields, "choices", origin)
    if not isinstance(items, list) or not 2 <= len(items) <= len(LETTERS):
        raise RaitError(f"{origin}: choices must be a list of 2 to {len(LETTERS)} options (field {spec!r})")
    if not all(isinstance(item, dict) for item in items):
        return [_text(t) for t in items], list(LETTERS[: len(items)])
    text_key, label_key = fields.get("choice_text", "text"), fields.get("choice_label", "label")
    texts = [_text(item.get(text_key)) for item in items]
    labels = [str(item[label_key]) if label_key in item else LETTERS[i] for i, item in enumerate(items)]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise RaitError(f"{origin}: two choices have the label {repeated[0]!r} (labels {labels}): which is the gold?")
    return texts, labels


def _gold(gold, labels: list, origin: str) -> tuple[str, str]:
    """(the gold letter, the source's own key for it: the letter itself, or a label such as ARC's "1")."""
    if isinstance(gold, int) and not isinstance(gold, bool):
        if not 0 <= gold < len(labels):
            raise RaitError(f"{origin}: gold index {gold} is out of range for {len(labels)} choices")
        return LETTERS[gold], LETTERS[gold]
    gold = str(gold).strip()
    if gold not in labels:
        raise RaitError(f"{origin}: gold {gold!r} is not among the labels {labels}")
    # ARC labels some items '1'..'4'; the letter is the label's position.
    return LETTERS[labels.index(gold)], gold
