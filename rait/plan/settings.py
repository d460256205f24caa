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


def trainer_defaults(trainers) -> dict[str, dict]:
    """Each trainer kind's section defaults (``training.<kind>``): its ``Settings`` fields' defaults and, for a
    rewarded trainer, each reward's (``rait.rewards.REWARDS``), in one place each."""
    from rait.rewards import REWARDS
    from rait.training.settings import defaults

    sections = {}
    for kind, trainer in trainers.items():
        section = defaults(trainer.Settings)
        if getattr(trainer, "REWARDED", False):
            section.update({name: dict(reward.defaults) for name, reward in REWARDS.items()})
        sections[kind] = section
    return sections


def merge_under(defaults: dict, written: dict | None) -> dict:
    """``written`` with ``defaults`` filled in where it is silent, nested dictionaries the same way: the written
    keys first, in their order, then the defaults' others. The order matters: a job's options are JSON text, and
    a config that writes a whole section (as config.yaml did before the defaults moved to the trainers) must give
    the text it gave, or every training job would rerun."""
    merged = {}
    for key, value in (written or {}).items():
        nested = isinstance(value, dict) and isinstance(defaults.get(key), dict)
        merged[key] = merge_under(defaults[key], value) if nested else value
    return {**merged, **{key: value for key, value in defaults.items() if key not in merged}}


def with_trainer_defaults(config: dict, trainers) -> dict:
    """``config`` with each trainer's defaults under what its ``training.<kind>`` sets (the config winning key by
    key), so that every layer above (a method's, a model's) overrides a complete section."""
    training = config["training"]
    sections = {kind: merge_under(section, training.get(kind)) for kind, section in trainer_defaults(trainers).items()}
    return {**config, "training": {**training, **sections}}


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def check_trainer_sections(config: dict, trainers=None) -> None:
    """Every key written under a trainer's section, in each place a ``training`` section may be written, is a
    field of that trainer's ``Settings`` (or a reward's name under a rewarded trainer): a RaitError naming the key
    and the class otherwise. The Snakefile runs it before the schema, whose message would not name the class; it
    reads the config as written, so anything else out of shape is left to the schema."""
    from rait.rewards import REWARDS
    from rait.training.settings import check_section

    if trainers is None:
        from rait.training import TRAINERS as trainers
    places = [("training", _mapping(config.get("training")))]
    for name, method in _mapping(config.get("methods")).items():
        places.append((f"methods.{name}.training", _mapping(_mapping(method).get("training"))))
    for model, entry in _mapping(config.get("models")).items():
        places.append((f"models.{model}.training", _mapping(_mapping(entry).get("training"))))
        for name, method in _mapping(_mapping(entry).get("methods")).items():
            places.append((f"models.{model}.methods.{name}.training", _mapping(_mapping(method).get("training"))))
    for where, training in places:
        for kind, trainer in trainers.items():
            if isinstance(training.get(kind), dict):
                rewards = tuple(REWARDS) if getattr(trainer, "REWARDED", False) else ()
                check_section(trainer.Settings, training[kind], f"{where}.{kind}", extra=rewards)


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
