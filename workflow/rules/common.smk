# Input functions, parameter builders and wildcard constraints shared by all stages. What a method is (its
# training sets, stages, trainers and answer strategy) comes from the registry in rait/methods.py; the rules
# are generic and ask the functions here.
import functools
import json
import os
from pathlib import Path
from types import SimpleNamespace

from snakemake.exceptions import WorkflowError

from rait import methods as registry
from rait import plan
from rait.plan import deep_merge
from rait.answering import STRATEGIES
from rait.construct import BUILDERS
from rait.construct.hir import level_templates as hir_level_templates
from rait.datasets import dataset_kind as _dataset_kind
from rait.datasets import expected_size
from rait.errors import RaitError
from rait.judging import check_prompt as _check_judge_prompt
from rait.models import check_checkpoint_folder, package_file
from rait.profiles import check_profile as _check_profile
from rait.prompts import check_template as _check_template
from rait.sampling import shard_count
from rait.training import TRAINERS
from rait.training.common import precision_hparams
from rait.training.hparams import check_hparams
from rait.workflow import OFFLINE

RESULTS = "results"
SPLITS = ["train", "test"]
# Model sources the DAG makes into results/models/{model} (rules download_model, convert_gguf,
# pretrain_synthetic); a `local` model is a checkpoint folder the entry's `path` names.
BUILT_SOURCES = ("hub", "gguf", "synthetic")
# A shell rule's command runs with the hub offline, as rait.workflow.run makes every script job do.
OFFLINE_PREFIX = " ".join(f"{name}={value}" for name, value in OFFLINE.items())

try:
    registry.check()
    METHODS = registry.METHODS
    STAGES = registry.stages()
except RaitError as err:
    raise WorkflowError(f"method registry (rait/methods.py): {err}")


wildcard_constraints:
    split="[A-Za-z0-9]+",
    dataset="[A-Za-z0-9]+(_[A-Za-z0-9]+)*",
    # lazy: the shortest model name that leaves a stage or method, so "smollm2_135m_conf_sft" is model
    # smollm2_135m and stage conf_sft, never model smollm2_135m_conf and stage sft (an unknown model key still
    # matches, and is named by model_entry)
    model="[A-Za-z0-9]+?(?:_[A-Za-z0-9]+)*?",
    method="|".join(METHODS),
    stage="|".join(STAGES),


def _entry(section, key):
    entries = config[section]
    if key not in entries:
        raise WorkflowError(
            f"unknown {section[:-1]} key {key!r} (config key {section}); known: {', '.join(sorted(entries))}"
        )
    return entries[key]


def model_entry(key):
    return _entry("models", key)


def dataset_entry(key):
    return _entry("datasets", key)


def model_section(model, section):
    """Global settings of `section`, overridden key by key by the model entry's own."""
    return deep_merge(config[section], model_entry(model).get(section, {}))


def model_source(key):
    return model_entry(key).get("source", "hub")


def models_from(source):
    """A wildcard constraint: the model keys of one source."""
    return "|".join(key for key in config["models"] if model_source(key) == source) or "(?!)"


def model_checkpoint(key):
    """What from_pretrained is given: results/models/{key} for made models, else the local folder (checked when
    the DAG is built: a checkpoint folder, its config.json in it)."""
    if model_source(key) in BUILT_SOURCES:
        return f"{RESULTS}/models/{key}"
    return local_checkpoint(key)


@functools.lru_cache(maxsize=None)
def local_checkpoint(key):
    try:
        return check_checkpoint_folder(model_entry(key)["path"], f"models.{key}.path")
    except RaitError as err:
        raise WorkflowError(f"config: {err}") from None


@functools.lru_cache(maxsize=None)
def gguf_file(key):
    """The GGUF file a `source: gguf` model is converted from: models.<key>.file inside its package, found when
    the DAG is built (the convert job only opens it)."""
    entry = model_entry(key)
    try:
        package_file(entry["package"], entry["file"])
    except RaitError as err:
        raise WorkflowError(f"config: models.{key}.file: {err}") from None
    return entry["file"]


