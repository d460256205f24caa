"""Refusal-aware training data, one builder per training set.

A builder turns named inputs (lists of records: ``questions``, ``knowledge``, ``samples``, ...; which files feed
them is the training set's ``rait.methods.Data.inputs``) and its options into training records. Every builder
gets ``templates`` (the prompts its examples are rendered with) and ``origin`` (what to name in messages), the
settings it declares in ``Builder.options`` (names in ``OPTIONS``; a builder reruns only when one of those
changes) and its method's own ``methods.<name>.data`` settings from config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from collections.abc import Callable

from rait.construct import confidence, confqa, craft, cut, grait, hir, honesty, idk
from rait.errors import RaitError
from rait.registry import Registry, unknown

# The settings a builder may declare, and the config key each comes from (the workflow resolves them).
OPTIONS = {
    "refusal": "training.refusal: the refusal sentence examples teach",
    "refusals": "grading.refusals plus training.refusal: every sentence graded as a refusal",
    "exact_match": "grading.exact_match",
    "grading_profile": "grading.profile or the dataset's own grading_profile, per training dataset",
    "seed": "training.seed",
    "ik_target": "training.ik_target",
    "selection": "craft.selection",
    "rehearsal": "craft.rehearsal, without its trainer settings (hparams, lora)",
    "grait": "grait.selection: GRAIT's counts, boundary and weights",
    "confidence_marker": "training.confidence_marker: the words before a stated confidence",
    "confidence_position": "training.confidence_position: the statement after the answer or before it",
    "confidence_decimals": "training.confidence_decimals: how finely a target states the confidence",
    "followup": "methods.<name>.answer's R-Tuning wording (followup, prefix, sure, unsure), which answering asks with",
}


@dataclass(frozen=True)
class Builder:
    build: Callable[[dict, dict], list[dict]]
    options: tuple[str, ...] = ()

    def __post_init__(self):
        for name in self.options:  # an option the plan cannot resolve would fail every plan that builds this set
            if name not in OPTIONS:
                raise RaitError(unknown("builder option", name, OPTIONS, f"builder {self.build.__qualname__}"))


IDK_OPTIONS = ("refusal", "ik_target", "seed", "exact_match", "refusals", "grading_profile")
CRAFT_OPTIONS = ("refusal", "seed", "selection")

BUILDERS: Registry[Builder] = Registry("data builder")
BUILDERS.register("idk_sft", Builder(idk.build_sft, IDK_OPTIONS))
BUILDERS.register("idk_sft_half", Builder(idk.build_sft_half, IDK_OPTIONS))
BUILDERS.register("idk_dpo", Builder(idk.build_dpo_pairs, IDK_OPTIONS))
BUILDERS.register("idk_hir", Builder(hir.build_hir, IDK_OPTIONS))
BUILDERS.register("idk_prompts", Builder(idk.build_prompts))
BUILDERS.register("cut", Builder(cut.build_cut, IDK_OPTIONS))
BUILDERS.register("rehearsal", Builder(craft.build_rehearsal, ("exact_match", "refusals", "grading_profile",
                                                               "rehearsal")))
BUILDERS.register("van_tuning", Builder(craft.build_van_tuning, CRAFT_OPTIONS))
for _variant_name, _variant in craft.VARIANTS.items():
    BUILDERS.register(_variant_name, Builder(craft.builder(_variant), CRAFT_OPTIONS))
BUILDERS.register("grait", Builder(grait.build_grait, ("refusal", "grait")))
BUILDERS.register("absolute", Builder(honesty.build_absolute, ("refusal",)))
BUILDERS.register("conf_num", Builder(honesty.build_conf_num, ("refusal",)))
BUILDERS.register("conf_verb", Builder(honesty.build_conf_verb, ("refusal",)))
BUILDERS.register("multisample", Builder(honesty.build_multisample, ("refusal",)))
BUILDERS.register("confqa", Builder(confqa.build_confqa, ("refusal",)))
BUILDERS.register("rtuning", Builder(confidence.build_rtuning, ("followup",)))
BUILDERS.register("stated_confidence", Builder(confidence.build_stated_confidence, (
    "confidence_marker", "confidence_position", "confidence_decimals")))
BUILDERS.register("graded_prompts", Builder(confidence.build_graded_prompts, ("refusals", "exact_match",
                                                                              "grading_profile")))


def read_input(paths) -> list[dict]:
    """The records of a builder's input files, in order: JSONL, or GRAIT's gradient files (``.npz``)."""
    from rait.io import read_jsonl_files

    paths = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    if any(str(path).endswith(".npz") for path in paths):
        from rait.influence import read_features

        return [record for path in paths for record in read_features(path)]
    return read_jsonl_files(paths)


def build(name: str, inputs: dict, options: dict) -> list[dict]:
    return BUILDERS[name].build(inputs, options)
