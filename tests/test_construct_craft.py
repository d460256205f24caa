"""CRaFT's selection rules and its baselines on small hand-made tables."""

from __future__ import annotations

import pytest

from rait.construct import build
from rait.errors import RaitError

TEMPLATES = {"open": "Q: {question}", "mc": "{question}\n{choices}\nAnswer:"}
REFUSAL = "I don't know."
SELECTION = {
    "open": {"correct": 0.51, "wrong": 0.49, "vanilla": 1, "idk": 1, "upsample": False},
    "mc": {"learn": 0.5, "vanilla": 1, "idk": 1, "upsample": True},
}


def options(**overrides):
    base = {"refusal": REFUSAL, "seed": 0, "templates": TEMPLATES, "selection": SELECTION,
            "rehearsal": {"correctness": 0.995, "certainty": 0.995, "count": 2, "on_short": "use", "seed": 0}}
    return {**base, **overrides}


def open_q(qid):
    return {"id": qid, "question": f"question {qid}?", "answers": [f"gold {qid}"]}


def mc_q(qid, gold="B"):
    return {"id": qid, "question": f"question {qid}?", "choices": ["w", "x", "y", "z"], "gold": gold}


# id: (correctness, certainty, flow)
OPEN = {
    "o1": (0.9, 0.8, 0.0),   # vanilla
    "o2": (0.51, 0.9, 0.0),  # vanilla, exactly at the threshold, most certain
    "o3": (0.5, 0.99, 0.0),  # between the thresholds: neither
    "o4": (0.49, 0.3, -0.1),  # idk, exactly at the threshold
    "o5": (0.0, 0.2, 0.0),   # idk: never right, cannot flow down
    "o6": (0.2, 0.1, 0.3),   # would be learned anyway (flow > 0): dropped by craft, idk without flow
}
MC = {
    "m1": (0.5, 0.7, 0.0),   # learn, at the threshold
    "m2": (0.8, 0.9, -0.2),  # learn, most certain
    "m3": (0.3, 0.4, 0.1),   # flow > 0: dropped
    "m4": (0.2, 0.6, 0.0),   # idk (flow 0)
    "m5": (0.1, 0.5, -0.3),  # idk, least certain
}


def table(rows, make):
    questions = [make(qid) for qid in rows]
    scores = [{"id": qid, "correctness": c, "certainty": k, "flow": f} for qid, (c, k, f) in rows.items()]
    return {"questions": questions, "scores": scores}


def chosen(examples, kind):
    return sorted(e["id"] for e in examples if e["kind"] == kind)


def test_craft_open_orders_by_certainty_and_filters_by_flow():
    examples = build("craft", table(OPEN, open_q), options())
    assert chosen(examples, "answer") == ["o2"]  # highest certainty among o1, o2
    assert chosen(examples, "refusal") == ["o5"]  # lowest certainty among o4, o5 (o6 dropped by its flow)
    by_id = {e["id"]: e for e in examples}
    assert by_id["o2"]["target"] == "gold o2" and by_id["o5"]["target"] == REFUSAL
    assert by_id["o2"]["prompt"] == "Q: question o2?" and by_id["o5"]["flow"] == 0.0


def test_craft_noflow_keeps_the_questions_flow_would_drop():
    examples = build("craft_noflow", table(OPEN, open_q), options())
    assert chosen(examples, "refusal") == ["o6"]  # lowest certainty, flow ignored
    assert chosen(examples, "answer") == ["o2"]


def test_fewer_candidates_than_asked_takes_them_all_without_upsampling():
    wide = {**SELECTION, "open": {**SELECTION["open"], "vanilla": 5, "idk": 5}}
    examples = build("craft", table(OPEN, open_q), options(selection=wide))
    assert chosen(examples, "answer") == ["o1", "o2"] and chosen(examples, "refusal") == ["o4", "o5"]
    order = [e["id"] for e in examples]
    assert order == ["o2", "o1", "o5", "o4"]  # vanilla most certain first, idk least certain first


def test_craft_mc_learns_drops_and_refuses_and_upsamples_short_lists():
    examples = build("craft", table(MC, mc_q), options())
    assert chosen(examples, "answer") == ["m2"] and chosen(examples, "refusal") == ["m5"]
    assert next(e for e in examples if e["id"] == "m2")["target"] == "B. x"
    wide = {**SELECTION, "mc": {**SELECTION["mc"], "vanilla": 5, "idk": 4}}
    examples = build("craft", table(MC, mc_q), options(selection=wide))
    answers = [e["id"] for e in examples if e["kind"] == "answer"]
    refusals = [e["id"] for e in examples if e["kind"] == "refusal"]
    assert len(answers) == 5 and set(answers) == {"m1", "m2"} and answers[:2] == ["m2", "m1"]
    assert len(refusals) == 4 and set(refusals) == {"m4", "m5"}  # m3 flowed up: never refused


