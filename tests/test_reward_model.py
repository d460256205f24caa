"""Best-of-N's choice among scored candidates (rait.reward_model, rait.answering's best_of_n)."""

from __future__ import annotations

import pytest

from rait.answering import STRATEGIES
from rait.errors import RaitError
from rait.reward_model import best_of, distinct, sigmoid


def test_distinct_keeps_first_seen_order_and_drops_empty_answers():
    assert distinct(["Paris", "", "Lyon", "Paris", "  ", "Nice"]) == ["Paris", "Lyon", "Nice"]
    assert distinct(["x", "x", "x"]) == ["x"]


def test_best_of_picks_the_highest_score_and_the_first_of_equals():
    assert best_of(["a", "b", "c"], [0.1, 2.0, -1.0]) == ("b", 2.0)
    assert best_of(["a", "b", "c"], [1.0, 3.0, 3.0]) == ("b", 3.0)
    assert best_of(["only"], [-5.0]) == ("only", -5.0)
    with pytest.raises(RaitError, match="one score per candidate"):
        best_of(["a", "b"], [1.0])


def test_a_strategy_enriches_the_generations_with_its_job_before_its_predictions():
    """rait.answering.predictions_of: what a strategy declares (enrich, with the job's questions, settings and
    checkpoints) runs on the generations before its predictions, in the rule every strategy shares."""
    from rait.answering import AnswerJob, Strategy, predictions_of

    seen = {}

    def enrich(generated, job):
        seen.update(checkpoints=job.checkpoints, questions=[r["question"] for r in job.records])
        for row in generated:
            row["answer"] = row["greedy"].upper()

    strategy = Strategy("upper case", lambda rows, settings: [{"id": r["id"], "answer": r["answer"] + settings["mark"]}
                                                              for r in rows], enrich=enrich)
    job = AnswerJob([{"id": "q1", "question": "Capital of France?"}], {}, {"mark": "!"}, "ckpt", True, None,
                    {"scorer": "results/checkpoints/m_reward"})
    assert predictions_of(strategy, [{"id": "q1", "greedy": "paris"}], job) == [{"id": "q1", "answer": "PARIS!"}]
    assert seen == {"checkpoints": {"scorer": "results/checkpoints/m_reward"}, "questions": ["Capital of France?"]}


def test_best_of_n_predictions_keep_the_reward_and_a_confidence_in_the_unit_interval():
    rows = [{"id": "q1", "prompt": "p", "candidates": ["Lyon", "Paris"], "rewards": [-0.5, 1.5]},
            {"id": "q2", "prompt": "p", "candidates": ["I don't know."], "rewards": [0.0]}]
    first, second = STRATEGIES["best_of_n"].predictions(rows)
    assert (first["answer"], first["reward"], first["candidates"]) == ("Paris", 1.5, 2)
    assert first["confidence"] == pytest.approx(sigmoid(1.5)) and second["confidence"] == 0.5
    assert sigmoid(-800) == pytest.approx(0.0) and sigmoid(800) == 1.0