def built_model_files(key):
    """The made checkpoint that the jobs using model `key` depend on (hub models too: downloaded by their own
    job, so that no GPU job needs the network); nothing for a local folder."""
    return [model_checkpoint(key)] if model_source(key) in BUILT_SOURCES else []


def model_files(wildcards):
    return built_model_files(wildcards.model)


def stage_checkpoint(model, stage):
    """The base model, or the checkpoint a training stage writes."""
    return model_checkpoint(model) if stage == registry.BASE else f"{RESULTS}/checkpoints/{model}_{stage}"


def checkpoint_files(wildcards, stage):
    """What a job loading `stage`'s checkpoint depends on."""
    return model_files(wildcards) if stage == registry.BASE else [stage_checkpoint(wildcards.model, stage)]


# ---- datasets ------------------------------------------------------------------


def dataset_spec(wildcards):
    """The dataset's config entry plus its key, so messages can name config keys."""
    entry = dataset_entry(wildcards.dataset)
    if entry["source"] in ("hub", "local"):
        splits = entry.get("files" if entry["source"] == "local" else "splits", {})
        if wildcards.split not in splits:
            raise WorkflowError(
                f"dataset {wildcards.dataset!r} has no split {wildcards.split!r} "
                f"(config key datasets.{wildcards.dataset}); known: {', '.join(splits)}"
            )
    return {**entry, "key": wildcards.dataset}


def dataset_inputs(wildcards):
    """Files a dataset is built from, where the DAG makes them."""
    if dataset_entry(wildcards.dataset)["source"] == "synthetic":
        return {"world": f"{RESULTS}/synthetic/world.jsonl"}
    return {}


def dataset_limit(wildcards):
    return dataset_entry(wildcards.dataset).get("limit", {}).get(wildcards.split)


@functools.lru_cache(maxsize=None)
def dataset_kind(key):
    """`open` or `mc` (rait.datasets.dataset_kind), known when the DAG is built."""
    try:
        return _dataset_kind({**dataset_entry(key), "key": key})
    except RaitError as err:
        raise WorkflowError(str(err))


# ---- sampling, prompts, grading --------------------------------------------------


# Sampling settings that decide how a split is cut into jobs, not what is sampled: never a rerun trigger.
JOB_SETTINGS = ("shard_size",)


def model_sampling(wildcards):
    return {**config["sampling"], **model_entry(wildcards.model).get("sampling", {})}


def sampling_spec(wildcards):
    """Global sampling settings, overridden per model (what rait.sampling.SamplingSpec takes)."""
    return {key: value for key, value in model_sampling(wildcards).items() if key not in JOB_SETTINGS}


@functools.lru_cache(maxsize=None)
def split_size(dataset, split):
    """How many questions a split will hold, known when the DAG is built (rait.datasets.expected_size)."""
    entry = dataset_entry(dataset)
    try:
        return expected_size({**entry, "key": dataset}, split, limit=entry.get("limit", {}).get(split),
                             synthetic_facts=config["synthetic"]["n_facts"])
    except RaitError as err:
        raise WorkflowError(str(err))


def sample_shards(wildcards):
    """The shard files a split's samples are gathered from: ceil(size / sampling.shard_size), one when unknown."""
    try:
        count = shard_count(split_size(wildcards.dataset, wildcards.split), model_sampling(wildcards)["shard_size"])
    except RaitError as err:
        raise WorkflowError(f"models.{wildcards.model}: {err}")
    folder = f"{RESULTS}/samples/{wildcards.model}/shards/{wildcards.dataset}_{wildcards.split}"
    return [f"{folder}/{index}-of-{count}.jsonl" for index in range(count)]


def prompt_templates(wildcards):
    return {**config["prompts"], **model_entry(wildcards.model).get("prompts", {})}


def check_prompt_templates():
    """Every prompt template renders its kind of question, checked when the DAG is built (not when sampling)."""
    sections = [("prompts", config["prompts"])]
    sections += [(f"models.{key}.prompts", entry.get("prompts") or {}) for key, entry in config["models"].items()]
    for where, templates in sections:
        for kind, template in templates.items():
            try:
                _check_template(template, kind, f"{where}.{kind}")
            except RaitError as err:
                raise WorkflowError(f"config: {err}")


