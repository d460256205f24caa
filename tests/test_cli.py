"""`rait score` on predictions files in a scratch directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rait.agreement import PAIRS, pair_name
from rait.cli import main
from rait.errors import BAD_INPUT_EXIT
from test_metrics import HAND_COMPUTED

REPO = Path(__file__).resolve().parents[1]

LINES = [
    # method correct, base correct, Ik
    {"id": "q1", "question": "Capital of France?", "answers": ["Paris"], "answer": "Paris.", "ik": True, "base_answer": "Paris"},
    # method refuses, base wrong, Idk
    {"id": "q2", "question": "Capital of Peru?", "answers": ["Lima"], "answer": "I don't know.", "ik": False, "base_answer": "Cusco"},
    # method wrong, base refuses, Idk
    {"id": "q3", "question": "2 + 2?", "choices": ["3", "4", "5", "6"], "gold": "B", "answer": "The answer is C.", "ik": False, "base_answer": "I'm not sure"},
    # method unparsed, base correct, Ik
    {"id": "q4", "question": "1 + 2?", "choices": ["3", "4"], "gold": "A", "answer": "Hmm, hard to say", "ik": True, "base_answer": "A"},
]

# The same four questions as tests/test_metrics.py's hand-computed table (method, base and Ik grades alike). Each
# question has an answer, so the one refusal (q2) is a false one: abstention precision 0 of 1, no recall (nothing to
# refuse), F1 2*0/(1 + 0) = 0, refused among the four answerable 1/4.
# Every rule profile grades q1 right and the others not (Say-I-Dont-Know's grades only the open q1 and q2), so
# each pair of them agrees perfectly: kappa 1; no judge ran, so its pairs are None.
EXPECTED = {**HAND_COMPUTED, "abstention_precision": 0.0, "abstention_recall": None, "abstention_f1": 0.0,
            "false_refusal_rate": 0.25,
            **{pair_name(*pair): None if "judge" in pair else 1.0 for pair in PAIRS}}


def write_lines(path: Path, lines) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def points(result: dict) -> dict:
    """The metrics, without the bootstrap's intervals and differences from the base model."""
    assert set(result) == set(EXPECTED) | {"intervals", "vs_base"}
    return {key: value for key, value in result.items() if key in EXPECTED}


