"""Each trainer's settings as a typed dataclass: the keys of its config section, their defaults and their help.

A trainer module defines ``Settings``, one field per key a user may write in its section (``training.<kind>``, or
the section a stage names, such as ``craft.rehearsal``), and fields the plan fills in (``given_by_plan``: a
reward's name, its model, the confidence marker). A field's default is the trainer's default, in this one place:
``config/config.yaml`` does not repeat it, the plan puts it under what the config sets (``section_defaults``),
and the schema's ``training.<kind>`` lists exactly the fields (``tests/test_plan_jobs.py``). A field without a
default (``lora``: the global ``training.lora`` unless the section sets its own) is read only when written.
Like ``trl.GRPOConfig``: a typed view of the options, not the options' transport (the job still gets JSON).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import inspect
from typing import Any

from rait.errors import RaitError

_NO_DEFAULT = object()


def setting(default: Any = _NO_DEFAULT, *, help: str, given_by_plan: bool = False):
    """A field of a trainer's ``Settings``: its default (deep-copied for each instance) and its help."""
    metadata = {"help": help, "given_by_plan": given_by_plan, "has_default": default is not _NO_DEFAULT}
    value = None if default is _NO_DEFAULT else default
    if isinstance(value, (dict, list)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(value), metadata=metadata)
    # a plain default is also the class's attribute: a trainer's train() signature reads it (``Settings.beta``)
    return dataclasses.field(default=value, metadata=metadata)


def written(settings_class) -> list[dataclasses.Field]:
    """The fields a user may write in the section, in their order."""
    return [field for field in dataclasses.fields(settings_class) if not field.metadata["given_by_plan"]]


def keys(settings_class) -> tuple[str, ...]:
    """Every option the trainer reads from its section or the plan (its ``SETTINGS``)."""
    return tuple(field.name for field in dataclasses.fields(settings_class) if field.name != "lora")


def defaults(settings_class) -> dict:
    """The written fields that have a default, with it, in the class's order."""
    return {field.name: _default(field) for field in written(settings_class) if field.metadata["has_default"]}


def _default(field: dataclasses.Field):
    return field.default_factory() if field.default is dataclasses.MISSING else field.default


def origin(settings_class) -> str:
    """Where the class is defined, as file:line, for messages."""
    try:
        file = inspect.getsourcefile(settings_class)
        line = inspect.getsourcelines(settings_class)[1]
    except (OSError, TypeError):
        return settings_class.__module__
    module_path = settings_class.__module__.replace(".", "/") + ".py"
    return f"{module_path if file and file.endswith(module_path) else file}:{line}"


def check_section(settings_class, section: dict | None, where: str, extra: tuple[str, ...] = ()) -> None:
    """Every key of ``section`` (config key ``where``) a written field of ``settings_class`` (or one of ``extra``:
    a rewarded trainer's reward names), else a RaitError naming the key and the class's file and line."""
    known = [field.name for field in written(settings_class)] + list(extra)
    for key in section or {}:
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise RaitError(f"config key {where}.{key}: not a setting of this trainer ({origin(settings_class)} "
                            f"defines {', '.join(known)}){hint}")


def help_table(settings_class) -> list[tuple[str, Any, str]]:
    """(key, default or None, help) of each written field: what config/README.md documents."""
    return [(field.name, _default(field) if field.metadata["has_default"] else None, field.metadata["help"])
            for field in written(settings_class)]