check_prompt_templates()
try:
    plan.check_cut_templates(config)
    plan.check_dataset_lists(config)
except RaitError as err:
    raise WorkflowError(f"config: {err}") from None


# How each instruction of rait.methods.INSTRUCTIONS turns the model's prompts into the ones used; `answer` is the
# method's methods.<name>.answer settings (an answer-only instruction reads its setting there).
INSTRUCTION_TEMPLATES = {
    "model": lambda wildcards, templates, answer: templates,
    "idk": lambda wildcards, templates, answer: {
        **templates, **model_section(wildcards.model, "evaluation")["prompt_instruction"]},
    "hir": lambda wildcards, templates, answer: hir_level_templates(templates, answer["level"]),
}
if set(INSTRUCTION_TEMPLATES) != set(registry.INSTRUCTIONS):
    raise WorkflowError("common.smk: INSTRUCTION_TEMPLATES must cover rait.methods.INSTRUCTIONS")


def instruction_templates(wildcards, instruction, answer=None):
    """The prompts for `instruction` (rait.methods.INSTRUCTIONS)."""
    return INSTRUCTION_TEMPLATES[instruction](wildcards, prompt_templates(wildcards), answer or {})


def knowledge_threshold(wildcards):
    return model_entry(wildcards.model).get("threshold", config["knowledge"]["threshold"])


def refusal_list(wildcards):
    """The one list of sentences graded as a refusal, for labeling, certainty, data building and evaluation:
    grading.refusals plus the model's training refusal (what its methods are taught to say)."""
    refusal = model_section(wildcards.model, "training")["refusal"]
    return list(dict.fromkeys([*config["grading"]["refusals"], refusal]))


def dataset_profile(dataset):
    """The grading profile of a dataset's questions: its entry's `grading_profile`, else grading.profile; checked
    against the dataset's kind of questions (a profile reproduces one paper's grader, and Say-I-Dont-Know's has no
    multiple choice), so that an error names the key when the DAG is built."""
    entry = dataset_entry(dataset)
    own = "grading_profile" in entry
    profile = entry["grading_profile"] if own else config["grading"]["profile"]
    where = f"datasets.{dataset}.grading_profile" if own else f"grading.profile (dataset {dataset})"
    try:
        _check_profile(profile, dataset_kind(dataset), where)
    except RaitError as err:
        raise WorkflowError(str(err)) from None
    return profile


def grading_params():
    """How the answers of the jobs of one dataset (wildcard `dataset`) are graded."""
    return dict(exact_match=config["grading"]["exact_match"], refusals=refusal_list,
                profile=lambda wildcards: dataset_profile(wildcards.dataset))


def judge_settings():
    """grading.judge (or None), checked when the DAG is built: its model is a configured one, its prompt's fields
    are those a judge prompt may use."""
    judge = config["grading"].get("judge")
    if judge is None:
        return None
    if judge["model"] not in config["models"]:
        raise WorkflowError(f"grading.judge.model: {judge['model']!r} is not a configured model (config key "
                            f"models); known: {', '.join(sorted(config['models']))}")
    try:
        _check_judge_prompt(judge["prompt"])
    except RaitError as err:
        raise WorkflowError(str(err)) from None
    return judge


JUDGE = judge_settings()


def engine_env(key):
    """vLLM models sample in the vLLM env; the rest with transformers in the models env."""
    return "../envs/sampling.yaml" if model_entry(key)["engine"] == "vllm" else "../envs/models.yaml"


def sampling_env(wildcards):
    return engine_env(wildcards.model)


def generation_params(weights, templates=prompt_templates, sampling=sampling_spec):
    """Params shared by the jobs that generate answers with workflow/scripts/sample_answers.py."""
    entry = lambda key: lambda wildcards: model_entry(wildcards.model)[key]
    return dict(
        weights=weights,
        engine=entry("engine"),
        engine_options=entry("engine_options"),
        gpus=entry("gpus"),
        chat=entry("chat"),
        system=lambda wildcards: model_entry(wildcards.model).get("system"),
        templates=templates,
        sampling=sampling,
    )