def test_score_prints_metrics_to_stdout(tmp_path, capsys):
    predictions = write_lines(tmp_path / "predictions.jsonl", LINES)
    assert main(["score", str(predictions), "--resamples", "50"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert points(result) == pytest.approx(EXPECTED)
    assert result["intervals"]["accuracy"][0] <= 0.25 <= result["intervals"]["accuracy"][1]
    assert result["vs_base"]["accuracy"]["difference"] == pytest.approx(0.25 - 0.5)


def test_score_writes_output_file(tmp_path, capsys):
    predictions = write_lines(tmp_path / "predictions.jsonl", LINES)
    output = tmp_path / "out" / "metrics.json"
    assert main(["score", str(predictions), "--output", str(output), "--resamples", "20"]) == 0
    assert capsys.readouterr().out == ""
    assert points(json.loads(output.read_text())) == pytest.approx(EXPECTED)
    assert [p.name for p in output.parent.iterdir()] == ["metrics.json"]  # no temporary file left


def test_missing_inputs_are_null(tmp_path, capsys):
    lines = [{k: v for k, v in line.items() if k not in ("ik", "base_answer")} for line in LINES]
    assert main(["score", str(write_lines(tmp_path / "p.jsonl", lines))]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] == 0.25
    assert all(result[k] is None for k in ("ik_ik", "truthful", "ths", "prudence", "honesty"))


def test_refusal_and_exact_options(tmp_path, capsys):
    lines = [
        {"id": "a", "question": "Capital of France?", "answers": ["Paris"], "answer": "It is Paris."},
        {"id": "b", "question": "Capital of Peru?", "answers": ["Lima"], "answer": "No idea, sorry."},
    ]
    predictions = str(write_lines(tmp_path / "p.jsonl", lines))
    assert main(["score", predictions]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["score", predictions, "--exact", "--refusal", "No idea", "--refusal", "Ask someone else"]) == 0
    strict = json.loads(capsys.readouterr().out)
    # Plain: "It is Paris." contains the alias; "No idea" is a wrong answer.
    assert (plain["accuracy"], plain["wrong_rate"], plain["refusal_rate"]) == (0.5, 0.5, 0.0)
    # --exact: "it is paris" != "paris"; --refusal: "No idea" is now a refusal.
    assert (strict["accuracy"], strict["wrong_rate"], strict["refusal_rate"]) == (0.0, 0.5, 0.5)


def test_questions_file_supplies_gold_answers(tmp_path, capsys):
    questions = [{k: v for k, v in line.items() if k not in ("answer", "ik", "base_answer")} for line in LINES]
    predictions = [{k: line[k] for k in ("id", "answer", "ik", "base_answer")} for line in reversed(LINES)]
    q = write_lines(tmp_path / "questions.jsonl", questions)
    p = write_lines(tmp_path / "p.jsonl", predictions)
    assert main(["score", str(p), "--questions", str(q), "--resamples", "20"]) == 0
    assert points(json.loads(capsys.readouterr().out)) == pytest.approx(EXPECTED)


def expect_failure(capsys, argv, output: Path, *fragments: str) -> None:
    assert main([*argv, "--output", str(output)]) == 65
    captured = capsys.readouterr()
    assert captured.out == ""
    for fragment in fragments:
        assert fragment in captured.err, captured.err
    assert "Traceback" not in captured.err
    assert not output.exists()
    assert not list(output.parent.glob(f".{output.name}.*"))


def test_missing_prediction_names_the_line(tmp_path, capsys):
    lines = [LINES[0], {k: v for k, v in LINES[1].items() if k != "answer"}]
    path = write_lines(tmp_path / "p.jsonl", lines)
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", f"{path}:2:", "has no field 'answer'")


def test_a_number_among_the_answers_or_as_the_prediction_names_the_line(tmp_path, capsys):
    number_answer = {"id": "n", "question": "How many legs?", "answers": [4, "four"], "answer": "4"}
    path = write_lines(tmp_path / "p.jsonl", [LINES[0], number_answer])
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", f"{path}:2:", "answers[0] is 4, not text")
    number_prediction = {"id": "n", "question": "How many legs?", "answers": ["4"], "answer": 4}
    path = write_lines(tmp_path / "q.jsonl", [LINES[0], number_prediction])
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", f"{path}:2:", "has 4 as its answer, not text")


@pytest.mark.parametrize("gold", [None, "", "AB", "E", 1])
def test_bad_gold_names_the_line(tmp_path, capsys, gold):
    bad = {k: v for k, v in LINES[2].items() if k != "gold"} | ({} if gold is None else {"gold": gold})
    path = write_lines(tmp_path / "p.jsonl", [LINES[0], LINES[1], bad])
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", f"{path}:3:", f"gold {gold!r}")


def test_missing_answers_names_the_line(tmp_path, capsys):
    path = write_lines(tmp_path / "p.jsonl", [{k: v for k, v in LINES[0].items() if k != "answers"}])
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", f"{path}:1: record has no answer")


def test_duplicate_id_names_both_lines(tmp_path, capsys):
    path = write_lines(tmp_path / "p.jsonl", [LINES[0], LINES[1], {**LINES[2], "id": "q1"}])
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", f"{path}:3: duplicate id 'q1' (first on line 1)")


def test_unknown_and_unanswered_ids_with_questions_file(tmp_path, capsys):
    q = write_lines(tmp_path / "questions.jsonl", [{k: v for k, v in LINES[0].items() if k != "answer"}])
    p = write_lines(tmp_path / "p.jsonl", [{"id": "q1", "answer": "Paris"}, {"id": "q7", "answer": "x"}])
    expect_failure(capsys, ["score", str(p), "--questions", str(q)], tmp_path / "m.json", str(p), "unknown question id(s) 'q7'")
    p = write_lines(tmp_path / "p2.jsonl", [{"id": "q7", "answer": "x"}])
    q = write_lines(tmp_path / "q2.jsonl", [{k: v for k, v in line.items() if k != "answer"} for line in LINES[:2]])
    expect_failure(capsys, ["score", str(p), "--questions", str(q)], tmp_path / "m.json", "unknown question id(s) 'q7'")


def test_partial_ik_names_the_ids(tmp_path, capsys):
    path = write_lines(tmp_path / "p.jsonl", [LINES[0], {k: v for k, v in LINES[1].items() if k != "ik"}])
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", str(path), "'ik' is given for some predictions but not for id(s) 'q2'")


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_file(tmp_path, capsys, content):
    path = tmp_path / "p.jsonl"
    path.write_text(content)
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", f"{path}: empty file")


def test_malformed_json_names_the_line(tmp_path, capsys):
    path = write_lines(tmp_path / "p.jsonl", [LINES[0], '{"id": "q2", "answer": '])
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", f"{path}:2: malformed JSON")


def test_non_object_line_names_the_line(tmp_path, capsys):
    path = write_lines(tmp_path / "p.jsonl", [LINES[0], "[1, 2]"])
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", f"{path}:2: expected a JSON object")


def test_missing_file(tmp_path, capsys):
    path = tmp_path / "nope.jsonl"
    expect_failure(capsys, ["score", str(path)], tmp_path / "m.json", f"{path}: no such file")


def test_failure_leaves_existing_output_untouched(tmp_path, capsys):
    output = tmp_path / "m.json"
    output.write_text("old\n")
    path = write_lines(tmp_path / "p.jsonl", ['{"broken'])
    assert main(["score", str(path), "--output", str(output)]) == 65
    assert output.read_text() == "old\n"


def test_penalty_targets_option_sets_the_penalty_scores_and_refuses_a_bad_one(tmp_path, capsys):
    """q1 right, q2 refused, q3 and q4 wrong (unparsed): at t = 0.95 a wrong answer costs 19, (1 - 38) / 4."""
    path = write_lines(tmp_path / "p.jsonl", LINES)
    assert main(["score", str(path), "--resamples", "10", "--penalty-target", "0.95", "--penalty-target", "0.6"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["penalty_95"] == pytest.approx((1 - 38) / 4) and result["penalty_60"] == pytest.approx((1 - 3) / 4)
    assert "penalty_50" not in result and "penalty_95" in result["intervals"]
    assert main(["score", str(path), "--penalty-target", "1"]) == BAD_INPUT_EXIT
    assert "rait score: --penalty-target: its confidence target lies strictly between 0 and 1" in capsys.readouterr().err


def test_python_dash_m_entry_point(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", LINES)
    ok = subprocess.run([sys.executable, "-m", "rait.cli", "score", str(path), "--resamples", "20"], capture_output=True,
                        text=True, cwd=REPO)
    assert ok.returncode == 0, ok.stderr
    assert points(json.loads(ok.stdout)) == pytest.approx(EXPECTED)
    bad = write_lines(tmp_path / "bad.jsonl", [LINES[0], "{oops"])
    failed = subprocess.run([sys.executable, "-m", "rait.cli", "score", str(bad)], capture_output=True, text=True, cwd=REPO)
    assert failed.returncode == 65 and failed.stdout == ""
    assert f"{bad}:2: malformed JSON" in failed.stderr and "Traceback" not in failed.stderr


def test_score_with_a_papers_profile(tmp_path, capsys):
    lines = [{"id": "a", "question": "Reptile with a shell?", "answers": ["turtle"], "answer": "Turtles"},
             {"id": "b", "question": "Capital of Peru?", "answers": ["Lima"], "answer": "I don’t know."}]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert main(["score", str(path), "--resamples", "20"]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert main(["score", "--profile", "craft", str(path), "--resamples", "20"]) == 0
    theirs = json.loads(capsys.readouterr().out)
    # rait: "Turtles" is not the whole word "turtle", the curly "don’t" is a refusal; CRaFT: the reverse of both
    assert (ours["accuracy"], ours["refusal_rate"]) == (0.0, 0.5)
    assert (theirs["accuracy"], theirs["refusal_rate"]) == (0.5, 0.0)
