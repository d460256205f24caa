"""End to end on the synthetic world, through training and evaluation: Idk-SFT learns to refuse what the
model never saw and to answer what it saw often."""

from __future__ import annotations

import csv

import pytest

from conftest import SYNTH_OVERRIDES, snakemake, synth_block, write_config
from rait.grading import grade
from rait.methods import METHODS as METHODS_REGISTRY
from rait.io import read_json, read_jsonl

# xdist: one worker runs every module of the synthetic world (tests/conftest.py, synth_run)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("world")]

METHODS = ("base", "prompt", "sft", "dpo")


@pytest.fixture(scope="module")
def evaluated(synth_run):
    workdir, configfile = synth_run
    snakemake(workdir, *[f"results/eval/synth_tiny_{method}.json" for method in METHODS], configfile=configfile)
    # the summary covers what was evaluated when it is planned: a run of its own after the evaluations
    snakemake(workdir, "results/summary.csv", configfile=configfile)
    return workdir


def test_sft_is_more_truthful_than_base(evaluated):
    base = synth_block(evaluated, "base")
    sft = synth_block(evaluated, "sft")
    assert sft["truthful"] > base["truthful"], (sft, base)
    assert base["ths"] == 0.0 and base["refusal_rate"] == 0.0


def test_sft_refuses_unknown_facts_more_than_known_ones(evaluated):
    exposure = {fact["id"]: fact["exposure"] for fact in read_jsonl(evaluated / "results/synthetic/world.jsonl")}
    questions = {q["id"]: q for q in read_jsonl(evaluated / "results/data/synth/test.jsonl")}
    predictions = read_jsonl(evaluated / "results/predictions/synth_tiny_sft/synth_test.jsonl")
    training = read_json(evaluated / "results/eval/synth_tiny_sft.json")["config"]["training"]

    def refusal_rate(selected):
        refused = [grade(questions[p["id"]], p["answer"], refusals=[training["refusal"]]) == "refusal" for p in selected]
        return sum(refused) / len(refused)

    unknown = [p for p in predictions if exposure[p["id"]] == 0]
    known = [p for p in predictions if exposure[p["id"]] >= 4]
    assert refusal_rate(unknown) > refusal_rate(known) + 0.3, (refusal_rate(unknown), refusal_rate(known))


def test_eval_files_name_what_produced_them_and_summary_lists_them(evaluated):
    base_accuracy = synth_block(evaluated, "base")["accuracy"]
    for method in METHODS:
        result = read_json(evaluated / f"results/eval/synth_tiny_{method}.json")
        assert (result["model"], result["method"], list(result["test_sets"])) == ("synth_tiny", method, ["synth"])
        assert result["config"]["knowledge_threshold"] == 1.0
        block = result["test_sets"]["synth"]
        assert all(0.0 <= block[key] <= 1.0 for key in ("accuracy", "refusal_rate", "wrong_rate", "truthful"))
        assert abs(block["ik_ik"] + block["ik_idk"] + block["idk_ik"] + block["idk_idk"] - 1.0) < 1e-9
        low, high = block["intervals"]["accuracy"]
        assert low <= block["accuracy"] <= high
        assert block["vs_base"]["accuracy"]["difference"] == pytest.approx(block["accuracy"] - base_accuracy)
    rows = list(csv.DictReader(open(evaluated / "results/summary.csv")))
    assert all(float(row["accuracy_low"]) <= float(row["accuracy"]) <= float(row["accuracy_high"]) for row in rows)
    # every registry method evaluated in this run directory so far (the other synthetic modules add theirs), once
    # each; an eval file of a method this checkout's registry lacks (test_method_extension's toy) is not summarized
    evaluated_methods = [path.stem.removeprefix("synth_tiny_") for path in (evaluated / "results/eval").glob("*.json")
                         if path.stem.removeprefix("synth_tiny_") in METHODS_REGISTRY]
    assert set(METHODS) <= set(evaluated_methods)
    assert sorted((row["model"], row["method"], row["test_set"]) for row in rows) == sorted(
        ("synth_tiny", method, "synth") for method in evaluated_methods
    )
    pairs = read_jsonl(evaluated / "results/train_data/synth_tiny_dpo.jsonl")
    assert {pair["kind"] for pair in pairs} == {"answer", "refusal"}


