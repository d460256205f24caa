"""Tables and figures across evaluated methods: results/summary.csv and .md, and the report's plots."""

from __future__ import annotations

import csv
import logging
import os
import re
from collections import defaultdict
from pathlib import Path
from collections.abc import Mapping, Sequence

from rait.errors import RaitError
from rait.io import atomic_open, read_json, read_jsonl
from rait.metrics import METRICS as REGISTERED_METRICS
from rait.plan.layout import LAYOUT, LOG_HISTORY_FILE, STATS_FILE

log = logging.getLogger(__name__)

# The summary's metrics in column order: rait.metrics.METRICS, registered where they are defined.
METRICS = tuple(REGISTERED_METRICS)
PENALTY = re.compile(r"penalty_\d+(?:\.\d+)?")


def columns(metrics: Sequence[str] = METRICS) -> tuple[str, ...]:
    """Each metric with its bootstrap interval, then the method's paired difference from the base model with its
    own."""
    return ("model", "method", "test_set", "n", "confidence_n", "confidence_unstated") + tuple(
        column
        for metric in metrics
        for column in (metric, f"{metric}_low", f"{metric}_high", f"{metric}_vs_base", f"{metric}_vs_base_low",
                       f"{metric}_vs_base_high")
    )


COLUMNS = columns()


def summary_metrics(rows: Sequence[Mapping]) -> tuple[str, ...]:
    """``METRICS`` with the penalty scores the rows carry (the run's grading.penalty_targets, ascending) in place
    of the registered defaults; those when no row carries one."""
    found = {key for row in rows for key in row if PENALTY.fullmatch(key)}
    if not found:
        return METRICS
    penalties = sorted(found, key=lambda name: float(name.removeprefix("penalty_")))
    first = next(index for index, name in enumerate(METRICS) if PENALTY.fullmatch(name))
    rest = [name for name in METRICS if not PENALTY.fullmatch(name)]
    return tuple(rest[:first] + penalties + rest[first:])


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


def read_eval(path: str | os.PathLike) -> dict:
    """An evaluation file, checked: one of another format (an older rait's, or not an evaluation) is an error
    naming the file and what it lacks."""
    result = read_json(path)
    problem = None
    if not isinstance(result, dict):
        problem = "not a JSON object"
    elif missing := [key for key in ("model", "method", "test_sets") if key not in result]:
        problem = f"no {', '.join(repr(key) for key in missing)}"
    elif not isinstance(result["test_sets"], dict) or not all(
        isinstance(block, dict) and "n" in block for block in result["test_sets"].values()
    ):
        problem = "'test_sets' is not a mapping of test set to metrics with 'n'"
    if problem:
        raise RaitError(f"{path}: not an evaluation file of this rait version ({problem}); delete it, or rerun its "
                        "evaluation (snakemake -R evaluate_method)")
    return result


def summary_rows(eval_files: list[str]) -> list[dict]:
    rows = []
    for path in eval_files:
        result = read_eval(path)
        for test_set, metrics in result["test_sets"].items():
            rows.append({"model": result["model"], "method": result["method"], "test_set": test_set,
                         **_flatten(metrics)})
    return rows


def write_summary(path: str, rows: list[dict]) -> None:
    with atomic_open(path) as handle:
        fields = columns(summary_metrics(rows))
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _cell(row.get(key)) for key in fields})


def _cell(value):
    return f"{value:.4f}" if isinstance(value, float) else ("" if value is None else value)


# ---- results/summary.md: methods as rows, test sets x metrics as columns -----------------------------------------

# the markdown table's metrics (rait.metrics.METRICS' headline ones) and how its best is chosen (None: no best, as
# for the refusal rate)
MARKDOWN_METRICS = {name: {"higher": max, "lower": min, None: None}[metric.better]
                    for name, metric in REGISTERED_METRICS.items() if metric.headline}


# the matrix of methods against test sets (issue 27): the metrics the field compares methods by, each a heat map
# in the report and a table in the summary
MATRIX_METRICS = {"truthful": max, "accuracy": max, "refusal_rate": None, "f_score": max, "ap": max}
# the knowledge boundary (issue 28; rait.popularity): for the test sets whose questions carry a popularity
BOUNDARY_METRICS = {"boundary_auroc": max, "boundary_auroc_confidence": max, "refusal_least_popular": None,
                    "refusal_most_popular": None}


