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
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ")[1:] for line in text.splitlines()
            if line.startswith("| ") and not line.startswith("| method")}
    header = next(line for line in text.splitlines() if line.startswith("| method")).split(" | ")[1:]
    column = {name.strip(" |"): index for index, name in enumerate(header)}
    assert rows["base"][column["t accuracy"]] == "**0.40 [0.30, 0.50]**"
    assert rows["sft"][column["t accuracy"]] == "0.30 [0.20, 0.40]"
    assert rows["judged"][column["t accuracy"]] == "n/a"
    assert rows["sft"][column["t truthful"]].startswith("**0.80")
    assert "**" not in rows["base"][column["t refusal_rate"]] + rows["sft"][column["t refusal_rate"]]  # no best
    assert "**" not in "".join(row[column["t ths"]] for row in rows.values())  # a column of ties has no best
    assert "## Missing" in text and "`results/eval/m_dpo.json`" in text


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