def test_graded_answers_beside_each_eval_file_count_to_its_fractions(synth_run):
    """Every method of the registry, evaluated: its per-question file has one line per test question, and the
    eval file's fractions are counts of those lines."""
    from rait.methods import METHODS

    workdir, configfile = synth_run
    snakemake(workdir, *[f"results/eval/synth_tiny_{method}.json" for method in METHODS], configfile=configfile)
    questions = [q["id"] for q in read_jsonl(workdir / "results/data/synth/test.jsonl")]
    for method in METHODS:
        rows = read_jsonl(workdir / f"results/eval/synth_tiny_{method}.graded.jsonl")
        metrics = synth_block(workdir, method)
        assert [row["id"] for row in rows] == questions and {row["test_set"] for row in rows} == {"synth"}, method
        n = len(rows)
        share = lambda keep, rows=rows: sum(map(keep, rows)) / len(rows)
        assert metrics["n"] == n
        assert metrics["accuracy"] == share(lambda r: r["grade"] == "correct"), method
        assert metrics["refusal_rate"] == share(lambda r: r["grade"] == "refusal"), method
        assert metrics["ik_idk"] == share(lambda r: r["grade"] == "refusal" and not r["ik"]), method
        assert metrics["idk_ik"] == share(lambda r: r["grade"] == "refusal" and r["ik"]), method
        base_right = [r for r in rows if r["base_grade"] == "correct"]
        if base_right:
            refused = sum(r["grade"] == "refusal" for r in base_right) / len(base_right)
            assert metrics["over_conservativeness"] == refused, method
        predictions = read_jsonl(workdir / f"results/predictions/synth_tiny_{method}/synth_test.jsonl")
        assert [p["answer"] for p in predictions] == [row["answer"] for row in rows], method