def summary_markdown(rows: Sequence[Mapping], *, metrics: Mapping = MARKDOWN_METRICS,
                     missing: Sequence[str] = (), title: str = "Summary",
                     sweeps: Mapping[tuple[str, str], Sequence[Mapping]] | None = None) -> str:
    """The comparison as a markdown table per model: one row per method, one column per test set and metric, each
    cell the value and its bootstrap interval, the best value of each column in bold; missing values are "n/a".
    Then the matrix: the same for ``MATRIX_METRICS``, test sets within each metric; where a test set has
    popularities, the knowledge boundary's ``BOUNDARY_METRICS``; and each sweep of the model's (``sweeps``:
    rait.pareto.sweep_groups), its points with the Pareto front marked."""
    lines = [f"# {title}", "",
             "Generated by rait (rule summarize_results) from the evaluation files; each cell: the metric and its "
             "95% bootstrap interval. **Bold**: the best of the column (the refusal rate has no best).", ""]
    by_model: dict[str, list[Mapping]] = defaultdict(list)
    for row in rows:
        by_model[row["model"]].append(row)
    for model, model_rows in by_model.items():
        test_sets = list(dict.fromkeys(row["test_set"] for row in model_rows))
        lines += [f"## {model}", ""]
        lines += _markdown_table(model_rows, [(t, m) for t in test_sets for m in metrics], metrics)
        lines += [f"### Matrix: {model}", "",
                  "Methods against test sets: " + ", ".join(MATRIX_METRICS) + " (F: SimpleQA's harmonic mean of "
                  "accuracy and accuracy among attempted; AP: R-Tuning's, for the answers that carry a confidence).",
                  ""]
        lines += _markdown_table(model_rows, [(t, m) for m in MATRIX_METRICS for t in test_sets], MATRIX_METRICS)
        if any(isinstance(row.get(metric), (int, float)) for row in model_rows for metric in BOUNDARY_METRICS):
            lines += [f"### Knowledge boundary: {model}", "",
                      "How well refusals (boundary_auroc: answering as a detector of the most popular bin's "
                      "questions against the least popular bin's; 0.5: blind to popularity) and stated confidence "
                      "(boundary_auroc_confidence) follow popularity, and the refusal rate of those two bins "
                      "(rait/popularity.py). On the synthetic world popularity is the planted exposure: the least "
                      "popular bin holds the facts never seen.",
                      ""]
            lines += _markdown_table(model_rows, [(t, m) for t in test_sets for m in BOUNDARY_METRICS],
                                     BOUNDARY_METRICS)
        for (sweep_model, swept), group in (sweeps or {}).items():
            if sweep_model == model:
                lines += sweep_markdown(group, model=model, swept=swept)
    if missing:
        lines += ["## Missing", "", "Expected but not evaluated (left out of the tables and plots):", ""]
        lines += [f"- `{path}`" for path in missing] + [""]
    return "\n".join(lines)


