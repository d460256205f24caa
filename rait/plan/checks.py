"""Plan-time checks of the config: each raises RaitError naming the config key, before any job runs."""

from __future__ import annotations

from rait.errors import RaitError
from rait.registry import did_you_mean, unknown


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
        missing = [name for name in names or () if name not in known]
        if missing:
            hint = did_you_mean(missing[0], known)
            raise RaitError(f"{where}: {', '.join(map(repr, missing))} is not a configured dataset{hint} (config key "
                            f"datasets); known: {', '.join(sorted(known))}")


def check_prompt_templates(config: dict) -> None:
    """Every prompt template renders its kind of question, checked when the DAG is built (not when sampling)."""
    from rait.prompts import check_template

    sections = [("prompts", config["prompts"])]
    sections += [(f"models.{key}.prompts", entry.get("prompts") or {}) for key, entry in config["models"].items()]
    for where, templates in sections:
        for kind, template in templates.items():
            try:
                check_template(template, kind, f"{where}.{kind}")
            except RaitError as err:
                raise RaitError(f"config: {err}") from None


# Set per model, never per method: every method of a model is labeled and graded alike.
PER_MODEL_TRAINING_KEYS = ("refusal", "datasets", "confidence_marker", "confidence_position")


def check_method_settings(config: dict, methods) -> None:
    """methods.<name> (globally or under a model) must name a method of the registry, and the refusal stays one
    per model: labeling and evaluation must recognise what every method was taught to say."""
    sections = [("methods", config.get("methods", {}))]
    sections += [(f"models.{key}.methods", entry.get("methods", {})) for key, entry in config["models"].items()]
    for where, section in sections:
        for name, settings in section.items():
            if name not in methods:
                raise RaitError(unknown("method", name, methods, f"config key {where}.{name}"))
            for key in PER_MODEL_TRAINING_KEYS:
                if key in (settings or {}).get("training", {}):
                    raise RaitError(f"config key {where}.{name}.training.{key}: set per model (training.{key}), "
                                    "not per method: every method of a model is labeled and graded alike")