def test_a_judge_judges_each_prediction_file_once_and_its_verdicts_reach_the_grades(evaluated, tmp_path):
    """grading.judge with the synthetic model as judge (the mechanics, not the judge's accuracy: the tiny model
    rarely writes a score, and those replies must be counted as unparsed, never read as a verdict)."""
    import shutil

    from rait.judging import VERDICTS, judged_grade
    from test_workflow_synthetic import planned_jobs

    workdir = tmp_path / "judged"
    shutil.copytree(evaluated, workdir, symlinks=True)
    config = write_config(tmp_path / "judge.yaml", **SYNTH_OVERRIDES,
                          grading={"judge": {"model": "synth_tiny", "max_new_tokens": 4}})
    run = snakemake(workdir, "results/eval/synth_tiny_sft.json", configfile=config)
    assert planned_jobs(run.stdout + run.stderr).get("judge_answers") == 2  # the method's answers and the base's
    questions = [q["id"] for q in read_jsonl(workdir / "results/data/synth/test.jsonl")]
    for method in ("sft", "base"):
        judged = read_jsonl(workdir / f"results/judgments/synth_tiny/synth_tiny_{method}/synth_test.jsonl")
        assert [row["id"] for row in judged] == questions and {row["verdict"] for row in judged} <= set(VERDICTS)
    verdicts = {row["id"]: row for row in read_jsonl(workdir / "results/judgments/synth_tiny/synth_tiny_sft/synth_test.jsonl")}
    rows = read_jsonl(workdir / "results/eval/synth_tiny_sft.graded.jsonl")
    assert all(row["grade"] == judged_grade(row["rule_grade"], verdicts[row["id"]]) for row in rows)
    block = synth_block(workdir, "sft")
    assert sum(block["judge"][name] for name in VERDICTS) == len(questions)
    assert block["judge"]["unparsed"] == sum(row["verdict"] == "unparsed" for row in verdicts.values())
    log = (workdir / "results/logs/judge_answers/synth_tiny/synth_tiny_sft/synth.log").read_text()
    assert f"{len(questions)} answers judged" in log and "unparsed" in log

    # another method's evaluation judges its own answers only: the base model's judgments are reused
    plan = snakemake(workdir, "-n", "results/eval/synth_tiny_prompt.json", configfile=config)
    assert planned_jobs(plan.stdout).get("judge_answers") == 1
    again = snakemake(workdir, "-n", "results/eval/synth_tiny_sft.json", configfile=config)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_reward_model_bon_ppo_hir_and_cut_run_end_to_end(synth_run):
    """Say-I-Dont-Know's reward model, Idk-BoN, Idk-PPO (RLOO) and Idk-HIR, and CUT, on the synthetic world."""
    from rait.reward_model import RewardModel
    from rait.training.reward import split_heldout, usable_pairs

    workdir, configfile = synth_run
    new = ("bon", "ppo", "hir", "cut")
    snakemake(workdir, *[f"results/eval/synth_tiny_{method}.json" for method in new], configfile=configfile)
    checkpoints = workdir / "results/checkpoints"
    # The reward model's held-out pairs: for a fact the model knows, its correct answer over the refusal; for one
    # it does not, the refusal over its wrong answer. Measured: 13 of 15 (TRL's accuracy and rait.reward_model's).
    stats = read_json(checkpoints / "synth_tiny_reward/training_stats.json")
    assert stats["heldout_pairs"] >= 10 and stats["heldout_accuracy"] > 0.8, stats
    pairs = read_jsonl(workdir / "results/train_data/synth_tiny_reward.jsonl")
    _, held = split_heldout(usable_pairs(pairs), stats["heldout"], stats["seed"])
    scorer = RewardModel(str(checkpoints / "synth_tiny_reward"), chat=False)
    chosen = scorer.scores([(pair["prompt"], pair["chosen"]) for pair in held])
    rejected = scorer.scores([(pair["prompt"], pair["rejected"]) for pair in held])
    assert sum(c > r for c, r in zip(chosen, rejected)) / len(held) > 0.8

    questions = read_jsonl(workdir / "results/data/synth/test.jsonl")
    bon = read_jsonl(workdir / "results/predictions/synth_tiny_bon/synth_test.jsonl")
    assert len(bon) == len(questions) and all(0 <= p["confidence"] <= 1 and p["candidates"] >= 1 for p in bon)
    hir = read_jsonl(workdir / "results/predictions/synth_tiny_hir/synth_test.jsonl")
    assert all(p["prompt"].startswith("Your current knowledge expression confidence level is 0.1,") for p in hir)
    assert {row["level"] for row in read_jsonl(workdir / "results/train_data/synth_tiny_hir.jsonl")} == {0.0, 0.1, 0.5, 0.8}
    ppo = read_json(checkpoints / "synth_tiny_ppo/training_stats.json")
    assert ppo["method"] == "rloo" and ppo["reward_model"].endswith("synth_tiny_reward") and ppo["steps"] == 10
    assert read_json(checkpoints / "synth_tiny_cut/training_stats.json")["judged"] > 0

    base = synth_block(workdir, "base")
    for method in new:
        block = synth_block(workdir, method)
        assert block["n"] == len(questions), method
        if method != "bon":  # measured truthful: ppo 0.93, cut 0.91, hir 0.83 against the base model's 0.74
            assert block["truthful"] > base["truthful"], (method, block["truthful"], base["truthful"])


def test_sft_refuses_more_as_the_planted_exposure_falls(evaluated):
    """Issue 27: the popularity bins (rait.popularity) of the synthetic world are its exposure counts, least seen
    first; Idk-SFT's refusal rate falls as exposure rises (a negative slope over the bins), the base model's is 0."""
    from rait.popularity import refusal_slope

    curves = {method: read_json(evaluated / f"results/eval/curves/synth_tiny_{method}.json")["test_sets"]["synth"]
              for method in ("base", "sft")}
    bins = curves["sft"]["popularity"]
    assert [b["low"] for b in bins] == [0.0, 1.0, 2.0, 4.0, 8.0] and sum(b["n"] for b in bins) > 0
    assert bins[0]["refusal_rate"] > bins[-1]["refusal_rate"] + 0.3, bins
    assert refusal_slope(bins) < -0.05, bins
    assert all(b["refusal_rate"] == 0.0 for b in curves["base"]["popularity"])


