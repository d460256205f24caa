"""Trainer hyper-parameters checked when the DAG is built, before any job runs.

A misspelt key (``learnin_rate``) would otherwise pass ``snakemake -n`` and fail when the training job starts,
after hours of sampling. The keys are checked against the fields of the config class each trainer builds
(``CONFIG_CLASS`` of a trainer module: ``trl.SFTConfig``, ``transformers.TrainingArguments``, ...), read from
the installed source with ``ast``: importing TRL costs about 8 s on every plan. The check at job start
(``rait.training.common.make_config``, on the real class) stays; where the planning environment has no TRL
(rules in conda environments), only it runs.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import functools
import importlib.util
from pathlib import Path

from rait.errors import RaitError

# Where each package's trainer config classes are defined (the files are read, never imported).
CLASS_FILES = {"trl": ("trainer/*_config.py",), "transformers": ("training_args.py",)}


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)  # finds without importing
    return Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else None


@functools.cache
def _classes() -> dict[str, ast.ClassDef]:
    classes = {}
    for package, patterns in CLASS_FILES.items():
        folder = _package_dir(package)
        for pattern in patterns if folder else ():
            for path in sorted(folder.glob(pattern)):
                for node in ast.parse(path.read_text(encoding="utf-8")).body:
                    if isinstance(node, ast.ClassDef):
                        classes.setdefault(node.name, node)
    return classes


def _is_init_field(node: ast.AnnAssign) -> bool:
    """A dataclass field its __init__ takes: not ClassVar, not ``field(init=False)``."""
    if "ClassVar" in ast.unparse(node.annotation):
        return False
    call = node.value
    if isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", None)) == "field":
        for keyword in call.keywords:
            if keyword.arg == "init" and isinstance(keyword.value, ast.Constant) and keyword.value.value is False:
                return False
    return True


@functools.cache
def config_fields(class_name: str) -> frozenset[str] | None:
    """The __init__ fields of ``class_name`` and its bases as the installed source defines them; None when the
    class is not found (the package is not installed here)."""
    node = _classes().get(class_name)
    if node is None:
        return None
    fields = {item.target.id for item in node.body
              if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and _is_init_field(item)}
    for base in node.bases:
        inherited = config_fields(ast.unparse(base).rsplit(".", 1)[-1]) if isinstance(base, (ast.Name, ast.Attribute)) else None
        fields |= inherited or set()
    return frozenset(fields)


def check_hparams(hparams, config_class: str, where: str) -> None:
    """Every key of ``hparams`` a field of ``config_class`` ("trl.SFTConfig"), else a RaitError naming ``where``
    (the config key) and the nearest field names."""
    if hparams is None:
        return
    if not isinstance(hparams, dict):
        raise RaitError(f"config key {where}: must be a mapping of {config_class} fields, got {hparams!r}")
    fields = config_fields(config_class.rsplit(".", 1)[-1])
    if fields is None:
        return
    for key in hparams:
        if key not in fields:
            near = difflib.get_close_matches(key, sorted(fields), n=3)
            hint = f"; did you mean {' or '.join(map(repr, near))}?" if near else ""
            raise RaitError(f"config key {where}: unknown key {key!r} (not a field of {config_class}){hint}")


def dataclass_fields(cls) -> frozenset[str]:
    """The same set from the imported class (tests compare the two)."""
    return frozenset(field.name for field in dataclasses.fields(cls) if field.init)
