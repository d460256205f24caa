"""Refusal-aware training data, one builder per method.

A builder turns named inputs (lists of records: ``questions``, ``knowledge``,
``samples``, ...) and its options into training records. Builders are
registered in ``BUILDERS`` under the name a method's entry in the workflow
names; adding a method means adding one builder here, nothing else.
"""

from __future__ import annotations

from rait.construct import craft, honesty, idk
from rait.errors import RaitError

BUILDERS = {
    "idk_sft": idk.build_sft,
    "idk_dpo": idk.build_dpo_pairs,
    "rehearsal": craft.build_rehearsal,
    "van_tuning": craft.build_van_tuning,
    **{name: craft.builder(variant) for name, variant in craft.VARIANTS.items()},
    "absolute": honesty.build_absolute,
    "conf_num": honesty.build_conf_num,
    "conf_verb": honesty.build_conf_verb,
    "multisample": honesty.build_multisample,
}


def build(name: str, inputs: dict, options: dict) -> list[dict]:
    if name not in BUILDERS:
        raise RaitError(f"unknown data builder {name!r}; known: {', '.join(sorted(BUILDERS))}")
    return BUILDERS[name](inputs, options)
