"""The plan's settings as pure functions of the config: how the sections a job reads are layered.

The workflow (``workflow/rules/common.smk``) asks these; they are tested as Python (``tests/test_plan.py``), not
through a ``snakemake`` run.
"""

from __future__ import annotations

import functools

from rait.errors import RaitError


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


def _sections(config: dict):
    """(key prefix, section) of every place a setting can be given: the config, and each model entry's."""
    yield "", config
    for model, entry in config.get("models", {}).items():
        yield f"models.{model}.", entry


def check_cut_templates(config: dict) -> None:
    """CUT's templates render, checked when the DAG is built (naming the key; not when training starts): the
    judged prompt (``training.cut.judgment_prompt``, globally, per model, per method) and the judgments
    (``methods.cut.data.judgments.<known|unknown>``)."""
    from rait.construct.cut import check_judgment
    from rait.training.cut import check_judgment_prompt

    for prefix, section in _sections(config):
        trainings = [(f"{prefix}training", section.get("training") or {})]
        trainings += [(f"{prefix}methods.{name}.training", (method or {}).get("training") or {})
                      for name, method in (section.get("methods") or {}).items()]
        for where, training in trainings:
            template = (training.get("cut") or {}).get("judgment_prompt")
            if template is not None:
                check_judgment_prompt(template, f"{where}.cut.judgment_prompt")
        judgments = (((section.get("methods") or {}).get("cut") or {}).get("data") or {}).get("judgments") or {}
        for kind, template in judgments.items():
            check_judgment(template, f"{prefix}methods.cut.data.judgments.{kind}")


def check_dataset_lists(config: dict) -> None:
    """Every list of dataset keys (``training.datasets``, ``evaluation.datasets``, a model entry's own, and
    ``demo.datasets``) names configured datasets: an unknown one is refused by its list's key when the DAG is
    built, instead of as a file no rule can make."""
    known = config.get("datasets", {})
    lists = [("demo.datasets", (config.get("demo") or {}).get("datasets"))]
    for prefix, section in _sections(config):
        for part in ("training", "evaluation"):
            lists.append((f"{prefix}{part}.datasets", (section.get(part) or {}).get("datasets")))
    for where, names in lists:
        unknown = [name for name in names or () if name not in known]
        if unknown:
            raise RaitError(f"{where}: {', '.join(map(repr, unknown))} is not a configured dataset (config key "
                            f"datasets); known: {', '.join(sorted(known))}")


# ---- what the executor can give ------------------------------------------------------------------------------


def check_local_gpus(model: str, wanted: int, here: int) -> None:
    """A job of ``model`` asking for ``wanted`` GPUs, run on this machine with ``here``: refused before the first
    job when it has fewer (a model asking for 64 GPUs would otherwise sample on the CPU, or fail hours later)."""
    if wanted > here:
        raise RaitError(
            f"model {model!r} asks for {wanted} GPU(s) per job (config key models.{model}.gpus) but the jobs run "
            f"on this machine, which has {here}; run on a cluster (--profile slurm) or set "
            f"models.{model}.gpus to what this machine has (0: the CPU)")


def check_slurm_gpus(model: str, wanted: int, most: int | None, partition: str, gpu_model: str | None) -> None:
    """A job of ``model`` asking for ``wanted`` GPUs on one node of SLURM partition ``partition``, whose nodes have
    at most ``most`` (of ``gpu_model``; None: unknown, not checked): refused when no node has that many (the job
    would be refused at submission or pend forever)."""
    if most is not None and wanted > most:
        raise RaitError(
            f"model {model!r} asks for {wanted} GPU(s) per job (config key models.{model}.gpus) but no node "
            f"of SLURM partition {partition!r} (config key slurm.gpu_partition) has more than {most}"
            + (f" {gpu_model}" if gpu_model else "") + f"; lower models.{model}.gpus (training can spread "
            f"over nodes: models.{model}.nodes)")


def default_resource(args: list[str], name: str) -> str | None:
    """The value of ``name`` among a profile's ``default-resources`` (``name=value`` strings, the value maybe
    quoted), or None."""
    for arg in args:
        key, _, value = arg.partition("=")
        if key.strip() == name:
            return value.strip().strip("'\"")
    return None