# ---- per-method settings ----------------------------------------------------------


def check_method_settings():
    """methods.<name> (globally or under a model) must name a method of the registry, and the refusal stays one
    per model: labeling and evaluation must recognise what every method was taught to say."""
    sections = [("methods", config.get("methods", {}))]
    sections += [(f"models.{key}.methods", entry.get("methods", {})) for key, entry in config["models"].items()]
    for where, section in sections:
        for name, settings in section.items():
            if name not in METHODS:
                raise WorkflowError(f"config key {where}.{name}: no method {name!r}; known: {', '.join(METHODS)}")
            for key in ("refusal", "datasets", "confidence_marker", "confidence_position"):
                if key in (settings or {}).get("training", {}):
                    raise WorkflowError(f"config key {where}.{name}.training.{key}: set per model (training.{key}), "
                                        "not per method: every method of a model is labeled and graded alike")


check_method_settings()


def method_settings(model, name):
    """methods.<name>, merged with the model's own methods.<name>."""
    return model_section(model, "methods").get(name, {})


# ---- training data and stages ----------------------------------------------------

# Where each per-question input kind of rait.methods.INPUT_KINDS lies, per training dataset.
INPUT_FILES = {
    "questions": f"{RESULTS}/data/{{dataset}}/train.jsonl",
    "samples": f"{RESULTS}/samples/{{model}}/{{dataset}}_train.jsonl",
    "knowledge": f"{RESULTS}/knowledge/{{model}}/{{dataset}}_train.jsonl",
    "certainty": f"{RESULTS}/knowledge/{{model}}/certainty/{{dataset}}_train.jsonl",
    "flow": f"{RESULTS}/knowledge/{{model}}/flow/{{dataset}}_train.jsonl",
}
if set(INPUT_FILES) != set(registry.INPUT_KINDS):
    raise WorkflowError(f"common.smk INPUT_FILES and rait.methods.INPUT_KINDS disagree")


def stage_training(model, stage):
    """The `training` section a stage trains with (rait.plan.stage_training: global, the method's, the model's,
    the model's for the method)."""
    model_entry(model)
    return plan.stage_training(config, model, stage)


def train_datasets(model, stage=None):
    return (stage_training(model, stage) if stage else model_section(model, "training"))["datasets"]


def heldout_samples(model, stage):
    """Samples of `stage`'s checkpoint on the train questions its own training set left out."""
    return f"{RESULTS}/samples/{model}/{stage}/heldout.jsonl"


def train_data_inputs(wildcards):
    """The per-question files a stage's builder reads, one per training dataset (rait.methods.Data.inputs),
    and the held-out samples of its policy stage."""
    data = STAGES[wildcards.stage].data
    datasets = train_datasets(wildcards.model, wildcards.stage)
    files = {name: [INPUT_FILES[kind].format(model=wildcards.model, dataset=dataset) for dataset in datasets]
             for name, kind in data.inputs.items()}
    if data.policy:
        files["policy_samples"] = heldout_samples(wildcards.model, data.policy)
    return files


def craft_settings(wildcards):
    return model_section(wildcards.model, "craft")


def builder_option_values(wildcards):
    """How each option a builder may declare (rait.construct.OPTIONS) is read from config, lazily."""
    training = lambda: stage_training(wildcards.model, wildcards.stage)
    trainer_keys = ("hparams", "lora")
    return {
        "refusal": lambda: training()["refusal"],
        "refusals": lambda: refusal_list(wildcards),
        "exact_match": lambda: config["grading"]["exact_match"],
        "grading_profile": lambda: {dataset: dataset_profile(dataset)
                                    for dataset in train_datasets(wildcards.model, wildcards.stage)},
        "seed": lambda: training()["seed"],
        "ik_target": lambda: training()["ik_target"],
        "selection": lambda: craft_settings(wildcards)["selection"],
        "rehearsal": lambda: {k: v for k, v in craft_settings(wildcards)["rehearsal"].items() if k not in trainer_keys},
        "confidence_marker": lambda: training()["confidence_marker"],
        "confidence_position": lambda: training()["confidence_position"],
        "confidence_decimals": lambda: training()["confidence_decimals"],
        # the stage named after its method (rtuning) is built with the wording the method answers with
        "followup": lambda: method_settings(wildcards.model, wildcards.stage).get("answer", {}),
    }


