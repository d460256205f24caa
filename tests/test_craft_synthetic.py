"""CRaFT end to end on the synthetic world: certainty, rehearsal, flow, selection, training and evaluation
for craft and its four baselines."""

from __future__ import annotations

import csv

import pytest

from conftest import snakemake, synth_block
from rait.io import read_json, read_jsonl

# xdist: one worker runs every module of the synthetic world (tests/conftest.py, synth_run)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("world")]

CRAFT_METHODS = ("craft", "craft_noflow", "craft_nocer", "cor_rait", "van_tuning")


@pytest.fixture(scope="module")
def crafted(synth_run):
    workdir, configfile = synth_run
    snakemake(workdir, *[f"results/eval/synth_tiny_{method}.json" for method in CRAFT_METHODS + ("sft",)],
              configfile=configfile)
    # the summary covers what was evaluated when it is planned: a run of its own after the evaluations
    snakemake(workdir, "results/summary.csv", configfile=configfile)
    return workdir


def test_certainty_separates_planted_known_from_unknown_facts(crafted):
    exposure = {fact["id"]: fact["exposure"] for fact in read_jsonl(crafted / "results/synthetic/world.jsonl")}
    scores = read_jsonl(crafted / "results/knowledge/synth_tiny/certainty/synth_train.jsonl")
    mean = lambda rows: sum(r["certainty"] for r in rows) / len(rows)
    known = [r for r in scores if exposure[r["id"]] >= 4]
    unknown = [r for r in scores if exposure[r["id"]] == 0]
    assert mean(known) > mean(unknown) + 0.2, (mean(known), mean(unknown))


def test_flow_joins_every_train_question_with_its_rehearsed_correctness(crafted):
    questions = read_jsonl(crafted / "results/data/synth/train.jsonl")
    initial = {r["id"]: r for r in read_jsonl(crafted / "results/knowledge/synth_tiny/certainty/synth_train.jsonl")}
    rehearsed = {r["id"]: r for r in read_jsonl(crafted / "results/knowledge/synth_tiny/rehearsed/synth_train.jsonl")}
    flow = read_jsonl(crafted / "results/knowledge/synth_tiny/flow/synth_train.jsonl")
    assert [r["id"] for r in flow] == [q["id"] for q in questions]
    for row in flow:
        assert row["correctness"] == initial[row["id"]]["correctness"]
        assert row["correctness_rehearsal"] == rehearsed[row["id"]]["correctness"]
        assert row["flow"] == pytest.approx(row["correctness_rehearsal"] - row["correctness"])
    rehearsal = read_jsonl(crafted / "results/train_data/synth_tiny_rehearsal.jsonl")
    assert rehearsal and all(initial[r["id"]]["correctness"] >= 0.995 for r in rehearsal)


def test_craft_data_follows_the_selection_rules(crafted):
    flow = {r["id"]: r for r in read_jsonl(crafted / "results/knowledge/synth_tiny/flow/synth_train.jsonl")}
    data = read_jsonl(crafted / "results/train_data/synth_tiny_craft.jsonl")
    answers = [r for r in data if r["kind"] == "answer"]
    refusals = [r for r in data if r["kind"] == "refusal"]
    assert answers and refusals and len(answers) <= 100 and len(refusals) <= 100
    assert all(flow[r["id"]]["correctness"] >= 0.51 for r in answers)
    assert all(flow[r["id"]]["correctness"] <= 0.49 and flow[r["id"]]["flow"] <= 0 for r in refusals)
    van = read_jsonl(crafted / "results/train_data/synth_tiny_van_tuning.jsonl")
    assert {r["kind"] for r in van} == {"answer"}


def test_craft_refuses_unknown_facts_and_over_refuses_less_than_idk_sft(crafted):
    results = {m: synth_block(crafted, m)
               for m in CRAFT_METHODS + ("sft",)}
    assert results["van_tuning"]["refusal_rate"] == 0.0
    assert results["craft"]["truthful"] > results["van_tuning"]["truthful"], results
    # CRaFT's point: fewer refusals of questions the model knows (Ik, refused) than plain Idk-SFT.
    assert results["craft"]["idk_ik"] < results["sft"]["idk_ik"], (results["craft"], results["sft"])
    exposure = {fact["id"]: fact["exposure"] for fact in read_jsonl(crafted / "results/synthetic/world.jsonl")}
    refusal = read_json(crafted / "results/eval/synth_tiny_craft.json")["config"]["training"]["refusal"]
    predictions = read_jsonl(crafted / "results/predictions/synth_tiny_craft/synth_test.jsonl")
    refused = lambda rows: sum(refusal in p["answer"] for p in rows) / len(rows)
    unknown = refused([p for p in predictions if exposure[p["id"]] == 0])
    known = refused([p for p in predictions if exposure[p["id"]] >= 4])
    assert unknown > known + 0.3, (unknown, known)
    for block in results.values():
        assert -1.5 <= block["ths"] <= 1.0
    rows = {(row["model"], row["method"]) for row in csv.DictReader(open(crafted / "results/summary.csv"))}
    assert {("synth_tiny", m) for m in CRAFT_METHODS} <= rows


def test_editing_the_selection_replans_selection_and_its_dependants_not_the_rehearsal(crafted, tmp_path):
    from conftest import SYNTH_OVERRIDES, write_config

    edited = write_config(tmp_path / "edited.yaml", **SYNTH_OVERRIDES,
                          models={"synth_tiny": {"craft": {"selection": {"open": {"vanilla": 90}}}}})
    result = snakemake(crafted, "-n", "results/eval/synth_tiny_craft.json", configfile=edited)
    jobs = result.stdout.split("Job stats:")[1].split("total")[0]
    assert "build_train_data" in jobs and "train_stage" in jobs and "evaluate_method" in jobs
    for rule in ("sample_answers", "measure_certainty", "sample_rehearsed", "compute_flow"):
        assert rule not in jobs, rule
    assert "synth_tiny_rehearsal" not in result.stdout  # neither its training set nor its model
