"""The plan of the DAG as tested Python: what each job reads and is given, where every file lies, and every check
the config can fail before a job runs. ``workflow/rules/common.smk`` adapts these to Snakemake's wildcards.

* ``settings``: how the config's sections are layered (global, method, model, model's method);
* ``checks``: the plan-time checks of the config, each naming its key;
* ``layout``: where every file of a run lies, and the parsers of the names read back;
* ``jobs``: ``Plan``, each rule's inputs, options and targets for one config;
* ``executor``: what a machine or a SLURM partition can give a GPU job.
"""

from rait.plan.checks import check_cut_templates, check_dataset_lists, check_method_settings, check_prompt_templates
from rait.plan.executor import check_local_gpus, check_slurm_gpus, default_resource
from rait.plan.jobs import Plan
from rait.plan.layout import LAYOUT, Layout
from rait.plan.settings import deep_merge, section_layers, settings_layers, stage_training, training_layers

__all__ = [
    "LAYOUT", "Layout", "Plan", "check_cut_templates", "check_dataset_lists", "check_local_gpus",
    "check_method_settings", "check_prompt_templates", "check_slurm_gpus", "deep_merge", "default_resource",
    "section_layers", "settings_layers", "stage_training", "training_layers",
]
