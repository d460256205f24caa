"""Raw datasets to the one question format of ``rait.records``.

Each source is one loader, registered in ``SOURCES`` by the name used in a
dataset's ``source`` config key: ``hub`` (Hugging Face datasets), ``local``
(json, jsonl, csv or parquet with a field mapping), ``embedded`` (the world
knowledge set shipped in this package) and ``synthetic`` (the generated
fictional world, whose records carry a ``split`` column like the embedded set).
"""

from __future__ import annotations

import logging
import random
from importlib import resources
from pathlib import Path

from rait.errors import RaitError
from rait.io import iter_jsonl
from rait.records import check_record, check_unique_ids, declare_answerable, repeated_choices


def embedded_path(file: str) -> Path:
    return Path(str(resources.files("rait.datasets") / "embedded" / file))


def ids_path(spec: dict) -> Path | None:
    """The file of question ids a dataset entry keeps (config key ``ids``): in the package's embedded folder for an
    embedded set, else relative to the working directory; None when the entry keeps every question."""
    file = spec.get("ids")
    if not file:
        return None
    return embedded_path(file) if spec.get("source") == "embedded" else Path(file)


def read_ids(path: Path, key: str) -> dict[str, int]:
    """The ids listed in a file, one per line (blank lines and ``#`` comments skipped), each with its line number;
    a missing file, an empty one or an id listed twice is an error naming it."""
    if not path.is_file():
        raise RaitError(f"{key}: no such file {path}")
    listed: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if text in listed:
            raise RaitError(f"{path}:{number}: id {text!r} listed twice (first on line {listed[text]})")
        listed[text] = number
    if not listed:
        raise RaitError(f"{path}: lists no id ({key})")
    return listed


def keep_listed(records: list[dict], spec: dict) -> list[dict]:
    """The records whose ids the entry's ``ids`` file lists, in source order (all of them without one)."""
    path = ids_path(spec)
    if path is None:
        return records
    listed = read_ids(path, f"datasets.{spec.get('key', '?')}.ids")
    return [record for record in records if str(record["id"]) in listed]


def listed_embedded_ids(spec: dict, records: list[dict]) -> dict[str, int] | None:
    """The ids an embedded set's ``ids`` file lists (None without one), each checked to be one of ``records`` (the
    set's whole file), so that a stale or mistyped line is refused when the DAG is built."""
    path = ids_path(spec)
    if path is None:
        return None
    key = f"datasets.{spec.get('key', '?')}.ids"
    listed = read_ids(path, key)
    known = {str(record.get("id")) for record in records}
    for text, number in listed.items():
        if text not in known:
            raise RaitError(f"{path}:{number}: no question {text!r} in {spec['file']} ({key})")
    return listed


def load_split_column(path: str | Path, split: str) -> list[dict]:
    """Records of a JSONL file whose ``split`` field equals ``split``."""
    if not Path(path).exists():
        raise RaitError(f"{path}: no such file")
    records = []
    for line, record in iter_jsonl(path):
        if record.get("split") == split:
            records.append(check_record(record, f"{path}:{line}"))
    if not records:
        raise RaitError(f"{path}: no record has split {split!r}")
    return records


def _embedded(spec: dict, split: str) -> list[dict]:
    return load_split_column(embedded_path(spec["file"]), split)


def _synthetic(spec: dict, split: str) -> list[dict]:
    # the planted exposure count is the synthetic world's popularity (rait.popularity)
    return [{**record, "popularity": record["exposure"]} for record in load_split_column(spec["world"], split)]


def _hub(spec: dict, split: str) -> list[dict]:
    from rait.datasets import hub

    return hub.load(spec, split)


def _local(spec: dict, split: str) -> list[dict]:
    from rait.datasets import local

    return local.load(spec, split)


SOURCES = {"hub": _hub, "local": _local, "embedded": _embedded, "synthetic": _synthetic}


def dataset_kind(spec: dict) -> str:
    """``open`` or ``mc``: what kind of questions a dataset's config entry holds, known before it is loaded
    (CRaFT scores the two kinds differently, so the workflow needs it when the DAG is built)."""
    key = f"datasets.{spec.get('key', '?')}"
    source = spec.get("source")
    if source == "hub":
        from rait.datasets.hub import loader_of

        return loader_of(spec).kind
    if source == "local":
        return "mc" if "choices" in (spec.get("fields") or {}) else "open"
    if source == "embedded":
        path = embedded_path(spec.get("file", ""))
        if not path.is_file():
            raise RaitError(f"{key}.file: no embedded file {spec.get('file')!r} in {path.parent}")
        for _, record in iter_jsonl(path):
            return "mc" if "choices" in record else "open"
        raise RaitError(f"{path}: empty file")
    if source == "synthetic":
        return "open"
    raise RaitError(f"{key}.source: unknown source {source!r}; known: {', '.join(SOURCES)}")