def _markdown_table(model_rows: Sequence[Mapping], wanted: Sequence[tuple[str, str]], metrics: Mapping) -> list[str]:
    """One model's table: a row per method (registry order), a column per (test set, metric) in ``wanted`` that
    has a value somewhere."""
    methods = sorted(dict.fromkeys(row["method"] for row in model_rows), key=_registry_order)
    cell = {(row["method"], row["test_set"]): row for row in model_rows}
    columns = [(test_set, metric) for test_set, metric in wanted  # no column of n/a only
               if any(isinstance(cell.get((m, test_set), {}).get(metric), (int, float)) for m in methods)]
    best = {}
    for test_set, metric in columns:
        values = [cell[(m, test_set)].get(metric) for m in methods if (m, test_set) in cell]
        values = [v for v in values if isinstance(v, (int, float))]
        if len(set(values)) > 1 and metrics[metric] is not None:  # a column of ties has no best
            best[(test_set, metric)] = metrics[metric](values)
    lines = ["| method | " + " | ".join(f"{test_set} {metric}" for test_set, metric in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for method in methods:
        cells = []
        for test_set, metric in columns:
            row = cell.get((method, test_set), {})
            cells.append(_markdown_cell(row.get(metric), row.get(f"{metric}_low"), row.get(f"{metric}_high"),
                                        bold=best.get((test_set, metric)) == row.get(metric)))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines + [""]


def sweep_markdown(group: Sequence[Mapping], *, model: str, swept: str) -> list[str]:
    """A sweep's table: a row per point (rait.pareto.sweep_groups), per test set its accuracy, wrong-answer rate
    and refusal rate with their intervals, and a mark where it lies on that test set's Pareto front."""
    from rait.pareto import sweep_rows

    test_sets = list(dict.fromkeys(t for point in group for t in point["test_sets"]))
    by_test_set = {t: {row["method"]: row for row in sweep_rows(group, t)} for t in test_sets}
    columns = [(t, m) for t in test_sets for m in ("accuracy", "wrong_rate", "refusal_rate")]
    lines = [f"### Sweep: {swept} on {model}", "",
             f"Each point is {swept} trained with one value of the swept setting (config key sweeps.{swept}); "
             "front: on the test set's Pareto front of accuracy against wrong-answer rate (no other point has at "
             "least the accuracy and at most the wrong answers, better on one).", "",
             "| point | method | " + " | ".join(f"{t} {m}" for t, m in columns)
             + " | " + " | ".join(f"{t} front" for t in test_sets) + " |",
             "|---|---|" + "---:|" * len(columns) + ":---:|" * len(test_sets)]
    for point in group:
        cells = []
        for test_set, metric in columns:
            row = by_test_set[test_set].get(point["method"], {})
            interval = (row.get("intervals") or {}).get(metric) or (None, None)
            cells.append(_markdown_cell(row.get(metric), *interval, bold=False))
        fronts = ["yes" if by_test_set[t].get(point["method"], {}).get("front") else "" for t in test_sets]
        lines.append(f"| {point['label']} | {point['method']} | " + " | ".join(cells) + " | " + " | ".join(fronts)
                     + " |")
    return lines + [""]


def _registry_order(method: str) -> tuple[int, str]:
    """The registry's order (base, prompt, the Say-I-Dont-Know family, ...); a sweep's point (rait.plan.sweeps:
    ``<method>_<sweep><value>``) right after the method it varies; methods it does not know last."""
    from rait.methods import METHODS

    order = list(METHODS)
    if method in order:
        return (order.index(method), method)
    swept = max((name for name in order if method.startswith(f"{name}_")), key=len, default=None)
    return (order.index(swept) if swept else len(order), method)


def _markdown_cell(value, low, high, *, bold: bool) -> str:
    if not isinstance(value, (int, float)):
        return "n/a"
    text = f"{value:.2f}"
    if isinstance(low, (int, float)) and isinstance(high, (int, float)):
        text += f" [{low:.2f}, {high:.2f}]"
    return f"**{text}**" if bold else text


def write_markdown(path: str, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text)


# ---- the report's figures -----------------------------------------------------------------------------------------


def quadrant_rows(results: Sequence[Mapping], model: str, test_set: str) -> list[dict]:
    """One row per method evaluated on ``test_set`` by ``model``: method, quadrants, accuracy, refusal, intervals."""
    rows = []
    for result in results:
        block = result["test_sets"].get(test_set) if result["model"] == model else None
        if block is not None:
            rows.append({"method": result["method"], **block})
    return rows


def matrix_cells(results: Sequence[Mapping], model: str) -> dict[tuple[str, str, str], float | None]:
    """(metric, method, test set) -> value of ``model``'s evaluations, for ``MATRIX_METRICS``."""
    return {(metric, result["method"], test_set): block.get(metric)
            for result in results if result["model"] == model
            for test_set, block in result["test_sets"].items() for metric in MATRIX_METRICS}


def figure_files(*, evals: Sequence[str], curves: Sequence[str], checkpoints: Sequence[Mapping],
                 knowledge: Sequence[str], flows: Sequence[str], thresholds: Mapping[str, float],
                 out: Mapping[str, str], base: str = "base") -> dict[str, list[str]]:
    """Draw every figure the inputs allow into the category folders ``out`` (comparison, knowledge, training,
    evaluation, data); returns the files written per category. ``checkpoints``: {"model", "stage", "path"} each.
    Knowledge paths follow rait's layout: ``knowledge/{model}/{dataset}_{split}.jsonl``,
    ``.../flow/{dataset}_train.jsonl``."""
    from rait import plots
    from rait.pareto import sweep_groups, sweep_rows

    written: dict[str, list[str]] = defaultdict(list)
    for folder in out.values():  # every category's folder exists, if empty: Snakemake's outputs
        Path(folder).mkdir(parents=True, exist_ok=True)

    def save(category: str, relative: str, fig) -> None:
        path = Path(out[category]) / relative
        plots.save(fig, path)
        written[category].append(str(path))

    results = [read_eval(path) for path in evals]
    for model in dict.fromkeys(result["model"] for result in results):
        test_sets = dict.fromkeys(t for result in results if result["model"] == model for t in result["test_sets"])
        save("comparison", f"matrix/{model}/all_test_sets.svg",  # the report pattern: {figure}/{model}/{test_set}
             plots.matrix_figure(matrix_cells(results, model), model=model, metrics=list(MATRIX_METRICS),
                                 methods=sorted({r["method"] for r in results if r["model"] == model},
                                                key=_registry_order), test_sets=list(test_sets)))
        for test_set in test_sets:
            rows = quadrant_rows(results, model, test_set)
            save("comparison", f"quadrants/{model}/{test_set}.svg",
                 plots.quadrant_figure(rows, model=model, test_set=test_set))
            save("comparison", f"tradeoff/{model}/{test_set}.svg",
                 plots.tradeoff_figure(rows, model=model, test_set=test_set, base=base))
    by_popularity: dict[tuple[str, str], dict[str, list]] = defaultdict(dict)
    for path in curves:
        curve = read_json(path)
        drawn = {test_set: block for test_set, block in curve["test_sets"].items() if block.get("n")}
        if drawn:  # only the methods whose answers carry a confidence
            save("evaluation", f"{curve['model']}/{curve['method']}.svg",
                 plots.confidence_figure(drawn, model=curve["model"], method=curve["method"]))
        for test_set, block in curve["test_sets"].items():
            if block.get("popularity"):  # rait.popularity: a test set whose questions carry a popularity
                by_popularity[curve["model"], test_set][curve["method"]] = block["popularity"]
    for (model, test_set), methods in by_popularity.items():
        save("comparison", f"popularity/{model}/{test_set}.svg",
             plots.popularity_figure(dict(sorted(methods.items())), model=model, test_set=test_set))
    for (model, swept), group in sweep_groups(results).items():
        for test_set in dict.fromkeys(t for point in group for t in point["test_sets"]):
            save("comparison", f"sweep_{swept}/{model}/{test_set}.svg",
                 plots.sweep_figure(sweep_rows(group, test_set), model=model, test_set=test_set, swept=swept))
    stages = []
    for checkpoint in checkpoints:
        model, stage, path = checkpoint["model"], checkpoint["stage"], checkpoint["path"]
        history_file = Path(path) / LOG_HISTORY_FILE
        if not Path(path).is_dir():  # deleted to save disk once its evaluation was done
            log.warning("%s: no such checkpoint (deleted?): no training curve", path)
            continue
        if not history_file.exists():  # one checkpoint without a curve does not cost the whole report
            log.warning("%s: no %s (trained by an older rait): no training curve; retrain it to draw one", path,
                        LOG_HISTORY_FILE)
            continue
        history = read_jsonl(history_file, allow_empty=True)
        save("training", f"{model}/{stage}.svg", plots.training_figure(history, model=model, stage=stage))
        stats = read_json(Path(path) / STATS_FILE)
        stages.append({"model": model, "stage": stage, "examples": stats.get("n_examples"),
                       "steps": stats.get("steps"), "train_loss": stats.get("train_loss")})
    datasets = []
    for path in knowledge:
        named = LAYOUT.parse_knowledge(path)
        model, dataset, split = named["model"], named["dataset"], named["split"]
        records = read_jsonl(path, allow_empty=True)
        known = [record["ik"] for record in records if isinstance(record.get("ik"), bool)]
        datasets.append({"model": model, "dataset": dataset, "split": split, "questions": len(records),
                         "known": round(sum(known) / len(known), 4) if known else None})
        if split == "train":
            save("knowledge", f"distribution/{model}/{dataset}.svg",
                 plots.knowledge_histogram([r["correctness"] for r in records], threshold=thresholds[model],
                                           model=model, dataset=dataset))
    for path in flows:
        named = LAYOUT.parse_knowledge(path)
        model, dataset = named["model"], named["dataset"]
        save("knowledge", f"craft/{model}/{dataset}.svg",
             plots.craft_figure(read_jsonl(path, allow_empty=True), model=model, dataset=dataset))
    for model in dict.fromkeys([row["model"] for row in datasets] + [row["model"] for row in stages]):
        path = Path(out["data"]) / f"{model}/data.csv"
        _write_data_table(path, [r for r in datasets if r["model"] == model],
                          [r for r in stages if r["model"] == model])
        written["data"].append(str(path))
    return dict(written)


def _write_data_table(path: Path, datasets: list[dict], stages: list[dict]) -> None:
    """The questions per dataset and split with the share the model knows, and each trained stage's examples."""
    columns = ("what", "name", "split", "questions_or_examples", "known_share", "steps", "train_loss")
    with atomic_open(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in datasets:
            writer.writerow(["dataset", row["dataset"], row["split"], row["questions"], _cell(row["known"]), "", ""])
        for row in stages:
            writer.writerow(["training stage", row["stage"], "train", row["examples"], "", row["steps"],
                             _cell(row["train_loss"])])

