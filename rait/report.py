"""Tables across evaluated methods."""

from __future__ import annotations

import csv

from rait.io import atomic_open, read_json

COLUMNS = (
    "model", "method", "test_set", "n", "truthful", "accuracy", "refusal_rate", "wrong_rate",
    "ik_ik", "ik_idk", "idk_ik", "idk_idk", "ths", "over_conservativeness", "prudence", "honesty",
)


def summary_rows(eval_files: list[str]) -> list[dict]:
    rows = []
    for path in eval_files:
        result = read_json(path)
        for test_set, metrics in result["test_sets"].items():
            rows.append({"model": result["model"], "method": result["method"], "test_set": test_set, **metrics})
    return rows


def write_summary(path: str, rows: list[dict]) -> None:
    with atomic_open(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _cell(row.get(key)) for key in COLUMNS})


def _cell(value):
    return f"{value:.4f}" if isinstance(value, float) else ("" if value is None else value)