def expected_size(spec: dict, split: str, *, limit: int | None = None, synthetic_facts: int | None = None) -> int | None:
    """How many questions a split will hold, known before it is prepared (None: unknown): the workflow samples a
    large split in shards and must know how many when it builds the DAG. Embedded and local files are counted,
    hub splits come from the dataset cards (``hub.LOADERS``), the synthetic world holds half its facts per split."""
    source = spec.get("source")
    key = f"datasets.{spec.get('key', '?')}"
    if source == "embedded":
        path = embedded_path(spec.get("file", ""))
        size = None
        if path.is_file():
            records = [record for _, record in iter_jsonl(path)]  # read once: checked against the ids, then counted
            listed = listed_embedded_ids(spec, records)
            size = sum(1 for record in records
                       if record.get("split") == split and (listed is None or str(record.get("id")) in listed))
    elif source == "local":
        from rait.datasets import local

        size = local.count(spec, split)
    elif source == "hub":
        from rait.datasets import hub

        size = hub.expected_size(spec, split)
    elif source == "synthetic" and synthetic_facts:
        size = (synthetic_facts + 1) // 2
    else:
        size = None
    if limit is not None and size is not None and limit > size:
        raise RaitError(f"{key}.limit.{split}: a subset of {limit} questions, but the split holds {size}"
                        f"{' of those its ids file lists' if spec.get('ids') else ''}")
    return limit if limit is not None else size


log = logging.getLogger(__name__)


def ungradable_answers(records: list[dict]) -> tuple[list[tuple], list]:
    """Gold answers of open questions that normalise to nothing ("---", ")", "A+": punctuation and articles go), so
    no response can ever match them: (id, answer) of each, and the ids of questions with no other answer."""
    from rait.grading import normalize_answer

    empty, hopeless = [], []
    for record in records:
        if "choices" in record or record.get("unanswerable"):
            continue
        bad = [answer for answer in record["answers"] if not normalize_answer(answer)]
        empty += [(record["id"], answer) for answer in bad]
        if bad and len(bad) == len(record["answers"]):
            hopeless.append(record["id"])
    return empty, hopeless


def warn_ungradable(records: list[dict], where: str) -> int:
    """Log the gold answers that can never be matched (and the questions no answer can be right for); their count."""
    empty, hopeless = ungradable_answers(records)
    if empty:
        shown = ", ".join(f"{pid}: {answer!r}" for pid, answer in empty[:5])
        log.warning("%s: %d gold answer(s) normalise to nothing and can never be matched (%s%s)%s", where, len(empty),
                    shown, ", ..." if len(empty) > 5 else "",
                    f"; {len(hopeless)} question(s) have no other answer, so every answer to them grades wrong: "
                    f"{', '.join(map(str, hopeless[:5]))}" if hopeless else "")
    return len(empty)


def load_split(spec: dict, split: str, *, limit: int | None = None, seed: int = 0) -> list[dict]:
    """Load one split; ``limit`` keeps a seeded random subset (for quick runs), in source order."""
    source = spec.get("source")
    if source not in SOURCES:
        raise RaitError(f"datasets.{spec.get('key', '?')}.source: unknown source {source!r}; known: {', '.join(SOURCES)}")
    records = keep_listed(SOURCES[source](spec, split), spec)
    if spec.get("ids") and not records:
        raise RaitError(f"datasets.{spec.get('key', '?')}.ids: {ids_path(spec)} lists no question of split {split!r}")
    check_unique_ids(records, f"datasets.{spec.get('key', '?')} split {split}")
    records = declare_answerable(records, spec.get("answerable"), f"datasets.{spec.get('key', '?')}.answerable")
    if limit is not None and limit < len(records):
        keep = set(random.Random(seed).sample(range(len(records)), limit))
        records = [record for index, record in enumerate(records) if index in keep]
    warn_ungradable(records, f"datasets.{spec.get('key', '?')} split {split}")
    repeated = repeated_choices(records)
    if repeated:
        log.warning("datasets.%s split %s: %d multiple-choice question(s) repeat an option's text (%s%s); an "
                    "answer naming that text is read as neither option", spec.get("key", "?"), split, len(repeated),
                    ", ".join(map(repr, repeated[:5])), ", ..." if len(repeated) > 5 else "")
    return records
