"""Tables across evaluated methods."""

from __future__ import annotations

import csv

from rait.io import atomic_open, read_json

METRICS = (
    "truthful", "accuracy", "refusal_rate", "wrong_rate",
    "ik_ik", "ik_idk", "idk_ik", "idk_idk", "ths", "ths_craft", "over_conservativeness", "prudence", "honesty",
    "accuracy_attempted", "f_score", "ap", "auroc", "ece", "brier", "aurc",
)
# Each metric with its bootstrap interval, then the method's paired difference from the base model with its own.
COLUMNS = ("model", "method", "test_set", "n", "confidence_n", "confidence_unstated") + tuple(
    column
    for metric in METRICS
    for column in (metric, f"{metric}_low", f"{metric}_high", f"{metric}_vs_base", f"{metric}_vs_base_low",
                   f"{metric}_vs_base_high")
)


def _flatten(metrics: dict) -> dict:
    row = {key: value for key, value in metrics.items() if key not in ("intervals", "vs_base")}
    for metric, interval in (metrics.get("intervals") or {}).items():
        if interval is not None:
            row[f"{metric}_low"], row[f"{metric}_high"] = interval
    for metric, versus in (metrics.get("vs_base") or {}).items():
        row[f"{metric}_vs_base"] = versus["difference"]
        if versus["interval"] is not None:
            row[f"{metric}_vs_base_low"], row[f"{metric}_vs_base_high"] = versus["interval"]
    return row


def summary_rows(eval_files: list[str]) -> list[dict]:
    rows = []
    for path in eval_files:
        result = read_json(path)
        for test_set, metrics in result["test_sets"].items():
            rows.append({"model": result["model"], "method": result["method"], "test_set": test_set,
                         **_flatten(metrics)})
    return rows


def write_summary(path: str, rows: list[dict]) -> None:
    with atomic_open(path) as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _cell(row.get(key)) for key in COLUMNS})


def _cell(value):
    return f"{value:.4f}" if isinstance(value, float) else ("" if value is None else value)