def builder_options(wildcards):
    """What a stage's builder is given: its prompts, the options it declares (and only those, so that a
    training set is rebuilt only when something it reads changes), and its method's methods.<name>.data."""
    data = STAGES[wildcards.stage].data
    values = builder_option_values(wildcards)
    options = {"templates": instruction_templates(wildcards, data.instruction)}
    for name in BUILDERS[data.builder].options:
        if name not in values:
            raise WorkflowError(f"builder {data.builder!r} declares option {name!r}, which common.smk cannot provide")
        options[name] = values[name]()
    return {**options, **method_settings(wildcards.model, wildcards.stage).get("data", {})}


def _section(settings, path, where):
    for key in path:
        if not isinstance(settings, dict) or key not in settings:
            raise WorkflowError(f"config key {where}: not set")
        settings = settings[key]
    return settings


def trainer_section(wildcards):
    """A stage's trainer settings (rait.methods.Stage.settings_key: training.<trainer>, or e.g. craft.rehearsal)."""
    stage = STAGES[wildcards.stage]
    first, *rest = stage.settings_key.split(".")
    section = stage_training(wildcards.model, stage.name) if first == "training" else model_section(wildcards.model, first)
    return _section(section, rest, stage.settings_key)


def trainer_options(wildcards):
    """`--options` of `python -m rait.training`: the model's chat settings, LoRA, seed, and the trainer's SETTINGS."""
    stage = STAGES[wildcards.stage]
    training = stage_training(wildcards.model, stage.name)
    section = trainer_section(wildcards)
    entry = model_entry(wildcards.model)
    options = {"chat": entry["chat"], "system": entry.get("system"), "lora": section.get("lora", training["lora"]),
               "seed": training["seed"]}
    options.update({key: section[key] for key in TRAINERS[stage.trainer].SETTINGS if key in section})
    try:  # a misspelt hyper-parameter fails the plan, not the job hours later; named where it was written
        for where, settings in plan.settings_layers(config, wildcards.model, stage.name, stage.settings_key):
            check_hparams(settings.get("hparams"), TRAINERS[stage.trainer].CONFIG_CLASS,
                          f"{where}.hparams (model {wildcards.model}, stage {stage.name})")
        precision_hparams(entry["precision"], section.get("hparams") or {},
                          f"config key {stage.settings_key}.hparams (model {wildcards.model}, stage {stage.name})",
                          model=wildcards.model)
    except RaitError as err:
        raise WorkflowError(str(err))
    if stage.scorer:
        options["reward_model"] = stage_checkpoint(wildcards.model, stage.scorer)
    if stage.reward:  # the registry names the reward; its weights are training.<trainer>.<reward>
        options.update(reward=stage.reward, reward_settings=section.get(stage.reward, {}),
                       confidence_marker=training["confidence_marker"],
                       confidence_position=training["confidence_position"])
    return json.dumps(options)


def stage_start_files(wildcards):
    return checkpoint_files(wildcards, STAGES[wildcards.stage].start)


def stage_scorer_files(wildcards):
    """The checkpoint that scores a stage's samples (an RL stage's reward model), if it has one."""
    scorer = STAGES[wildcards.stage].scorer
    return checkpoint_files(wildcards, scorer) if scorer else []


def stage_start(wildcards):
    return stage_checkpoint(wildcards.model, STAGES[wildcards.stage].start)


def policy_stages():
    """Stages whose checkpoint samples the questions its training set left out (Data.policy)."""
    return sorted({stage.data.policy for stage in STAGES.values() if stage.data.policy})


# ---- answering and evaluation ------------------------------------------------------


def eval_datasets(model):
    return model_section(model, "evaluation")["datasets"]


