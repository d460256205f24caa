"""rait.registry: each extension point's names, registered once, an unknown one named with the closest known one."""

from __future__ import annotations

import dataclasses

import pytest

from rait import methods as registry
from rait.answering import STRATEGIES
from rait.construct import BUILDERS, Builder
from rait.datasets import dataset_kind
from rait.errors import RaitError
from rait.metrics import METRICS
from rait.registry import Registry, UnknownName, did_you_mean
from rait.rewards import REWARDS
from rait.training import TRAINERS


def test_a_name_registered_twice_is_an_error_naming_both_places():
    table = Registry("toy")
    table.register("a", 1)
    line = test_a_name_registered_twice_is_an_error_naming_both_places.__code__.co_firstlineno + 2
    assert table.origin("a") == f"tests/test_registry.py:{line}"
    with pytest.raises(RaitError) as caught:
        table.register("a", 2)
    assert str(caught.value) == (f"toy 'a' is registered twice: at tests/test_registry.py:{line} and at "
                                 f"tests/test_registry.py:{line + 4}")
    assert table["a"] == 1 and len(table) == 1


def test_an_unknown_name_says_the_closest_and_reads_as_a_missing_key():
    table = Registry("toy")
    for name in ("stated_num", "stated_verb", "greedy"):
        table.register(name, name.upper())
    with pytest.raises(UnknownName) as caught:
        table["greedyy"]
    assert str(caught.value) == ("unknown toy 'greedyy' (did you mean 'greedy'?); known: greedy, stated_num, "
                                 "stated_verb")
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, RaitError)
    assert "greedyy" not in table and table.get("greedyy") is None and ["x"] not in table
    assert did_you_mean("zzz", table) == ""


@pytest.mark.parametrize(("table", "kind", "name", "close"), [
    (BUILDERS, "data builder", "idk_stf", "idk_sft"),
    (TRAINERS, "trainer", "gpro", "grpo"),
    (STRATEGIES, "answer strategy", "stated_nun", "stated_num"),
    (REWARDS, "reward", "calibraton", "calibration"),
    (METRICS, "metric", "refusal_rte", "refusal_rate"),
])
def test_every_extension_points_registry_suggests_the_name_meant(table, kind, name, close):
    with pytest.raises(UnknownName, match=rf"unknown {kind} '{name}' \(did you mean '{close}'\?\)"):
        table[name]


@pytest.mark.parametrize(("change", "message"), [
    (lambda stage: dataclasses.replace(stage, trainer="stf"), "stage 'toy': unknown trainer 'stf' (did you mean 'sft'?)"),
    (lambda stage: dataclasses.replace(stage, data=registry.Data("idk_sf")),
     "stage 'toy': unknown data builder 'idk_sf' (did you mean 'idk_sft'?)"),
    (lambda stage: dataclasses.replace(stage, trainer="grpo", data=registry.Data("graded_prompts"), reward="abstension"),
     "stage 'toy': unknown reward 'abstension' (did you mean 'abstention'?)"),
])
def test_a_misspelt_name_in_a_method_entry_stops_the_registry_check_with_a_suggestion(change, message):
    stage = change(registry.Stage("toy", "sft", registry.Data("idk_sft")))
    methods = {**registry.METHODS, "toy": registry.Method("sidk", (stage,))}
    with pytest.raises(RaitError) as caught:
        registry.check(methods)
    assert message in str(caught.value)


def test_a_misspelt_answer_strategy_stops_the_registry_check_with_a_suggestion():
    methods = {**registry.METHODS, "toy": registry.Method("base", (), registry.Answer(strategy="stated_nun"))}
    with pytest.raises(RaitError, match=r"method 'toy': unknown answer strategy 'stated_nun' \(did you mean "
                                        r"'stated_num'\?\)"):
        registry.check(methods)


def test_a_builder_declaring_an_option_the_plan_cannot_give_is_refused_where_it_is_defined():
    def build_toy(inputs, options):
        return []

    with pytest.raises(RaitError, match=r"builder .*build_toy: unknown builder option 'refusel' \(did you mean "
                                        r"'refusal'\?\)"):
        Builder(build_toy, ("refusel",))


def test_a_trainer_module_without_its_settings_dataclass_is_refused_where_it_is_registered():
    import types

    from rait.training import sft

    toy = types.ModuleType("rait.training.toy")
    toy.__dict__.update({name: getattr(sft, name) for name in ("FIELDS", "CONFIG_CLASS", "SETTINGS", "build_trainer",
                                                               "train")})
    table = Registry("trainer", check=TRAINERS._check)
    line = test_a_trainer_module_without_its_settings_dataclass_is_refused_where_it_is_registered.__code__.co_firstlineno
    with pytest.raises(RaitError) as caught:
        table.register("toy", toy)
    assert str(caught.value) == (f"trainer 'toy' (registered at tests/test_registry.py:{line + 11}): module "
                                 "rait.training.toy has no Settings (a dataclass of rait.training.settings fields)")
    toy.Settings = sft.Settings
    assert table.register("toy", toy) is toy


