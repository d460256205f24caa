"""Swept settings: one list in config becomes one stage and one method per value (issue 28's abstention sweep).

``sweeps.<method>.<name>`` varies one numeric setting of a registry method's own stage (the last of its chain,
named after the method): ``setting``, a dotted key under ``methods.<method>`` (``training.grpo.abstention.refusal``),
takes each of ``values`` in turn, with ``with`` (settings under ``methods.<method>`` too) added to every point. Each
value is a method of its own, ``<method>_<name><value>`` (``abstain_rl_refusal-0.5``): the registry entry with its
own stage renamed, everything before it shared (the Idk-SFT it starts from trains once), its settings the method's
at every layer with the point's on top, so a model's own ``methods.<method>`` settings carry over and the swept
value wins over them. The method's own value is not repeated: its evaluation is the sweep's point at that value.

Everything is checked when the plan is built, each error naming its config key: a method the registry lacks or
without a stage of its own, a setting its trainer does not have (a reward's weight on a stage with another reward,
or none), a value that is not a number, a duplicate, or the method's own value.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from rait.errors import RaitError
from rait.numbers import is_number
from rait.plan.settings import deep_merge
from rait.registry import unknown


@dataclasses.dataclass(frozen=True)
class SweepPoint:
    method: str  # the point's method (and stage): <swept>_<sweep><value>
    swept: str  # the registry method it varies
    sweep: str  # the sweep's name under sweeps.<swept>
    setting: str  # the dotted key under methods.<swept>
    value: float
    fixed: Mapping = dataclasses.field(default_factory=dict)  # `with`: set at every point of the sweep

    def provenance(self) -> dict:
        """What an eval file records of its point (the report groups and labels the sweep by it)."""
        return {"method": self.swept, "sweep": self.sweep, "setting": self.setting, "value": self.value,
                "with": dict(self.fixed)}


def value_text(value: float) -> str:
    """A value as a method name shows it: -0.5, 0.25, 1 (an integral value without its ".0")."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _nested(setting: str, value) -> dict:
    """{"a": {"b": value}} of the dotted key "a.b"."""
    for key in reversed(setting.split(".")):
        value = {key: value}
    return value


def lookup(section, setting: str):
    """The value at the dotted key ``setting`` of nested mappings, None where a key is missing."""
    for key in setting.split("."):
        if not isinstance(section, dict) or key not in section:
            return None
        section = section[key]
    return section


def _check_setting(setting, stage, where: str, rewards) -> None:
    """The setting is a trainer setting of the stage's own trainer, a reward's only under the stage's reward."""
    if stage.settings:
        raise RaitError(f"config key {where}: stage {stage.name!r} reads its settings from {stage.settings}, not "
                        "from methods.<method>.training")
    if not isinstance(setting, str) or not setting:
        raise RaitError(f"config key {where}: a dotted key under methods.<method> (e.g. "
                        "training.grpo.abstention.refusal), not {setting!r}")
    parts = setting.split(".")
    if parts[0] != "training" or len(parts) < 3:
        raise RaitError(f"config key {where}: {setting!r} is not a trainer setting (training.<trainer>.<key>); "
                        "a sweep varies how a stage trains")
    if parts[1] != stage.trainer:
        raise RaitError(f"config key {where}: {setting!r} sets trainer {parts[1]!r}, but stage {stage.name!r} "
                        f"trains with {stage.trainer!r}")
    if parts[2] in rewards and parts[2] != stage.reward:
        has = f"reward {stage.reward!r}" if stage.reward else "no reward"
        raise RaitError(f"config key {where}: {setting!r} is a weight of reward {parts[2]!r}, but stage "
                        f"{stage.name!r} trains with {has}")


def _is_hparam(setting: str, trainer, where: str) -> bool:
    """training.<trainer>.hparams.<key>, which the config may leave at the library's default: a field of the
    trainer's config class (TRL's), or an error naming ``where``."""
    from rait.training.hparams import check_hparams

    parts = setting.split(".")
    if len(parts) != 4 or parts[2] != "hparams":
        return False
    check_hparams({parts[3]: None}, trainer.CONFIG_CLASS, where)
    return True


