"""A method's greedy answers scored against the base model, on a hand-made test set."""

from __future__ import annotations

import csv
import json

import pytest

from rait.errors import RaitError
from rait.evaluation import evaluate_split
from rait.io import write_json
from rait.report import summary_rows, write_summary

IDK = "I don't know."
QUESTIONS = [{"id": f"q{i}", "question": f"Q{i}?", "answers": [f"a{i}"]} for i in range(4)]
KNOWLEDGE = [{"id": "q0", "ik": True}, {"id": "q1", "ik": True}, {"id": "q2", "ik": False}, {"id": "q3", "ik": False}]
# base samples (greedy answers): right on q0, q1; wrong on q2, q3.  method: right on q0, refuses q1 (known) and q2 (unknown), wrong on q3.
BASE = [{"id": "q0", "greedy": "a0"}, {"id": "q1", "greedy": "a1"}, {"id": "q2", "greedy": "x"}, {"id": "q3", "greedy": "y"}]
METHOD = [{"id": "q0", "answer": "a0"}, {"id": "q1", "answer": IDK}, {"id": "q2", "answer": IDK}, {"id": "q3", "answer": "z"}]


def test_scores_by_hand():
    result = evaluate_split(QUESTIONS, METHOD, BASE, KNOWLEDGE)
    assert result["n"] == 4
    assert (result["accuracy"], result["refusal_rate"], result["wrong_rate"]) == (0.25, 0.5, 0.25)
    assert (result["ik_ik"], result["ik_idk"], result["idk_ik"], result["idk_idk"]) == (0.25, 0.25, 0.25, 0.25)
    assert result["truthful"] == 0.5
    # THS = (Pc*Pw_base - Pw*Pc_base)/Pw_base = (0.25*0.5 - 0.25*0.5)/0.5 = 0
    assert result["ths"] == pytest.approx(0.0)
    # over-conservativeness: base right on q0, q1; method refuses q1 -> 1/2.
    # prudence: base not right on q2, q3, method not right on both; refuses q2 -> 1/2.
    assert (result["over_conservativeness"], result["prudence"]) == (0.5, 0.5)
    assert result["honesty"] == pytest.approx((1 - 0.5 + 0.5) / 2)


def test_missing_prediction_is_named():
    with pytest.raises(RaitError, match="question 'q3' has no predictions"):
        evaluate_split(QUESTIONS, METHOD[:3], BASE, KNOWLEDGE, origin="m on t")


def test_empty_test_set():
    with pytest.raises(RaitError, match="empty test set"):
        evaluate_split([], [], [], [], origin="m on t")


def test_summary_has_one_row_per_model_method_and_test_set(tmp_path):
    for method, accuracy in (("base", 0.5), ("sft", 0.25)):
        write_json(tmp_path / f"m_{method}.json", {"model": "m", "method": method, "test_sets": {"a": {"n": 4, "accuracy": accuracy, "ths": None}, "b": {"n": 2, "accuracy": 1.0}}})
    write_summary(tmp_path / "summary.csv", summary_rows([str(tmp_path / "m_base.json"), str(tmp_path / "m_sft.json")]))
    rows = list(csv.DictReader(open(tmp_path / "summary.csv")))
    assert [(r["method"], r["test_set"], r["accuracy"], r["ths"]) for r in rows] == [
        ("base", "a", "0.5000", ""), ("base", "b", "1.0000", ""), ("sft", "a", "0.2500", ""), ("sft", "b", "1.0000", "")
    ]


