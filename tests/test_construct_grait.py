"""GRAIT's selection and weights (rait.construct.grait): a hand-computed table, and GRAIT's own script's choices on
200 generated cases (tests/fixtures/grait_original.json.gz, written by tools/run_grait_original.py)."""

from __future__ import annotations

import functools
import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from rait.construct import BUILDERS
from rait.construct.grait import select
from rait.errors import RaitError

FIXTURE = Path(__file__).resolve().parent / "fixtures/grait_original.json.gz"
REFUSAL = "I don't know."

# id: (correctness, answer gradient, refusal gradient). c sits on the boundary: in neither group.
TABLE = {
    "a": (1.0, (1, 0), (0, 0)),
    "b": (0.9, (0, 1), (1, 0)),
    "c": (0.5, (5, 5), (5, 5)),
    "d": (0.2, (0, 0), (1, 0)),
    "e": (0.0, (0, 0), (0, 1)),
    "f": (0.1, (0, 0), (1, 1)),
    "g": (0.3, (0, 0), (-1, 0)),
}


def inputs(table=TABLE):
    return {
        "questions": [{"id": qid, "question": f"question {qid}?", "answers": [f"gold {qid}"]} for qid in table],
        "scores": [{"id": qid, "correctness": c, "certainty": 0.5} for qid, (c, _, _) in table.items()],
        "gradients": [{"id": qid, "answer": list(a), "refusal": list(r)} for qid, (_, a, r) in table.items()],
    }


def options(vanilla=1, idk=1):
    return {"refusal": REFUSAL, "templates": {"open": "Q: {question}"},
            "grait": {"vanilla": vanilla, "idk": idk, "boundary": 0.5, "temperature": 0.05, "scale": 500}}


def chosen(records):
    return ([r["id"] for r in records if r["kind"] == "answer"],
            {r["id"]: r["grait_weight"] for r in records if r["kind"] == "refusal"})


def test_one_refusal_by_hand():
    # vanilla: a (1.0 beats b's 0.9). Greedy scores <refusal_j, answer_a>: d 1, e 0, f 1, g -1; d is picked (the
    # first maximum), then each rest score grows by <refusal_j, refusal_d>: e 0, f 2, g -2. The lowest rest: g.
    answered, refused = chosen(BUILDERS["grait"].build(inputs(), options()))
    assert answered == ["a"]
    assert refused == {"g": pytest.approx(500.0)}  # one example: the whole scale


def test_two_refusals_and_their_weights_by_hand():
    # greedy: d, then f (2 after d); then e 0 + <e, f> = 1, g -2 + <g, f> = -3: the rest, lowest first: g, e.
    answered, refused = chosen(BUILDERS["grait"].build(inputs(), options(vanilla=2, idk=2)))
    assert answered == ["a", "b"]
    # alpha = mean <r, refusal of a, b> - mean <r, refusal of d, e, f, g>: g -0.5 - (-0.25) = -0.25, e 0 - 0.5 = -0.5
    top = math.exp(-0.25 / 0.05)
    low = math.exp(-0.5 / 0.05)
    assert refused == {"g": pytest.approx(500 * top / (top + low)), "e": pytest.approx(500 * low / (top + low))}
    assert refused["g"] == pytest.approx(496.6536, abs=1e-3)


def test_examples_carry_gold_answers_and_the_refusal():
    records = BUILDERS["grait"].build(inputs(), options(vanilla=2, idk=2))
    by_id = {r["id"]: r for r in records}
    assert by_id["a"]["target"] == "gold a" and by_id["a"]["prompt"] == "Q: question a?"
    assert by_id["g"]["target"] == REFUSAL and by_id["g"]["kind"] == "refusal"
    assert "c" not in by_id  # on the boundary


def test_file_order_does_not_decide():
    shuffled = dict(reversed(list(TABLE.items())))
    assert chosen(BUILDERS["grait"].build(inputs(shuffled), options(2, 2))) == \
        chosen(BUILDERS["grait"].build(inputs(), options(2, 2)))


def test_too_few_idk_candidates_is_an_error_naming_the_key():
    with pytest.raises(RaitError, match=r"4 idk candidates.*grait.selection.idk"):
        BUILDERS["grait"].build(inputs(), options(idk=4))


def test_no_known_question_is_an_error():
    table = {qid: (0.0, a, r) for qid, (_, a, r) in TABLE.items()}
    with pytest.raises(RaitError, match="no question above correctness 0.5"):
        BUILDERS["grait"].build(inputs(table), options())


def test_a_question_without_gradients_is_named():
    data = inputs()
    data["gradients"] = data["gradients"][1:]
    with pytest.raises(RaitError, match="no gradients for question 'a'"):
        BUILDERS["grait"].build(data, options())


@functools.cache
def original_cases():
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as handle:
        return json.load(handle)["cases"]


def test_the_fixture_has_ties_boundary_questions_and_short_rests():
    cases = original_cases()
    assert len(cases) == 200
    assert sum(0.5 in case["correctness"] for case in cases) > 50
    # fewer than idk candidates left after the greedy picks: the script writes what is left
    assert any(len(case["expected"]["idk"]) < case["idk"] for case in cases)
    assert any(len(case["expected"]["idk"]) == case["idk"] for case in cases)


@pytest.mark.parametrize("number", range(200))
def test_selection_and_weights_match_grait_s_own_script(number):
    case = original_cases()[number]
    rules = {"vanilla": case["vanilla"], "idk": case["idk"], "scale": case["scale"]}
    got = select(case["correctness"], np.asarray(case["refusal"], dtype=float),
                 np.asarray(case["answer"], dtype=float), rules)
    assert sorted(got.vanilla) == case["expected"]["vanilla"]
    assert sorted(got.idk) == case["expected"]["idk"]
    expected = {int(k): v for k, v in case["expected"]["weights"].items()}
    assert got.weights == pytest.approx(expected, rel=1e-5)