# The rules of evaluate.smk that write predictions; every answer strategy names one (rait.answering.Strategy.rule).
PREDICTION_RULES = ("predict_answers", "predict_best_of_n", "predict_with_followup", "collect_sampled_answers")
for _name, _strategy in STRATEGIES.items():
    # (a `rule` word followed by a colon on one line reads as a rule to snakemake --lint)
    _known = _strategy.rule in PREDICTION_RULES
    if not _known:
        raise WorkflowError(f"answer strategy {_name!r} (rait/answering.py) names rule {_strategy.rule!r}, which "
                            f"evaluate.smk does not have: {', '.join(PREDICTION_RULES)}")


def methods_predicted_by(rule):
    """The methods whose answer strategy's predictions the prediction rule `rule` writes (Strategy.rule)."""
    return [name for name, method in METHODS.items() if STRATEGIES[method.answer.strategy].rule == rule]


def answer_checkpoint(wildcards):
    return stage_checkpoint(wildcards.model, METHODS[wildcards.method].checkpoint)


def answer_model_files(wildcards):
    return checkpoint_files(wildcards, METHODS[wildcards.method].checkpoint)


def answer_scorer_files(wildcards):
    return checkpoint_files(wildcards, METHODS[wildcards.method].answer.scorer)


def answer_scorer(wildcards):
    return stage_checkpoint(wildcards.model, METHODS[wildcards.method].answer.scorer)


def best_of_n_sampling(wildcards):
    """N samples per question (methods.<name>.answer.n) with the model's sampling settings."""
    answer = method_settings(wildcards.model, wildcards.method).get("answer", {})
    return {**sampling_spec(wildcards), "n": answer["n"]}


def answer_settings(wildcards):
    """What a strategy reads besides the generations: methods.<name>.answer and the model's confidence marker."""
    answer = method_settings(wildcards.model, wildcards.method).get("answer", {})
    return {**answer, "confidence_marker": model_section(wildcards.model, "training")["confidence_marker"]}


def answer_templates(wildcards):
    answer = method_settings(wildcards.model, wildcards.method).get("answer", {})
    return instruction_templates(wildcards, METHODS[wildcards.method].answer.instruction, answer)


def answer_sampling(wildcards):
    """One answer per question, with room for what the method says before it (methods.<name>.answer.extra_tokens)."""
    spec = {**sampling_spec(wildcards), "n": 0}
    extra = method_settings(wildcards.model, wildcards.method).get("answer", {}).get("extra_tokens", 0)
    return {**spec, "max_new_tokens": spec["max_new_tokens"] + extra} if extra else spec


def predictions_file(model, method, dataset):
    return f"{RESULTS}/predictions/{model}_{method}/{dataset}_test.jsonl"


def judgments_file(model, method, dataset):
    return f"{RESULTS}/judgments/{JUDGE['model']}/{model}_{method}/{dataset}_test.jsonl"


def eval_inputs(wildcards):
    """A method's predictions and the base model's samples and labels on every test set; with a judge, its
    judgments of the method's answers and of the base model's (judged once, read by every evaluation)."""
    datasets = eval_datasets(wildcards.model)
    model = wildcards.model
    test_files = lambda pattern: [pattern.format(model=model, dataset=dataset) for dataset in datasets]
    inputs = {
        "questions": test_files(f"{RESULTS}/data/{{dataset}}/test.jsonl"),
        "predictions": [predictions_file(model, wildcards.method, dataset) for dataset in datasets],
        "base": test_files(f"{RESULTS}/samples/{{model}}/{{dataset}}_test.jsonl"),
        "knowledge": test_files(f"{RESULTS}/knowledge/{{model}}/{{dataset}}_test.jsonl"),
    }
    if JUDGE:
        inputs["judgments"] = [judgments_file(model, wildcards.method, dataset) for dataset in datasets]
        # the base model's greedy answers are the predictions of the method `base`
        inputs["base_judgments"] = [judgments_file(model, "base", dataset) for dataset in datasets]
    return inputs


def eval_grading_params():
    """How a method's evaluation grades: the profile of each test set, in eval_datasets order."""
    return dict(exact_match=config["grading"]["exact_match"], refusals=refusal_list,
                profiles=lambda wildcards: [dataset_profile(dataset) for dataset in eval_datasets(wildcards.model)])


