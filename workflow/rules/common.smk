# Input functions, parameter builders and wildcard constraints shared by all stages.
from snakemake.exceptions import WorkflowError

RESULTS = "results"
SPLITS = ["train", "test"]


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
    if entry.get("source") in ("gguf", "synthetic"):
        return f"{RESULTS}/models/{key}"
    return entry["path"]


def model_files(wildcards):
    """The built checkpoint a rule depends on; nothing for hub models (loaded on the node)."""
    entry = model_entry(wildcards.model)
    return [model_checkpoint(wildcards.model)] if entry.get("source") in ("gguf", "synthetic") else []


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