def test_a_misspelt_hub_loader_is_named_by_its_key_with_a_suggestion():
    with pytest.raises(RaitError, match=r"datasets\.trivia\.loader: unknown hub loader 'trivaqa' \(did you mean "
                                        r"'triviaqa'\?\)"):
        dataset_kind({"key": "trivia", "source": "hub", "loader": "trivaqa"})


@pytest.fixture
def metric_table(monkeypatch):
    """rait.metrics.METRICS as shipped, in a copy a test may register into."""
    from rait import metrics

    table = Registry("metric")
    for name, metric in metrics.METRICS.items():
        table.register(name, metric, origin=metrics.METRICS.origin(name))
    monkeypatch.setattr(metrics, "METRICS", table)
    return metrics


def test_a_metric_registered_with_its_function_is_scored_and_none_without_its_inputs(metric_table):
    metrics = metric_table
    refused_known = lambda outcomes: sum(o["grade"] == "refusal" and o["ik"] for o in outcomes) / len(outcomes)
    metrics.register_metric("refused_known", metrics.Metric("lower", ("grade", "ik"), compute=refused_known))
    outcomes = [{"grade": "refusal", "ik": True}, {"grade": "correct", "ik": True}, {"grade": "refusal", "ik": False},
                {"grade": "wrong", "ik": False}]
    assert metrics.score(outcomes)["refused_known"] == 0.25
    assert metrics.score([{"grade": g["grade"]} for g in outcomes])["refused_known"] is None
    assert list(metrics.METRICS)[-1] == "refused_known"


def test_a_metric_needing_a_field_no_outcome_has_is_refused_naming_both_places(metric_table):
    metrics = metric_table
    with pytest.raises(RaitError, match=r"metric 'toy' needs it, but rait.metrics.OUTCOME_FIELDS has it not: "
                                        r"unknown outcome field 'confidance' \(did you mean 'confidence'\?\)"):
        metrics.register_metric("toy", metrics.Metric("higher", ("grade", "confidance"), compute=len))
    with pytest.raises(RaitError, match=r"metric 'auroc' is registered twice: at rait/metrics.py:\d+ and at "
                                        r"tests/test_registry.py:\d+"):
        metrics.register_metric("auroc", metrics.Metric("higher", compute=len))


def test_the_summary_and_its_markdown_table_derive_from_the_metric_registry():
    from rait import metrics, report

    assert report.METRICS == tuple(metrics.METRICS)
    assert report.MARKDOWN_METRICS == {"truthful": max, "accuracy": max, "refusal_rate": None, "ths": max,
                                       "auroc": max}
    assert all(f"{name}_low" in report.COLUMNS for name in metrics.METRICS)


def test_the_summary_columns_carry_the_runs_penalty_targets_in_place_of_the_defaults(tmp_path):
    """grading.penalty_targets [0.6, 0.95] gives penalty_60 and penalty_95 columns where the registered
    penalty_50, penalty_75 and penalty_90 stand (ascending target: 0.6 before 0.95, not as text), each with its
    interval and difference from base; rows without a penalty score keep the registered ones."""
    from rait import report

    registered = [name for name in report.METRICS if name.startswith("penalty_")]
    assert registered == ["penalty_50", "penalty_75", "penalty_90"]
    rows = [{"model": "m", "method": "sft", "test_set": "world", "n": 2, "penalty_95": -0.5, "penalty_60": 0.25,
             "penalty_95_low": -1.0, "penalty_95_high": 0.0}]
    chosen = report.summary_metrics(rows)
    at = chosen.index("penalty_60")
    assert chosen[at:at + 2] == ("penalty_60", "penalty_95") and not set(registered) & set(chosen)
    assert [name for name in chosen if not name.startswith("penalty_")] == [
        name for name in report.METRICS if not name.startswith("penalty_")]
    assert report.summary_metrics([{"model": "m", "accuracy": 0.5}]) == report.METRICS
    path = tmp_path / "summary.csv"
    report.write_summary(str(path), rows)
    header, line = path.read_text().splitlines()
    cells = dict(zip(header.split(","), line.split(","), strict=True))
    assert (cells["penalty_60"], cells["penalty_95"], cells["penalty_95_low"]) == ("0.2500", "-0.5000", "-1.0000")
    assert "penalty_50" not in cells
