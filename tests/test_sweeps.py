"""Issue 28's sweeps as Python: a config list becomes one method and stage per value (rait.plan.sweeps), checked at
plan time by its key; and the report's side, the Pareto front and the sweep's table and figure (rait.pareto), on
hand-made evaluations."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from snakemake.utils import validate

from conftest import REPO, deep_merge
from rait import methods as registry
from rait.errors import RaitError
from rait.pareto import pareto_front, sweep_groups, sweep_rows
from rait.plan import Plan
from rait.plan.sweeps import value_text
from rait.report import summary_markdown, summary_rows
from svg_figures import ids

SHIPPED = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
SETTING = "training.grpo.abstention.refusal"


def plan_with(sweeps, **overrides) -> Plan:
    config = deep_merge({k: v for k, v in copy.deepcopy(SHIPPED).items() if k != "sweeps"}, overrides)
    config["sweeps"] = sweeps
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return Plan(config)


@pytest.fixture(scope="module")
def shipped() -> Plan:
    return plan_with(SHIPPED["sweeps"])


def options(plan: Plan, model: str, stage: str) -> dict:
    return json.loads(plan.trainer_options(model, stage))


# ---- the plan -----------------------------------------------------------------------------------------------------


def test_the_shipped_abstention_sweep_is_one_method_per_value_after_abstain_rl(shipped):
    points = ["abstain_rl_refusal-0.5", "abstain_rl_refusal-0.25", "abstain_rl_refusal0.25", "abstain_rl_refusal0.5",
              "abstain_rl_knowrl1"]
    assert list(shipped.sweeps) == points
    names = list(shipped.methods)
    assert names[names.index("abstain_rl") + 1: names.index("abstain_rl") + 6] == points
    assert set(registry.METHODS) < set(names)  # the registry itself is untouched
    assert "abstain_rl_refusal0.5" not in registry.METHODS
    for point in points:
        # its own stage, after the Idk-SFT that abstain_rl starts from too (trained once)
        assert registry.trained_stages(shipped.methods[point], shipped.stages) == ["sft", point]
        assert shipped.stages[point].start == "sft" and shipped.stages[point].reward == "abstention"
        assert shipped.stage_start("smollm2_135m", point) == shipped.stage_start("smollm2_135m", "abstain_rl")
        assert shipped.methods[point].demo == registry.METHODS["abstain_rl"].demo
    weights = {point: options(shipped, "smollm2_135m", point)["reward_settings"] for point in points}
    assert weights["abstain_rl_refusal-0.5"] == {"correct": 1.0, "refusal": -0.5, "wrong": -1.0}
    assert weights["abstain_rl_refusal0.25"] == {"correct": 1.0, "refusal": 0.25, "wrong": -1.0}
    assert weights["abstain_rl_knowrl1"] == {"correct": 2.0, "refusal": 1.0, "wrong": -1.0}  # KnowRL's
    assert options(shipped, "smollm2_135m", "abstain_rl")["reward_settings"] == {"correct": 1.0, "refusal": 0.0,
                                                                                  "wrong": -1.0}
    # apart from the reward, a point trains as abstain_rl does (the model's hparams included)
    own = options(shipped, "smollm2_135m", "abstain_rl")
    point = options(shipped, "smollm2_135m", "abstain_rl_refusal-0.5")
    assert {k: v for k, v in point.items() if k != "reward_settings"} == {k: v for k, v in own.items()
                                                                          if k != "reward_settings"}
    assert shipped.eval_provenance("smollm2_135m", "abstain_rl_knowrl1")["sweep"] == {
        "method": "abstain_rl", "sweep": "knowrl", "setting": SETTING, "value": 1.0,
        "with": {"training": {"grpo": {"abstention": {"correct": 2.0}}}}}
    assert "sweep" not in shipped.eval_provenance("smollm2_135m", "abstain_rl")
    assert shipped.evaluation_of("results/eval/smollm2_135m_abstain_rl_refusal-0.25.json") == (
        "smollm2_135m", "abstain_rl_refusal-0.25")


def test_a_models_own_method_settings_carry_over_and_the_swept_value_wins_over_every_layer():
    plan = plan_with({"abstain_rl": {"refusal": {"setting": SETTING, "values": [-0.5]}}},
                     models={"smollm2_135m": {"training": {"grpo": {"abstention": {"refusal": 0.3}}},
                                              "methods": {"abstain_rl": {"training": {"grpo": {
                                                  "abstention": {"wrong": -2.0}, "hparams": {"max_steps": 3}}}}}}})
    point = options(plan, "smollm2_135m", "abstain_rl_refusal-0.5")
    assert point["reward_settings"] == {"correct": 1.0, "refusal": -0.5, "wrong": -2.0}
    assert point["hparams"]["max_steps"] == 3
    assert options(plan, "smollm2_135m", "abstain_rl")["reward_settings"]["refusal"] == 0.3


def test_a_sweep_of_a_training_hyper_parameter_is_a_method_too():
    plan = plan_with({"dpo": {"beta": {"setting": "training.dpo.hparams.beta", "values": [0.05, 0.5]}}})
    assert list(plan.sweeps) == ["dpo_beta0.05", "dpo_beta0.5"]
    assert options(plan, "smollm2_135m", "dpo_beta0.5")["hparams"]["beta"] == 0.5
    # DPO's pairs come from the shared warm-up's samples; only the DPO stage is new
    assert registry.trained_stages(plan.methods["dpo_beta0.5"], plan.stages) == ["sft_half", "dpo_beta0.5"]


def test_value_text_names_a_value_as_written():
    assert [value_text(v) for v in (-0.5, 0.25, 1.0, 2, 0.0, -1e-3)] == ["-0.5", "0.25", "1", "2", "0", "-0.001"]


@pytest.mark.parametrize("sweeps, message", [
    ({"abstain_rl": {"refusal": {"setting": SETTING, "values": [-0.5, 0.25, -0.5]}}},
     "sweeps.abstain_rl.refusal.values: -0.5 given twice"),
    ({"abstain_rl": {"refusal": {"setting": SETTING, "values": [-0.5, "high"]}}},
     "sweeps.abstain_rl.refusal.values[1]: 'high' is not a number"),
    ({"abstain_rl": {"refusal": {"setting": SETTING, "values": [True]}}},
     "sweeps.abstain_rl.refusal.values[0]: True is not a number"),
    ({"abstain_rl": {"refusal": {"setting": SETTING, "values": [0.0, 0.5]}}},
     "sweeps.abstain_rl.refusal.values: 0 is the value 'abstain_rl' trains with"),
    # a reward setting on a method without a reward, or with another one
    ({"sft": {"refusal": {"setting": SETTING, "values": [0.5]}}},
     "sweeps.sft.refusal.setting: 'training.grpo.abstention.refusal' sets trainer 'grpo', but stage 'sft' trains "
     "with 'sft'"),
    ({"calibrated_rl": {"refusal": {"setting": SETTING, "values": [0.5]}}},
     "is a weight of reward 'abstention', but stage 'calibrated_rl' trains with reward 'calibration'"),
    ({"abstain_rl": {"r": {"setting": "training.grpo.abstention.refusel", "values": [0.5]}}},
     "'training.grpo.abstention.refusel' is not a numeric setting of stage 'abstain_rl' (it is None)"),
    ({"abstain_rl": {"r": {"setting": "data.threshold", "values": [0.5]}}}, "is not a trainer setting"),
    ({"dpo": {"b": {"setting": "training.dpo.hparams.betta", "values": [0.5]}}},
     "config key sweeps.dpo.b.setting: unknown key 'betta' (not a field of trl.DPOConfig); did you mean 'beta'"),
    ({"abstain_rll": {"r": {"setting": SETTING, "values": [0.5]}}},
     "config key sweeps.abstain_rll: unknown method 'abstain_rll' (did you mean 'abstain_rl'?)"),
    ({"bon": {"n": {"setting": "training.reward.hparams.learning_rate", "values": [0.5]}}},
     "method 'bon' has no stage of its own"),
    ({"base": {"n": {"setting": SETTING, "values": [0.5]}}}, "method 'base' has no stage of its own"),
    ({"abstain_rl": {"re-fusal": {"setting": SETTING, "values": [0.5]}}}, "a sweep's name is letters, digits and _"),
])
def test_a_bad_sweep_is_refused_at_plan_time_naming_its_key(sweeps, message):
    with pytest.raises(RaitError) as err:
        plan_with(sweeps)
    assert message in str(err.value)


def test_the_schema_refuses_a_sweep_without_values():
    from snakemake.exceptions import WorkflowError

    with pytest.raises(WorkflowError):
        plan_with({"abstain_rl": {"refusal": {"setting": SETTING}}})


# ---- the Pareto front and the report ---------------------------------------------------------------------------


def test_the_pareto_front_by_hand():
    # (accuracy, wrong rate): b beats a on both; c trades accuracy for fewer wrong answers; d ties c; e is beaten by
    # c on wrong answers at equal accuracy
    points = [(0.30, 0.40), (0.35, 0.30), (0.20, 0.05), (0.20, 0.05), (0.20, 0.10)]
    assert pareto_front(points) == [False, True, True, True, False]
    assert pareto_front([]) == []
    assert pareto_front([(0.0, 0.0)]) == [True]


def _result(method, accuracy, wrong, sweep=None, refusal=0.0, test_set="open"):
    block = {"n": 100, "accuracy": accuracy, "wrong_rate": wrong, "refusal_rate": round(1 - accuracy - wrong, 4),
             "intervals": {"accuracy": [accuracy - 0.05, accuracy + 0.05], "wrong_rate": [wrong - 0.04, wrong + 0.04],
                           "refusal_rate": [0.0, 1.0]}}
    config = {"training": {"grpo": {"abstention": {"correct": 1.0, "refusal": refusal, "wrong": -1.0}}}}
    if sweep:
        config["sweep"] = sweep
    return {"model": "m", "method": method, "test_sets": {test_set: block}, "config": config}


def _point(value, sweep="refusal", fixed=None):
    return {"method": "abstain_rl", "sweep": sweep, "setting": SETTING, "value": value, "with": fixed or {}}


HAND = [
    _result("abstain_rl_refusal0.5", 0.10, 0.05, _point(0.5), refusal=0.5),
    _result("abstain_rl", 0.30, 0.40),
    _result("abstain_rl_refusal-0.5", 0.35, 0.30, _point(-0.5), refusal=-0.5),
    _result("abstain_rl_knowrl1", 0.20, 0.20, _point(1.0, "knowrl", {"training": {"grpo": {"abstention": {
        "correct": 2.0}}}}), refusal=1.0),
    _result("sft", 0.5, 0.5),  # no sweep's method: left out
]


def test_a_sweeps_points_are_grouped_ordered_and_marked_on_the_front():
    groups = sweep_groups(HAND)
    assert list(groups) == [("m", "abstain_rl")]
    group = groups["m", "abstain_rl"]
    assert [p["method"] for p in group] == ["abstain_rl_refusal-0.5", "abstain_rl", "abstain_rl_refusal0.5",
                                            "abstain_rl_knowrl1"]
    assert [p["label"] for p in group] == ["refusal=-0.5", "abstain_rl (refusal=0)", "refusal=0.5",
                                           "refusal=1, correct=2"]
    rows = {row["method"]: row["front"] for row in sweep_rows(group, "open")}
    # abstain_rl (0.30, 0.40) is beaten by refusal -0.5 (0.35, 0.30); knowrl (0.20, 0.20) by none
    assert rows == {"abstain_rl_refusal-0.5": True, "abstain_rl": False, "abstain_rl_refusal0.5": True,
                    "abstain_rl_knowrl1": True}
    assert sweep_groups([HAND[1], HAND[4]]) == {}  # no point evaluated: no sweep


def test_the_summary_and_the_figure_show_the_sweep(tmp_path):
    from rait import plots

    text = summary_markdown(summary_rows_of(HAND, tmp_path), sweeps=sweep_groups(HAND))
    table = text.split("### Sweep: abstain_rl on m")[1]
    assert "| refusal=-0.5 | abstain_rl_refusal-0.5 | 0.35 [0.30, 0.40] | 0.30 [0.26, 0.34] |" in table
    assert "| abstain_rl (refusal=0) | abstain_rl | 0.30 [0.25, 0.35] | 0.40 [0.36, 0.44] | 0.30 [0.00, 1.00] |  |" \
        in table
    # registry order, a sweep's points right after the method they vary
    headline = text.split("## m")[1].split("###")[0]
    order = [line.split(" | ")[0].strip("| ") for line in headline.splitlines() if line.startswith("| ")][1:]
    assert order == ["sft", "abstain_rl", "abstain_rl_knowrl1", "abstain_rl_refusal-0.5", "abstain_rl_refusal0.5"]
    path = tmp_path / "sweep.svg"
    rows = sweep_rows(sweep_groups(HAND)["m", "abstain_rl"], "open")
    plots.save(plots.sweep_figure(rows, model="m", test_set="open", swept="abstain_rl"), path)
    assert set(ids(path, "point|")) == set([
        "point|abstain_rl_refusal-0.5|0.3|0.35|front", "point|abstain_rl|0.4|0.3|off",
        "point|abstain_rl_refusal0.5|0.05|0.1|front", "point|abstain_rl_knowrl1|0.2|0.2|front"])


def summary_rows_of(results, tmp_path):
    paths = []
    for result in results:
        path = tmp_path / f"{result['model']}_{result['method']}.json"
        path.write_text(json.dumps(result))
        paths.append(str(path))
    return summary_rows(paths)