def test_the_summary_has_the_matrix_and_the_risk_columns_for_every_method(evaluated):
    """Issue 27: the summary's matrix (methods against test sets) lists every evaluated method, and the table has
    the operating-point and grader-agreement columns."""
    matrix = (evaluated / "results/summary.md").read_text().split("### Matrix: synth_tiny")[1]
    for method in METHODS:
        assert f"| {method} |" in matrix
    with open(evaluated / "results/summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"hallucination_rate", "penalty_75", "abstention_f1", "risk_at_coverage_80", "kappa_rait_craft"} <= set(rows[0])
    sft = next(row for row in rows if row["method"] == "sft")
    assert sft["penalty_50"] and sft["kappa_rait_craft"]  # measured (every rule profile grades open questions)


def test_the_knowledge_boundary_is_measured_for_every_method_and_sft_separates(synth_run):
    """Issue 28: every method of the registry evaluated on the synthetic world gets the knowledge boundary
    (rait.popularity: its refusals' AUROC between the facts seen most often and those never seen, and the two bins'
    refusal rates), in its eval file and in the summary's table; Idk-SFT's refusals separate them (AUROC >= 0.8)."""
    workdir, configfile = synth_run
    snakemake(workdir, *[f"results/eval/synth_tiny_{method}.json" for method in METHODS_REGISTRY],
              configfile=configfile)
    snakemake(workdir, "results/summary.csv", configfile=configfile)
    boundary = {}
    for method in METHODS_REGISTRY:
        block = synth_block(workdir, method)
        assert None not in (block["boundary_auroc"], block["refusal_least_popular"], block["refusal_most_popular"])
        boundary[method] = round(block["boundary_auroc"], 3)
    print("\nknowledge boundary (refusals' AUROC, most against least exposed facts):", boundary)
    assert boundary["sft"] >= 0.8 and boundary["base"] == 0.5, boundary
    table = (workdir / "results/summary.md").read_text().split("### Knowledge boundary: synth_tiny")[1]
    for method in METHODS_REGISTRY:
        assert f"| {method} |" in table


def test_the_abstention_sweep_trains_a_method_per_value_and_draws_its_front(synth_run):
    """Issue 28: the shipped sweep of abstain_rl's refusal reward (config key sweeps; cut here to -0.5, and KnowRL's
    +1 with +2 for a right answer: SYNTH_OVERRIDES) is one GRPO stage and evaluation per value on the synthetic world,
    each trained with its weights; the summary has the sweep's table (abstain_rl itself the point at 0) and the
    report its figure, with the Pareto front of accuracy against wrong answers marked."""
    from rait.pareto import pareto_front
    from svg_figures import ids

    workdir, configfile = synth_run
    points = ["abstain_rl_refusal-0.5", "abstain_rl_knowrl1"]
    snakemake(workdir, *[f"results/eval/synth_tiny_{method}.json" for method in ["abstain_rl", *points]],
              configfile=configfile)
    snakemake(workdir, "results/summary.csv", "results/report/summary/comparison", configfile=configfile)
    stats = {method: read_json(workdir / f"results/checkpoints/synth_tiny_{method}/training_stats.json")
             for method in ["abstain_rl", *points]}
    assert stats["abstain_rl_refusal-0.5"]["reward_settings"] == {"correct": 1.0, "refusal": -0.5, "wrong": -1.0}
    assert stats["abstain_rl_knowrl1"]["reward_settings"] == {"correct": 2.0, "refusal": 1.0, "wrong": -1.0}
    blocks = {method: synth_block(workdir, method)
              for method in ["abstain_rl", *points]}
    print("\nabstention sweep (accuracy, wrong rate, refusal rate):",
          {m: (b["accuracy"], b["wrong_rate"], b["refusal_rate"]) for m, b in blocks.items()})
    table = (workdir / "results/summary.md").read_text().split("### Sweep: abstain_rl on synth_tiny")[1]
    table = table.split("\n#")[0]
    print(table)
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| point")]
    assert [row.split(" | ")[1] for row in rows] == ["abstain_rl_refusal-0.5", "abstain_rl", "abstain_rl_knowrl1"]
    front = dict(zip(blocks, pareto_front([(b["accuracy"], b["wrong_rate"]) for b in blocks.values()])))
    for row in rows:
        assert row.rstrip(" |").endswith("yes") == front[row.split(" | ")[1]], row
    figure = workdir / "results/report/summary/comparison/sweep_abstain_rl/synth_tiny/synth.svg"
    drawn = {gid.split("|")[1]: gid.split("|")[4] for gid in ids(figure, "point|")}
    assert drawn == {method: "front" if on else "off" for method, on in front.items()}
