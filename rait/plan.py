"""The plan's settings as pure functions of the config: how the sections a job reads are layered.

The workflow (``workflow/rules/common.smk``) asks these; they are tested as Python (``tests/test_plan.py``), not
through a ``snakemake`` run.
"""

from __future__ import annotations

import functools


def deep_merge(base: dict, override: dict | None) -> dict:
    """``base`` with ``override`` on top, key by key, nested dictionaries merged the same way."""
    merged = dict(base)
    for key, value in (override or {}).items():
        nested = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = deep_merge(merged[key], value) if nested else value
    return merged


def _method_training(methods: dict | None, stage: str) -> dict:
    return ((methods or {}).get(stage) or {}).get("training") or {}


def stage_training(config: dict, model: str, stage: str) -> dict:
    """The ``training`` section a stage trains with, the more specific place winning: the global ``training``,
    then the method's own defaults (``methods.<stage>.training``: a stage named after its method, such as the
    RL methods' settings as their papers ran them), then the model's ``training`` (what a model needs, such as
    the laptop demo's short runs, holds for every method it trains), then the model's ``methods.<stage>.training``.
    """
    entry = config["models"][model]
    layers = (config["training"], _method_training(config.get("methods"), stage), entry.get("training"),
              _method_training(entry.get("methods"), stage))
    return functools.reduce(deep_merge, layers)
