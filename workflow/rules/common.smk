# Input functions, parameter builders and wildcard constraints shared by all stages.
import json

from snakemake.exceptions import WorkflowError

RESULTS = "results"
SPLITS = ["train", "test"]
# Model sources the DAG builds into results/models/{model} (rules convert_gguf, pretrain_synthetic).
BUILT_SOURCES = ("gguf", "synthetic")


wildcard_constraints:
    split="[A-Za-z0-9]+",
    dataset="[A-Za-z0-9]+(_[A-Za-z0-9]+)*",
    model="[A-Za-z0-9]+(_[A-Za-z0-9]+)*",


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


def model_checkpoint(key):
    """What from_pretrained is given: results/models/{key} for built models, else the configured path."""
    entry = model_entry(key)
    if entry.get("source") in BUILT_SOURCES:
        return f"{RESULTS}/models/{key}"
    return entry["path"]


def model_files(wildcards):
    """The built checkpoint a rule depends on; nothing for hub models (loaded on the node)."""
    built = model_entry(wildcards.model).get("source") in BUILT_SOURCES
    return [model_checkpoint(wildcards.model)] if built else []


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


def sampling_spec(wildcards):
    """Global sampling settings, overridden per model."""
    return {**config["sampling"], **model_entry(wildcards.model).get("sampling", {})}


def prompt_templates(wildcards):
    return {**config["prompts"], **model_entry(wildcards.model).get("prompts", {})}


def knowledge_threshold(wildcards):
    return model_entry(wildcards.model).get("threshold", config["knowledge"]["threshold"])


def model_resource(name):
    return lambda wildcards: model_entry(wildcards.model)[name]


def knowledge_labels(model, datasets, splits=SPLITS):
    return [f"{RESULTS}/knowledge/{model}/{dataset}_{split}.jsonl" for dataset in datasets for split in splits]


def demo_targets():
    return knowledge_labels(config["demo"]["model"], config["demo"]["datasets"])


def sampling_env(wildcards):
    """vLLM models sample in the vLLM env; the rest with transformers in the models env."""
    engine = model_entry(wildcards.model)["engine"]
    return "../../envs/sampling.yaml" if engine == "vllm" else "../../envs/models.yaml"


# ---- training and evaluation -------------------------------------------------

# The methods a target `results/eval/{model}_{method}.json` may name. Each is
# described once here: which checkpoint answers the test questions, and with
# which instruction.
METHODS = {
    "base": {"checkpoint": "base", "instruction": "model"},
    "prompt": {"checkpoint": "base", "instruction": "idk"},
    "sft": {"checkpoint": "sft", "instruction": "model"},
    "dpo": {"checkpoint": "dpo", "instruction": "model"},
}


wildcard_constraints:
    method="|".join(METHODS),
    stage="sft|sft_half",


def deep_merge(base, override):
    merged = dict(base)
    for key, value in (override or {}).items():
        merged[key] = deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


def model_section(model, section):
    """Global settings of `section`, overridden key by key by the model entry's own."""
    return deep_merge(config[section], model_entry(model).get(section, {}))


def training_settings(wildcards):
    return model_section(wildcards.model, "training")


def train_datasets(model):
    return model_section(model, "training")["datasets"]


def eval_datasets(model):
    return model_section(model, "evaluation")["datasets"]


def per_dataset(pattern, datasets, **fields):
    return [pattern.format(dataset=dataset, **fields) for dataset in datasets]


def train_inputs(wildcards):
    """Questions, base samples and knowledge labels of every training dataset's train split."""
    datasets = train_datasets(wildcards.model)
    return {
        "questions": per_dataset(f"{RESULTS}/data/{{dataset}}/train.jsonl", datasets),
        "samples": per_dataset(f"{RESULTS}/samples/{{model}}/{{dataset}}_train.jsonl", datasets, model=wildcards.model),
        "knowledge": per_dataset(f"{RESULTS}/knowledge/{{model}}/{{dataset}}_train.jsonl", datasets, model=wildcards.model),
    }


def builder_options(wildcards):
    """What the data builders use: the refusal, target choice, seed, prompt templates and grading switches."""
    settings = training_settings(wildcards)
    return {
        "refusal": settings["refusal"],
        "ik_target": settings["ik_target"],
        "seed": settings["seed"],
        "templates": prompt_templates(wildcards),
        "exact_match": config["grading"]["exact_match"],
        "refusals": list(config["grading"]["refusals"]) + [settings["refusal"]],
    }


def trainer_options(kind):
    def options(wildcards):
        settings = training_settings(wildcards)
        entry = model_entry(wildcards.model)
        chosen = {"chat": entry["chat"], "system": entry.get("system"), "lora": settings["lora"], "seed": settings["seed"]}
        if kind == "sft":
            chosen["hparams"] = settings["sft"]
        else:
            dpo = settings["dpo"]
            chosen.update(hparams=dpo["hparams"], beta=dpo["beta"], sft_weight=dpo["sft_weight"])
        return json.dumps(chosen)

    return options


def method_checkpoint(model, method):
    stage = METHODS[method]["checkpoint"]
    return model_checkpoint(model) if stage == "base" else f"{RESULTS}/checkpoints/{model}_{stage}"


def method_model_files(wildcards):
    stage = METHODS[wildcards.method]["checkpoint"]
    return model_files(wildcards) if stage == "base" else [method_checkpoint(wildcards.model, wildcards.method)]


def method_templates(wildcards):
    if METHODS[wildcards.method]["instruction"] == "idk":
        return {**prompt_templates(wildcards), **model_section(wildcards.model, "evaluation")["prompt_instruction"]}
    return prompt_templates(wildcards)


def predictions_file(model, method, dataset):
    """Greedy answers of a method on a test split; the base model's come with its samples."""
    if method == "base":
        return f"{RESULTS}/samples/{model}/{dataset}_test.jsonl"
    return f"{RESULTS}/predictions/{model}_{method}/{dataset}_test.jsonl"


def eval_inputs(wildcards):
    datasets = eval_datasets(wildcards.model)
    model = wildcards.model
    return {
        "questions": per_dataset(f"{RESULTS}/data/{{dataset}}/test.jsonl", datasets),
        "predictions": [predictions_file(model, wildcards.method, dataset) for dataset in datasets],
        "base": per_dataset(f"{RESULTS}/samples/{{model}}/{{dataset}}_test.jsonl", datasets, model=model),
        "knowledge": per_dataset(f"{RESULTS}/knowledge/{{model}}/{{dataset}}_test.jsonl", datasets, model=model),
    }


def eval_provenance(wildcards):
    """The config values an eval file was produced with, recorded in it."""
    provenance = {
        "sampling": sampling_spec(wildcards),
        "knowledge_threshold": knowledge_threshold(wildcards),
        "grading": config["grading"],
        "templates": method_templates(wildcards),
        "checkpoint": method_checkpoint(wildcards.model, wildcards.method),
    }
    if METHODS[wildcards.method]["checkpoint"] != "base":
        provenance["training"] = training_settings(wildcards)
    return provenance


DEMO_METHODS = ["base", "prompt", "sft", "dpo"]


def eval_targets(model, methods=DEMO_METHODS):
    return [f"{RESULTS}/eval/{model}_{method}.json" for method in methods]


def evaluated_so_far():
    """Every eval file on disk, so the summary covers all that was evaluated, not only the demo."""
    names = glob_wildcards(f"{RESULTS}/eval/{{name}}.json").name
    return sorted(f"{RESULTS}/eval/{name}.json" for name in names if "/" not in name)


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
