"""results/summary.md and the report's figures from evaluation files: the best value of each column marked,
None shown as "n/a", missing evaluations listed, and a file of another format named in the error."""

from __future__ import annotations

import json

import pytest

from rait.errors import RaitError
from rait.report import figure_files, read_eval, summary_markdown, summary_rows
from svg_figures import bar_heights


def evaluation(method: str, accuracy, refusal, **extra) -> dict:
    block = {"n": 10, "accuracy": accuracy, "refusal_rate": refusal, "truthful": None if accuracy is None else
             accuracy + refusal, "ths": 0.0, "auroc": None, "ik_ik": accuracy, "ik_idk": refusal, "idk_ik": 0.0,
             "idk_idk": None if accuracy is None else 1 - accuracy - refusal,
             "intervals": {"accuracy": None if accuracy is None else [accuracy - 0.1, accuracy + 0.1]}, **extra}
    return {"model": "m", "method": method, "config": {}, "test_sets": {"t": block}}


def write(tmp_path, result) -> str:
    path = tmp_path / f"m_{result['method']}.json"
    path.write_text(json.dumps(result))
    return str(path)


def test_markdown_marks_the_best_of_each_column_shows_none_as_na_and_lists_the_missing(tmp_path):
    files = [write(tmp_path, evaluation("base", 0.4, 0.0)), write(tmp_path, evaluation("sft", 0.3, 0.5)),
             write(tmp_path, evaluation("judged", None, 0.2))]
    text = summary_markdown(summary_rows(files), missing=["results/eval/m_dpo.json"])
    headline, matrix = text.split("### Matrix: m")
    rows, column = table(headline)
    assert rows["base"][column["t accuracy"]] == "**0.40 [0.30, 0.50]**"
    assert rows["sft"][column["t accuracy"]] == "0.30 [0.20, 0.40]"
    assert rows["judged"][column["t accuracy"]] == "n/a"
    assert rows["sft"][column["t truthful"]].startswith("**0.80")
    assert "**" not in rows["base"][column["t refusal_rate"]] + rows["sft"][column["t refusal_rate"]]  # no best
    assert "**" not in "".join(row[column["t ths"]] for row in rows.values())  # a column of ties has no best
    assert "## Missing" in text and "`results/eval/m_dpo.json`" in text
    # the matrix (issue 27): truthful, accuracy, refusal rate, F and AP per test set; a metric no method has
    # (AP: no confidences here) has no column
    rows, column = table(matrix)
    assert list(column) == ["t truthful", "t accuracy", "t refusal_rate"]
    assert rows["base"][column["t accuracy"]] == "**0.40 [0.30, 0.50]**" and rows["judged"][column["t accuracy"]] == "n/a"


def table(text: str) -> tuple[dict, dict]:
    """A markdown table's rows (method -> cells) and columns (name -> index)."""
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:] for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| method")}
    header = next(line for line in text.splitlines() if line.startswith("| method")).split(" | ")[1:]
    return rows, {name.strip(" |"): index for index, name in enumerate(header)}


@pytest.mark.parametrize("content, lacks", [
    ({"model": "m", "method": "x", "metrics": {}}, "'test_sets'"),
    ({"model": "m", "method": "x", "test_sets": {"t": {"accuracy": 0.5}}}, "with 'n'"),
    ([1, 2], "not a JSON object"),
])
def test_an_eval_file_of_another_format_is_an_error_naming_it(tmp_path, content, lacks):
    path = tmp_path / "m_old.json"
    path.write_text(json.dumps(content))
    with pytest.raises(RaitError, match=f"m_old.json: not an evaluation file of this rait version.*{lacks}"):
        read_eval(path)
    with pytest.raises(RaitError, match="m_old.json"):
        summary_rows([str(path)])


def test_figures_from_evaluations_and_a_checkpoint_without_log_history_or_deleted_is_skipped(tmp_path):
    files = [write(tmp_path, evaluation("base", 0.4, 0.0)), write(tmp_path, evaluation("sft", 0.3, 0.5))]
    (tmp_path / "checkpoints" / "m_sft").mkdir(parents=True)
    old_checkpoint = {"model": "m", "stage": "sft", "path": str(tmp_path / "checkpoints" / "m_sft")}
    out = {category: str(tmp_path / "out" / category) for category in ("comparison", "knowledge", "training",
                                                                        "evaluation", "data")}
    deleted = {"model": "m", "stage": "dpo", "path": str(tmp_path / "checkpoints" / "m_dpo")}  # to save disk
    written = figure_files(evals=files, curves=[], checkpoints=[old_checkpoint, deleted], knowledge=[],
                           flows=[], thresholds={"m": 0.5}, out=out)
    heights = bar_heights(tmp_path / "out/comparison/quadrants/m/t.svg")
    assert heights["bar|sft|ik_idk"] == pytest.approx(0.5, abs=1e-4)
    assert "training" not in written and all((tmp_path / "out" / c).is_dir() for c in out)


def test_the_matrix_heat_map_has_a_cell_per_method_test_set_and_metric(tmp_path):
    """Issue 27: methods against test sets for truthful, accuracy, refusal rate, F and AP; a missing value is an
    n/a cell, never a 0."""
    files = [write(tmp_path, evaluation("base", 0.4, 0.0, f_score=0.4)), write(tmp_path, evaluation("sft", 0.3, 0.5))]
    out = {category: str(tmp_path / category) for category in ("comparison", "knowledge", "training", "evaluation",
                                                                "data")}
    written = figure_files(evals=files, curves=[], checkpoints=[], knowledge=[], flows=[], thresholds={}, out=out)
    assert str(tmp_path / "comparison/matrix/m/all_test_sets.svg") in written["comparison"]
    svg = (tmp_path / "comparison/matrix/m/all_test_sets.svg").read_text()
    for metric, method, value in (("accuracy", "base", 0.4), ("refusal_rate", "sft", 0.5), ("truthful", "sft", 0.8),
                                  ("f_score", "base", 0.4), ("f_score", "sft", None), ("ap", "base", None)):
        assert f'id="cell|{metric}|{method}|t|{value!r}"' in svg, (metric, method)


def test_the_knowledge_boundary_table_appears_only_where_a_test_set_has_popularities():
    rows = [{"model": "m", "method": method, "test_set": test_set, "accuracy": 0.5, **boundary}
            for method, boundary in (("base", {"boundary_auroc": 0.5, "refusal_least_popular": 0.0}),
                                     ("sft", {"boundary_auroc": 0.9, "boundary_auroc_low": 0.8,
                                              "boundary_auroc_high": 0.95, "refusal_least_popular": 0.8}))
            for test_set in ("synth",)]
    table = summary_markdown(rows).split("### Knowledge boundary: m")[1]
    assert "| synth boundary_auroc | synth refusal_least_popular |" in table  # no column of n/a only
    assert "| sft | **0.90 [0.80, 0.95]** | 0.80 |" in table  # the refusal rates have no best
    plain = [{key: value for key, value in row.items() if not key.startswith(("boundary", "refusal_"))} for row in rows]
    assert "Knowledge boundary" not in summary_markdown(plain)