def judge_generation_params():
    """The judge model's greedy replies (rait.sampling): its own engine settings, the judge prompt as it is."""
    entry = lambda key: lambda wildcards: model_entry(wildcards.judge).get(key)
    return dict(
        weights=lambda wildcards: model_checkpoint(wildcards.judge),
        engine=entry("engine"),
        engine_options=entry("engine_options"),
        gpus=entry("gpus"),
        chat=entry("chat"),
        system=entry("system"),
        templates=lambda wildcards: {"open": "{question}"},  # a function: braces are not wildcards
        sampling={"n": 0, "max_new_tokens": JUDGE["max_new_tokens"] if JUDGE else 0, "seed": 0},
    )


def eval_provenance(wildcards):
    """The config values an eval file was produced with, recorded in it."""
    method = METHODS[wildcards.method]
    provenance = {
        "sampling": sampling_spec(wildcards),
        "knowledge_threshold": knowledge_threshold(wildcards),
        "grading": {**config["grading"], "refusals": refusal_list(wildcards)},
        "templates": answer_templates(wildcards),
        "checkpoint": answer_checkpoint(wildcards),
        "answer": method.answer.strategy,
    }
    if method.answer.scorer:
        provenance["scorer"] = stage_checkpoint(wildcards.model, method.answer.scorer)
    if method.stages:
        provenance["training"] = stage_training(wildcards.model, method.stages[-1].name)
    return provenance


QUICK_DEMO_METHODS = registry.demo_methods("quick")
DEMO_METHODS = registry.demo_methods("full")


def knowledge_labels(model, datasets, splits=SPLITS):
    return [f"{RESULTS}/knowledge/{model}/{dataset}_{split}.jsonl" for dataset in datasets for split in splits]


def demo_targets():
    return knowledge_labels(config["demo"]["model"], config["demo"]["datasets"])


def eval_targets(model, methods=QUICK_DEMO_METHODS):
    return [f"{RESULTS}/eval/{model}_{method}.json" for method in methods]


def expected_evaluations(summary):
    """The demo's evaluation files a summary (`summary`: quick demo, `summary_full`: full) is made from."""
    methods = DEMO_METHODS if summary == "summary_full" else QUICK_DEMO_METHODS
    return eval_targets(config["demo"]["model"], methods)


def summary_inputs(wildcards):
    """The demo's evaluations and every other one on disk; with report.skip_missing, only those that exist."""
    files = sorted(set(evaluated_so_far() + expected_evaluations(wildcards.summary)))
    return [f for f in files if Path(f).exists()] if config["report"]["skip_missing"] else files


def missing_evaluations(wildcards):
    return [f for f in expected_evaluations(wildcards.summary) if f not in summary_inputs(wildcards)]


def evaluation_of(path):
    """(model, method) of `results/eval/{model}_{method}.json`: the method is the longest registry name that ends it."""
    name = Path(path).name.removesuffix(".json")
    for method in sorted(METHODS, key=len, reverse=True):
        if name.endswith(f"_{method}") and name[: -len(method) - 1] in config["models"]:
            return name[: -len(method) - 1], method
    return None


