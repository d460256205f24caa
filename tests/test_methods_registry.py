"""The method registry (rait/methods.py): what the shipped entries describe, and the errors a wrong entry gets."""

from __future__ import annotations

import pytest

from rait import methods as registry
from rait.answering import STRATEGIES
from rait.construct import BUILDERS, OPTIONS
from rait.errors import RaitError
from rait.methods import Answer, Data, Method, Stage
from rait.training import TRAINERS

BUILDER_NAMES = {"toy": None, **BUILDERS}


def check(entries: dict) -> None:
    registry.check(entries, builders=BUILDER_NAMES, trainers=TRAINERS, strategies=STRATEGIES)


def toy(**stage) -> Method:
    return Method("honesty", (Stage(**{"name": "toy", "trainer": "sft", "data": Data("toy"), **stage}),))


def test_shipped_registry_is_consistent():
    registry.check()
    stages = registry.stages()
    # bon answers with sft and scores with reward; every other method trains a stage of its own name
    assert set(stages) == {*registry.METHODS, "sft_half", "rehearsal", "reward", "conf_sft", "grait_warmup"} - {
        "base", "prompt", "bon"}
    # each method answers with its last stage; base and prompt with the untouched model
    assert {name: method.checkpoint for name, method in registry.METHODS.items()}["dpo"] == "dpo"
    assert registry.METHODS["base"].checkpoint == registry.METHODS["prompt"].checkpoint == "base"
    assert stages["dpo"].start == "sft_half" and stages["dpo"].data.policy == "sft_half"
    assert stages["rehearsal"].settings_key == "craft.rehearsal" and stages["sft"].settings_key == "training.sft"
    quick, full = registry.demo_methods("quick"), registry.demo_methods("full")
    assert quick == ["base", "prompt", "sft", "craft_noflow", "absolute"]  # one of each family
    assert set(quick) < set(full) and "craft" in full and "multisample" not in full


def test_builders_declare_only_known_options():
    for name, builder in BUILDERS.items():
        assert set(builder.options) <= set(OPTIONS), name


@pytest.mark.parametrize("entry, message", [
    (toy(data=Data("nosuch")), "stage 'toy': unknown data builder 'nosuch'"),
    (toy(trainer="ppo9"), "stage 'toy': unknown trainer 'ppo9'"),
    (toy(start="warmup"), "stage 'toy': starts from, samples with or is scored by stage 'warmup', which no method trains"),
    (toy(data=Data("toy", policy="warmup")), "stage 'toy': starts from, samples with or is scored by stage 'warmup'"),
    (toy(scorer="judge"), "stage 'toy': starts from, samples with or is scored by stage 'judge'"),
    (toy(scorer="toy"), "stage 'toy': a stage cannot score itself"),
    (toy(data=Data("toy", instruction="hir")), "instruction 'hir' is for answering, not training data"),
    (Method("honesty", answer=Answer(strategy="best_of_n")), "strategy 'best_of_n' needs a scorer stage"),
    (Method("honesty", answer=Answer(scorer="sft")), "strategy 'greedy' takes no scorer"),
    (Method("honesty", answer=Answer(strategy="best_of_n", scorer="nosuch")), "scores with stage 'nosuch'"),
    (toy(data=Data("toy", {"questions": "questions", "scores": "vibes"})), "unknown input kind 'vibes'"),
    (toy(data=Data("toy", instruction="polite")), "unknown instruction 'polite'"),
    (Method("honesty", answer=Answer(strategy="beam")), "method 'toy': unknown answer strategy 'beam'"),
    (Method("honesty", answer=Answer(checkpoint="nosuch")), "method 'toy': answers with stage 'nosuch'"),
    (Method("nobody"), "method 'toy': unknown family 'nobody'"),
    (Method("base", answer=Answer(strategy="sampled_greedy", instruction="idk")),
     "method 'toy': answer strategy 'sampled_greedy' reads the base model's samples"),
    (Method("honesty", (Stage("toy", "sft", Data("toy")),), Answer(strategy="sampled_greedy")),
     "so it answers only with the base model on its own prompt"),
    (Method("base", demo="sometimes"), "method 'toy': unknown demo 'sometimes'"),
    (toy(name="base"), "a stage cannot be named 'base'"),
])
def test_a_wrong_entry_is_named(entry, message):
    with pytest.raises(RaitError, match=message.replace("(", r"\(")):
        check({**registry.METHODS, "toy": entry})


def test_a_cycle_between_stages_is_named():
    a = Stage("a", "sft", Data("toy"), start="b")
    b = Stage("b", "sft", Data("toy"), start="a")
    with pytest.raises(RaitError, match="stages form a cycle: (a -> b -> a|b -> a -> b)"):
        check({"x": Method("honesty", (a, b))})
    own = Stage("c", "sft", Data("toy", policy="c"))
    with pytest.raises(RaitError, match="cycle: c -> c"):
        check({"y": Method("honesty", (own,))})


def test_one_stage_name_one_definition():
    other_sft = Stage("sft", "dpo", Data("idk_dpo"))
    with pytest.raises(RaitError, match="stage 'sft' is defined differently by 'sft' and 'toy'"):
        check({**registry.METHODS, "toy": Method("sidk", (other_sft,))})
    # sharing the same definition is how methods share a stage
    check({**registry.METHODS, "toy": Method("sidk", (registry.SFT_HALF,))})