def test_certainty_ties_fall_back_to_the_id_whatever_the_file_order():
    rows = {"b": (0.9, 0.5, 0.0), "a": (0.9, 0.5, 0.0), "c": (0.0, 0.1, 0.0)}
    data = table(rows, open_q)
    forward = build("craft", data, options())
    backward = build("craft", {"questions": data["questions"][::-1], "scores": data["scores"][::-1]}, options())
    assert [e["id"] for e in forward] == [e["id"] for e in backward] == ["a", "c"]


def test_nocer_and_cor_rait_sample_at_random_but_reproducibly():
    rows = {f"v{i}": (0.9, i / 10, 0.0) for i in range(8)} | {f"u{i}": (0.0, i / 10, 0.0) for i in range(8)}
    rows["u7"] = (0.0, 0.7, 0.5)  # flows up
    wide = {**SELECTION, "open": {**SELECTION["open"], "vanilla": 3, "idk": 3}}
    data = table(rows, open_q)
    for method in ("craft_nocer", "cor_rait"):
        first = build(method, data, options(selection=wide))
        again = build(method, data, options(selection=wide))
        other = build(method, data, options(selection=wide, seed=1))
        assert first == again and len(first) == 6
        assert [e["id"] for e in first] != [e["id"] for e in other]
    nocer = set(chosen(build("craft_nocer", data, options(selection={**wide, "open": {**wide["open"], "idk": 8}})), "refusal"))
    assert "u7" not in nocer and len(nocer) == 7
    cor = set(chosen(build("cor_rait", data, options(selection={**wide, "open": {**wide["open"], "idk": 8}})), "refusal"))
    assert "u7" in cor and len(cor) == 8


def test_no_idk_candidate_is_a_clear_error():
    rows = {"a": (0.9, 0.5, 0.0), "b": (0.2, 0.5, 0.4)}
    with pytest.raises(RaitError, match="no idk candidate among 2 open questions"):
        build("craft", table(rows, open_q), options(origin="craft.jsonl"))


def test_missing_scores_are_named():
    data = table(OPEN, open_q)
    data["scores"] = data["scores"][1:]
    with pytest.raises(RaitError, match="no scores for question 'o1'"):
        build("craft", data, options())


def test_van_tuning_samples_questions_with_gold_targets_only():
    data = table(OPEN, open_q)
    examples = build("van_tuning", {"questions": data["questions"]}, options())
    assert len(examples) == 2 and {e["kind"] for e in examples} == {"answer"}
    assert all(e["target"] == f"gold {e['id']}" for e in examples)


def test_rehearsal_takes_certain_known_questions_with_the_models_own_answer():
    questions = [open_q("a"), open_q("b"), open_q("c")]
    scores = [{"id": "a", "correctness": 0.995, "certainty": 0.995},  # at both thresholds
              {"id": "b", "correctness": 1.0, "certainty": 0.99},
              {"id": "c", "correctness": 1.0, "certainty": 1.0}]
    samples = [{"id": "a", "greedy": "", "samples": ["It is gold a.", "gold a", "gold a", "wrong"]},
               {"id": "c", "greedy": "", "samples": ["gold c!", "gold c"]}]
    examples = build("rehearsal", {"questions": questions, "scores": scores, "samples": samples}, options())
    assert {e["id"]: e["target"] for e in examples} == {"a": "gold a", "c": "gold c!"}  # most frequent; first on a tie


def test_rehearsal_short_or_empty_candidates():
    questions = [open_q("a"), open_q("b")]
    scores = [{"id": "a", "correctness": 1.0, "certainty": 1.0}, {"id": "b", "correctness": 0.2, "certainty": 1.0}]
    data = {"questions": questions, "scores": scores}
    assert [e["id"] for e in build("rehearsal", data, options())] == ["a"]  # 1 of 2 asked, logged
    strict = options(rehearsal={"correctness": 0.995, "certainty": 0.995, "count": 2, "on_short": "error", "seed": 0})
    with pytest.raises(RaitError, match="1 rehearsal candidates, 2 asked"):
        build("rehearsal", data, strict)
    data["scores"][0]["certainty"] = 0.5
    with pytest.raises(RaitError, match="no question reaches correctness >= 0.995"):
        build("rehearsal", data, options())