def report_inputs(wildcards):
    """What the report's figures are drawn from, for each evaluation of the summary: its curves, and its model's
    knowledge labels, certainty and flow on the train split (`checkpoints`: the (model, stage) of each checkpoint its
    answers rest on, whose log histories are read where they exist: `report_checkpoints`). Files behind an evaluation that is not
    the demo's (found on disk) are used only where they exist, so a report never retrains anything; with
    report.skip_missing, nothing is made first."""
    expected = set(expected_evaluations(wildcards.summary))
    evals = summary_inputs(wildcards)
    files = {"curves": [], "checkpoints": [], "knowledge": [], "flows": []}
    certainty_of = {}  # a flow file: the certainty file of the same model and dataset
    for path in evals:
        found = evaluation_of(path)
        if found is None:
            continue
        model, method = found
        trained = registry.trained_stages(METHODS[method], STAGES)
        files["checkpoints"] += [(model, stage) for stage in trained]
        wanted = {"curves": [f"{RESULTS}/eval/curves/{model}_{method}.json"]}
        datasets = [d for d in train_datasets(model) if d in config["datasets"]]
        wanted["knowledge"] = [f"{RESULTS}/knowledge/{model}/{d}_{split}.jsonl" for d in datasets for split in SPLITS]
        wanted["flows"] = []
        for stage in trained:
            kinds = set(STAGES[stage].data.inputs.values())
            kind = "flow" if "flow" in kinds else "certainty" if "certainty" in kinds else None
            for dataset in train_datasets(model, stage) if kind else []:
                wanted["flows"].append(INPUT_FILES[kind].format(model=model, dataset=dataset))
                if kind == "flow":
                    certainty_of[wanted["flows"][-1]] = INPUT_FILES["certainty"].format(model=model, dataset=dataset)
        only_existing = config["report"]["skip_missing"] or path not in expected
        for key, paths in wanted.items():
            files[key] += [p for p in paths if not only_existing or Path(p).exists()]
    files = {key: sorted(set(paths)) for key, paths in files.items()}
    # CRaFT's scatter: the flow file where there is one (it holds the certainty too), else the certainty file
    with_flow = {certainty_of[p] for p in files["flows"] if p in certainty_of}
    files["flows"] = [p for p in files["flows"] if p not in with_flow]
    return {"evals": evals, **files}


def report_checkpoints(wildcards):
    """The checkpoints behind the report's evaluations ({model, stage, path}), a parameter and not an input: each is
    upstream of its evaluation, so it exists when the figures are drawn after a fresh run, and one deleted to save
    disk (its evaluation done) loses its training curve instead of being trained again."""
    return [{"model": model, "stage": stage, "path": stage_checkpoint(model, stage)}
            for model, stage in report_inputs(wildcards)["checkpoints"]]


def report_thresholds(wildcards):
    """The knowledge threshold of each configured model (the knowledge histograms mark it)."""
    return {model: knowledge_threshold(SimpleNamespace(model=model)) for model in config["models"]}


def evaluated_so_far():
    """Every eval file on disk that the DAG makes (`{model}_{method}.json` of a configured model and a registry
    method), so the summary covers all that was evaluated, not only the demo; a stray JSON file there is not one."""
    names = glob_wildcards(f"{RESULTS}/eval/{{name}}.json").name
    files = (f"{RESULTS}/eval/{name}.json" for name in names if "/" not in name)
    return sorted(f for f in files if evaluation_of(f) is not None)


# ---- CRaFT: certainty, rehearsal, knowledge flow ------------------------------


def certainty_inputs(stage):
    """Open questions are scored from samples, multiple choice from the checkpoint itself."""

    def inputs(wildcards):
        files = {"questions": f"{RESULTS}/data/{wildcards.dataset}/{wildcards.split}.jsonl"}
        if dataset_kind(wildcards.dataset) == "open":
            folder = f"{wildcards.model}" if stage == registry.BASE else f"{wildcards.model}/{stage}"
            files["samples"] = f"{RESULTS}/samples/{folder}/{wildcards.dataset}_{wildcards.split}.jsonl"
        else:
            files["model"] = checkpoint_files(wildcards, stage)
        return files

    return inputs


def certainty_params(stage):
    entry = lambda key, default=None: lambda wildcards: model_entry(wildcards.model).get(key, default)
    return dict(
        weights=lambda wildcards: stage_checkpoint(wildcards.model, stage),
        templates=prompt_templates,
        chat=entry("chat"),
        system=entry("system"),
        embedding=lambda wildcards: craft_settings(wildcards)["embedding"],
        batch_size=lambda wildcards: craft_settings(wildcards)["batch_size"],
        **grading_params(),
    )


def certainty_gpus(wildcards):
    """Multiple choice runs the model itself; open questions only the small embedding model (one GPU at most)."""
    gpus = model_entry(wildcards.model)["gpus"]
    return gpus if dataset_kind(wildcards.dataset) == "mc" else min(gpus, 1)
