"""rait.registry: each extension point's names, registered once, an unknown one named with the closest known one."""

from __future__ import annotations

import dataclasses

import pytest

from rait import methods as registry
from rait.answering import STRATEGIES
from rait.construct import BUILDERS, Builder
from rait.datasets import dataset_kind
from rait.errors import RaitError
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


def test_a_misspelt_hub_loader_is_named_by_its_key_with_a_suggestion():
    with pytest.raises(RaitError, match=r"datasets\.trivia\.loader: unknown hub loader 'trivaqa' \(did you mean "
                                        r"'triviaqa'\?\)"):
        dataset_kind({"key": "trivia", "source": "hub", "loader": "trivaqa"})
