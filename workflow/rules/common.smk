# What the rules share: the plan of this config (rait.plan.Plan: every input list, option and target, and every
# check the config can fail, as Python tested without Snakemake), the output layout (rait.plan.layout), the wildcard
# constraints, and the adapters from Snakemake's wildcards to the plan's arguments. What a method is (its training
# sets, stages, trainers and answer strategy) comes from the registry in rait/methods.py; the rules are generic.
import re
from pathlib import Path

from snakemake.exceptions import WorkflowError

from rait import methods as registry
from rait.errors import RaitError
from rait.plan import LAYOUT, Plan
from rait.workflow import OFFLINE

RESULTS = LAYOUT.root
# A shell rule's command runs with the hub offline, as rait.workflow.run makes every script job do.
OFFLINE_PREFIX = " ".join(f"{name}={value}" for name, value in OFFLINE.items())


def at_plan(function, *args):
    """``function(*args)``, a RaitError (bad config, named by its key) stopping the plan as a WorkflowError."""
    try:
        return function(*args)
    except RaitError as err:
        raise WorkflowError(str(err)) from None


PLAN = at_plan(Plan, config)
METHODS = PLAN.methods
STAGES = PLAN.stages
JUDGE = PLAN.judge


def of(method, *names, **fixed):
    """An input, params or resources function of the wildcards: ``method`` of the wildcards ``names`` (in order),
    then the ``fixed`` values."""

    def function(wildcards):
        return at_plan(lambda: method(*(getattr(wildcards, name) for name in names), **fixed))

    return function


def per_model(method):
    return of(method, "model")


def entry_value(key, wildcard="model", default=None):
    """A params function: the key of the model entry a wildcard names."""
    return lambda wildcards: at_plan(PLAN.model_entry, getattr(wildcards, wildcard)).get(key, default)


wildcard_constraints:
    split="[A-Za-z0-9]+",
    dataset="[A-Za-z0-9]+(_[A-Za-z0-9]+)*",
    # lazy: the shortest model name that leaves a stage or method, so "smollm2_135m_conf_sft" is model
    # smollm2_135m and stage conf_sft, never model smollm2_135m_conf and stage sft (an unknown model key still
    # matches, and is named by the plan)
    model="[A-Za-z0-9]+?(?:_[A-Za-z0-9]+)*?",
    # escaped: a sweep's point names a value (rait.plan.sweeps: abstain_rl_refusal-0.5)
    method="|".join(map(re.escape, METHODS)),
    stage="|".join(map(re.escape, STAGES)),


# ---- params shared by several rules ---------------------------------------------------------------------------


def grading_params():
    """How the answers of the jobs of one dataset (wildcard `dataset`) are graded."""
    return dict(exact_match=config["grading"]["exact_match"], refusals=per_model(PLAN.refusal_list),
                profile=of(PLAN.dataset_profile, "dataset"))


def generation_params(weights, templates=per_model(PLAN.prompt_templates), sampling=per_model(PLAN.sampling_spec)):
    """Params shared by the jobs that generate answers with workflow/scripts/sample_answers.py."""
    return dict(
        weights=weights,
        engine=entry_value("engine"),
        engine_options=entry_value("engine_options"),
        gpus=entry_value("gpus"),
        chat=entry_value("chat"),
        system=entry_value("system"),
        templates=templates,
        sampling=sampling,
    )


def sampling_env(wildcards):
    return at_plan(PLAN.engine_env, wildcards.model)


def certainty_inputs(stage):
    """Open questions are scored from samples, multiple choice from the checkpoint itself."""
    return of(PLAN.certainty_inputs, "model", "dataset", "split", stage=stage)


def certainty_params(stage):
    return dict(
        weights=of(PLAN.stage_checkpoint, "model", stage=stage),
        templates=per_model(PLAN.prompt_templates),
        chat=entry_value("chat"),
        system=entry_value("system"),
        embedding=lambda wildcards: at_plan(PLAN.craft_settings, wildcards.model)["embedding"],
        batch_size=lambda wildcards: at_plan(PLAN.craft_settings, wildcards.model)["batch_size"],
        **grading_params(),
    )


def judge_generation_params():
    """The judge model's greedy replies (rait.sampling): its own engine settings, the judge prompt as it is."""
    return dict(
        weights=of(PLAN.model_checkpoint, "judge"),
        engine=entry_value("engine", "judge"),
        engine_options=entry_value("engine_options", "judge"),
        gpus=entry_value("gpus", "judge"),
        chat=entry_value("chat", "judge"),
        system=entry_value("system", "judge"),
        templates=lambda wildcards: {"open": "{question}"},  # a function: braces are not wildcards
        sampling={"n": 0, "max_new_tokens": JUDGE["max_new_tokens"] if JUDGE else 0, "seed": 0},
    )


# ---- targets ----------------------------------------------------------------------------------------------------

QUICK_DEMO_METHODS = PLAN.demo_methods("summary")
DEMO_METHODS = PLAN.demo_methods("summary_full")


def demo_targets():
    return at_plan(PLAN.demo_targets)


def eval_targets(model, methods=QUICK_DEMO_METHODS):
    return PLAN.eval_targets(model, methods)


def evaluated_so_far():
    """Every eval file on disk that the DAG makes, so the summary covers all that was evaluated, not only the demo."""
    return PLAN.evaluations_among(glob_wildcards(LAYOUT.eval_named()).name)


def summary_inputs(wildcards):
    """The demo's evaluations and every other one on disk; with report.skip_missing, only those that exist."""
    return at_plan(PLAN.summary_inputs, wildcards.summary, evaluated_so_far(), lambda path: Path(path).exists())


def report_inputs(wildcards):
    """The report's inputs (rait.plan.Plan.report_inputs) for the summary's evaluations."""
    return at_plan(PLAN.report_inputs, wildcards.summary, summary_inputs(wildcards), lambda path: Path(path).exists())


def missing_evaluations(wildcards):
    return [f for f in PLAN.expected_evaluations(wildcards.summary) if f not in summary_inputs(wildcards)]


def report_checkpoints(wildcards):
    """The checkpoints behind the report's evaluations ({model, stage, path}), a parameter and not an input: each
    is upstream of its evaluation, so it exists when the figures are drawn after a fresh run, and one deleted to save
    disk (its evaluation done) loses its training curve instead of being trained again."""
    return PLAN.report_checkpoints(report_inputs(wildcards)["checkpoints"])
