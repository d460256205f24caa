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


def training_layers(config: dict, model: str, stage: str) -> list[tuple[str, dict]]:
    """(config key, section) of each place that sets a stage's ``training``, the least specific first: the global
    ``training``, the method's own defaults (``methods.<stage>.training``: a stage named after its method, such as
    the RL methods' settings as their papers ran them), the model's ``training`` (what a model needs, such as the
    laptop demo's short runs, holds for every method it trains), the model's ``methods.<stage>.training``."""
    entry = config["models"][model]
    return [("training", config["training"]),
            (f"methods.{stage}.training", _method_training(config.get("methods"), stage)),
            (f"models.{model}.training", entry.get("training") or {}),
            (f"models.{model}.methods.{stage}.training", _method_training(entry.get("methods"), stage))]


def section_layers(config: dict, model: str, section: str) -> list[tuple[str, dict]]:
    """(config key, section) of a section a model entry may override (``craft``, ``sampling``): global, model's."""
    return [(section, config[section]), (f"models.{model}.{section}", config["models"][model].get(section) or {})]


def stage_training(config: dict, model: str, stage: str) -> dict:
    """The ``training`` section a stage trains with: its ``training_layers`` merged, the more specific winning."""
    return functools.reduce(deep_merge, (layer for _, layer in training_layers(config, model, stage)))


def settings_layers(config: dict, model: str, stage: str, settings_key: str) -> list[tuple[str, dict]]:
    """(config key, settings) of each layer that sets a stage's trainer settings (``rait.methods.Stage.settings_key``:
    ``training.<trainer>``, or ``craft.rehearsal``), so that a bad value is named where it was written."""
    first, *rest = settings_key.split(".")
    layers = training_layers(config, model, stage) if first == "training" else section_layers(config, model, first)
    found = []
    for where, layer in layers:
        for key in rest:
            layer = layer.get(key) if isinstance(layer, dict) else None
        if layer:
            found.append((".".join([where, *rest]), layer))
    return found