def test_summary_carries_each_interval_and_the_difference_from_base(tmp_path):
    block = {"n": 3, "accuracy": 0.5, "intervals": {"accuracy": [0.25, 0.75], "ths": None},
             "vs_base": {"accuracy": {"difference": 0.125, "interval": [-0.5, 0.75]}}}
    write_json(tmp_path / "m_sft.json", {"model": "m", "method": "sft", "test_sets": {"a": block}})
    write_summary(tmp_path / "summary.csv", summary_rows([str(tmp_path / "m_sft.json")]))
    (row,) = csv.DictReader(open(tmp_path / "summary.csv"))
    assert [row[k] for k in ("accuracy", "accuracy_low", "accuracy_high", "accuracy_vs_base",
                             "accuracy_vs_base_low", "accuracy_vs_base_high", "ths_low")] == [
        "0.5000", "0.2500", "0.7500", "0.1250", "-0.5000", "0.7500", ""]


class _Files(list):
    """A Snakemake named list, as the evaluate_method script reads its inputs."""

    def __init__(self, **named):
        super().__init__(item for files in named.values() for item in (files if isinstance(files, list) else [files]))
        self.__dict__.update(named)
        self._names = list(named)

    def keys(self):
        return self._names


def test_rait_score_gives_the_eval_files_block_for_the_same_answers(tmp_path, capsys):
    """One grading path: the workflow's evaluate_method script and `rait score` on the same answers, with
    subjects (CRaFT's THS is a mean over them) and stated confidences (the confidence metrics), give one block."""
    import random
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    from rait.cli import main as rait_cli
    from rait.io import read_json, write_jsonl

    rng = random.Random(3)
    questions, predictions, base, knowledge, lines = [], [], [], [], []
    for i in range(60):
        record = {"id": f"q{i}", "question": f"Q{i}?", "choices": ["w", "x", "y", "z"], "gold": "ABCD"[i % 4],
                  "subject": ["algebra", "anatomy", "astronomy"][i % 3]}
        answer = rng.choice(["A", "B", "C", "D", "I don't know", "The answer is (C). B is wrong.", "hmm"])
        confidence, greedy, ik = round(rng.random(), 1), rng.choice(["A", "B", "C", "D"]), rng.random() < 0.4
        questions.append(record)
        predictions.append({"id": record["id"], "prompt": "p", "answer": answer, "confidence": confidence})
        base.append({"id": record["id"], "greedy": greedy})
        knowledge.append({"id": record["id"], "ik": ik})
        lines.append({**record, "answer": answer, "confidence": confidence, "base_answer": greedy, "ik": ik})
    files = {name: tmp_path / f"{name}.jsonl" for name in ("questions", "predictions", "base", "knowledge", "lines")}
    for name, rows in (("questions", questions), ("predictions", predictions), ("base", base),
                       ("knowledge", knowledge), ("lines", lines)):
        write_jsonl(files[name], rows)
    bootstrap = {"resamples": 200, "level": 0.9, "seed": 5}
    sm = SimpleNamespace(
        input=_Files(questions=[str(files["questions"])], predictions=[str(files["predictions"])],
                     base=[str(files["base"])], knowledge=[str(files["knowledge"])]),
        output=SimpleNamespace(metrics=str(tmp_path / "m_x.json"), graded=str(tmp_path / "m_x.graded.jsonl"),
                               curves=str(tmp_path / "curves.json")),
        params=SimpleNamespace(datasets=["mmlu"], refusals=[], exact_match=False, profiles=["craft"],
                               bootstrap=bootstrap, penalty_targets=[0.8, 0.99], provenance={}),
        wildcards=SimpleNamespace(model="m", method="x"), log=[], rule="evaluate_method")
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "workflow/scripts/evaluate_method.py"),
                   init_globals={"snakemake": sm})
    block = read_json(sm.output.metrics)["test_sets"]["mmlu"]
    assert block["confidence_n"] == 60 and block["ths_craft"] is not None and block["intervals"]
    assert rait_cli(["score", str(files["lines"]), "--profile", "craft", "--resamples", "200", "--level", "0.9",
                     "--seed", "5", "--penalty-target", "0.8", "--penalty-target", "0.99"]) == 0
    assert json.loads(capsys.readouterr().out) == block
    assert block["penalty_80"] is not None and block["intervals"]["penalty_99"] and "penalty_50" not in block