def sweep_points(config: dict, methods, trainers=None) -> dict[str, SweepPoint]:
    """Every point of ``config["sweeps"]``, by its method's name, checked against the registry ``methods`` and the
    effective settings (the trainer's defaults under the config's ``training`` and ``methods.<method>.training``)."""
    from rait.plan.settings import with_trainer_defaults
    from rait.rewards import REWARDS

    if trainers is None:
        from rait.training import TRAINERS as trainers
    sweeps = config.get("sweeps") or {}
    if not isinstance(sweeps, dict):
        raise RaitError("config key sweeps: a mapping of method to its sweeps")
    defaults = with_trainer_defaults(config, trainers)["training"]
    points: dict[str, SweepPoint] = {}
    for swept, named in sweeps.items():
        where = f"sweeps.{swept}"
        if swept not in methods:
            raise RaitError(unknown("method", swept, methods, f"config key {where}"))
        method = methods[swept]
        if not method.stages or method.stages[-1].name != swept:
            raise RaitError(f"config key {where}: method {swept!r} has no stage of its own (named after it) to vary")
        stage = method.stages[-1]
        own = (config.get("methods") or {}).get(swept) or {}
        if not isinstance(named, dict) or not named:
            raise RaitError(f"config key {where}: a mapping of sweep name to its setting and values")
        for name, sweep in named.items():
            at = f"{where}.{name}"
            if not isinstance(name, str) or not name.replace("_", "").isalnum():
                raise RaitError(f"config key {at}: a sweep's name is letters, digits and _ (it is part of its "
                                "methods' names)")
            if not isinstance(sweep, dict) or set(sweep) - {"setting", "values", "with"} or "values" not in sweep:
                raise RaitError(f"config key {at}: setting, values (a list of numbers) and optionally with")
            setting, values, fixed = sweep.get("setting"), sweep["values"], sweep.get("with") or {}
            _check_setting(setting, stage, f"{at}.setting", REWARDS)
            if not isinstance(fixed, dict):
                raise RaitError(f"config key {at}.with: a mapping of settings under methods.{swept}")
            effective = deep_merge(defaults, deep_merge(own.get("training") or {}, fixed.get("training") or {}))
            current = lookup({"training": effective}, setting)
            if current is None and _is_hparam(setting, trainers[stage.trainer], f"{at}.setting"):
                current = math.nan  # the library's default: no value of the list can be it
            elif not is_number(current):
                raise RaitError(f"config key {at}.setting: {setting!r} is not a numeric setting of stage "
                                f"{swept!r} (it is {current!r})")
            if not isinstance(values, list) or not values:
                raise RaitError(f"config key {at}.values: a non-empty list of numbers")
            for index, value in enumerate(values):
                if not is_number(value):
                    raise RaitError(f"config key {at}.values[{index}]: {value!r} is not a number")
            seen = [float(value) for value in values]
            duplicates = sorted({value for value in seen if seen.count(value) > 1})
            if duplicates:
                raise RaitError(f"config key {at}.values: {', '.join(map(value_text, duplicates))} given twice")
            if not fixed and float(current) in seen:
                raise RaitError(f"config key {at}.values: {value_text(current)} is the value {swept!r} trains "
                                f"with ({setting}); that point is {swept!r} itself, drawn beside the sweep")
            for value in seen:
                point = SweepPoint(f"{swept}_{name}{value_text(value)}", swept, name, setting, value, fixed)
                if point.method in methods or point.method in points:
                    raise RaitError(f"config key {at}: its point {point.method!r} is already a method's name")
                points[point.method] = point
    return points


def _renamed(method, old: str, new: str):
    """``method`` with its stage ``old`` renamed ``new`` wherever its chain or its answer names it."""
    rename = lambda name: new if name == old else name
    stages = tuple(dataclasses.replace(stage, name=rename(stage.name), start=rename(stage.start),
                                       scorer=stage.scorer and rename(stage.scorer),
                                       data=dataclasses.replace(stage.data, policy=stage.data.policy
                                                                and rename(stage.data.policy)))
                   for stage in method.stages)
    answer = dataclasses.replace(method.answer, checkpoint=method.answer.checkpoint and rename(
        method.answer.checkpoint), scorer=method.answer.scorer and rename(method.answer.scorer))
    return dataclasses.replace(method, stages=stages, answer=answer)


def expand_methods(methods: Mapping, points: Mapping[str, SweepPoint]) -> dict:
    """The registry with each point's method after the method it varies."""
    expanded = {}
    for name, method in methods.items():
        expanded[name] = method
        for point in points.values():
            if point.swept == name:
                expanded[point.method] = _renamed(method, name, point.method)
    return expanded


def expand_config(config: dict, points: Mapping[str, SweepPoint]) -> dict:
    """``config`` with each point's settings: the method's own, at the global layer and under every model, with
    the point's (``with`` and the swept value) on top of each."""
    if not points:
        return config

    def settings(section: Mapping | None, point: SweepPoint) -> dict:
        own = (section or {}).get(point.swept) or {}
        return deep_merge(deep_merge(own, point.fixed), _nested(point.setting, point.value))

    methods = dict(config.get("methods") or {})
    methods.update({name: settings(config.get("methods"), point) for name, point in points.items()})
    models = {}
    for key, entry in config["models"].items():
        model_methods = dict(entry.get("methods") or {})
        model_methods.update({name: settings(entry.get("methods"), point) for name, point in points.items()})
        models[key] = {**entry, "methods": model_methods}
    return {**config, "methods": methods, "models": models}
