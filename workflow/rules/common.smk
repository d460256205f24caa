# Input functions, parameter builders and wildcard constraints shared by all stages.
import functools
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


# ---- what GPU jobs ask the scheduler for ---------------------------------------


def gpu_job_resources(gpus=None):
    """A GPU rule's resources, from the model's entry: `gpus` GPUs on one node (or the function `gpus` of the
    wildcards), the optional `gpu_model`, `mem_mb` and `runtime`. `gpu` is the profile's one GPU mechanism."""
    count = gpus or model_resource("gpus")
    return dict(
        gpu=count,
        gpu_model=lambda wildcards: model_entry(wildcards.model).get("gpu_model") if count(wildcards) else None,
        mem_mb=model_resource("mem_mb"),
        runtime=model_resource("runtime"),
    )


def gres_per_node(wildcards):
    entry = model_entry(wildcards.model)
    return ":".join(["gpu", *([entry["gpu_model"]] if entry.get("gpu_model") else []), str(entry["gpus"])])


def training_resources():
    """Training on the model's `nodes` nodes of `gpus` GPUs each. One node: as any GPU rule. Several: the GPUs
    as `gres` per node instead of `gpu` (SLURM's --gpus is a job total that it may split unevenly, and each
    node's launcher starts `gpus` processes), one task per node, and the executor's `mpi` path, which runs the
    rule's command once on the first node: `python -m rait.training --nodes N` starts the other nodes with
    srun (rait.launch). `tasks_per_gpu=0` keeps the executor from turning `tasks` into --ntasks-per-gpu.
    The command reads `node_gpus` and `nodes` (resources, not params: where a model trains is no reason to
    train it again)."""
    nodes = model_resource("nodes")

    def when(multi, value):
        return lambda wildcards: value(wildcards) if (nodes(wildcards) > 1) == multi else None

    one_node = gpu_job_resources()
    return dict(
        gpu=when(False, one_node["gpu"]),
        gpu_model=when(False, one_node["gpu_model"]),
        gres=when(True, gres_per_node),
        nodes=nodes,
        node_gpus=model_resource("gpus"),
        tasks=when(True, nodes),
        tasks_per_gpu=when(True, lambda wildcards: 0),
        mpi=when(True, lambda wildcards: "srun"),
        mem_mb=one_node["mem_mb"],
        runtime=one_node["runtime"],
    )


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
# described once here: which checkpoint answers the test questions, with which
# instruction, and for the CRaFT family which data builder (rait.construct.BUILDERS)
# makes its training set from which per-question scores (flow or certainty files).
METHODS = {
    "base": {"checkpoint": "base", "instruction": "model"},
    "prompt": {"checkpoint": "base", "instruction": "idk"},
    "sft": {"checkpoint": "sft", "instruction": "model"},
    "dpo": {"checkpoint": "dpo", "instruction": "model"},
    "craft": {"checkpoint": "craft", "instruction": "idk", "builder": "craft", "scores": "flow"},
    "craft_noflow": {"checkpoint": "craft_noflow", "instruction": "idk", "builder": "craft_noflow", "scores": "certainty"},
    "craft_nocer": {"checkpoint": "craft_nocer", "instruction": "idk", "builder": "craft_nocer", "scores": "flow"},
    "cor_rait": {"checkpoint": "cor_rait", "instruction": "idk", "builder": "cor_rait", "scores": "certainty"},
    "van_tuning": {"checkpoint": "van_tuning", "instruction": "idk", "builder": "van_tuning", "scores": None},
    # Alignment for Honesty (Yang et al.): built from the model's greedy answer, samples and their grades.
    "absolute": {"checkpoint": "absolute", "instruction": "idk", "builder": "absolute", "family": "honesty"},
    # statement_tokens: room for the confidence statement they put before the answer, on top of max_new_tokens
    "conf_num": {"checkpoint": "conf_num", "instruction": "idk", "builder": "conf_num", "family": "honesty",
                 "statement_tokens": 48},
    "conf_verb": {"checkpoint": "conf_verb", "instruction": "idk", "builder": "conf_verb", "family": "honesty",
                  "statement_tokens": 16},
    # demo False: left out of the laptop demo (`rule all`), its training set is one example per sample (10x)
    "multisample": {"checkpoint": "multisample", "instruction": "idk", "builder": "multisample", "family": "honesty",
                    "demo": False},
}
CRAFT_METHODS = [name for name, method in METHODS.items() if "scores" in method]
HONESTY_METHODS = [name for name, method in METHODS.items() if method.get("family") == "honesty"]
# Checkpoints trained with the SFT trainer: Idk-SFT, its DPO warm-up half, CRaFT's rehearsal model, the CRaFT
# family and the Alignment for Honesty family.
SFT_STAGES = ["sft", "sft_half", "rehearsal", *CRAFT_METHODS, *HONESTY_METHODS]


wildcard_constraints:
    method="|".join(METHODS),
    stage="|".join(SFT_STAGES),


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
        if kind == "sft" and wildcards.stage == "rehearsal":
            rehearsal = craft_settings(wildcards)["rehearsal"]
            chosen.update(hparams=rehearsal["hparams"], lora=rehearsal["lora"])
        elif kind == "sft":
            chosen["hparams"] = settings["sft"]
        else:
            dpo = settings["dpo"]
            chosen.update(hparams=dpo["hparams"], beta=dpo["beta"], sft_weight=dpo["sft_weight"])
        return json.dumps(chosen)

    return options


def stage_checkpoint(model, stage):
    """The base model, or the checkpoint a training stage wrote."""
    return model_checkpoint(model) if stage == "base" else f"{RESULTS}/checkpoints/{model}_{stage}"


def method_checkpoint(model, method):
    return stage_checkpoint(model, METHODS[method]["checkpoint"])


def method_model_files(wildcards):
    stage = METHODS[wildcards.method]["checkpoint"]
    return model_files(wildcards) if stage == "base" else [method_checkpoint(wildcards.model, wildcards.method)]


def method_templates(wildcards):
    if METHODS[wildcards.method]["instruction"] == "idk":
        return {**prompt_templates(wildcards), **model_section(wildcards.model, "evaluation")["prompt_instruction"]}
    return prompt_templates(wildcards)


def prediction_sampling(wildcards):
    """Greedy answers only, with room for a method's statement before the answer (statement_tokens)."""
    spec = {**sampling_spec(wildcards), "n": 0}
    extra = METHODS[wildcards.method].get("statement_tokens", 0)
    return {**spec, "max_new_tokens": spec["max_new_tokens"] + extra} if extra else spec


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


DEMO_METHODS = [name for name, method in METHODS.items() if method.get("demo", True)]


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


# ---- CRaFT: certainty, rehearsal, knowledge flow ------------------------------

# What kind of questions a dataset holds decides how CRaFT scores it (sample
# embeddings or option-letter probabilities), so it is known when the DAG is built.
HUB_LOADER_KINDS = {"triviaqa": "open", "nq_open": "open", "mmlu": "mc", "arc": "mc"}


@functools.lru_cache(maxsize=None)
def dataset_kind(key):
    entry = dataset_entry(key)
    source = entry["source"]
    if source == "hub":
        if entry.get("loader") not in HUB_LOADER_KINDS:
            raise WorkflowError(f"datasets.{key}.loader: unknown hub loader {entry.get('loader')!r}; known: {', '.join(HUB_LOADER_KINDS)}")
        return HUB_LOADER_KINDS[entry["loader"]]
    if source == "local":
        return "mc" if "choices" in entry.get("fields", {}) else "open"
    if source == "embedded":
        with open(f"{workflow.basedir}/rait/datasets/embedded/{entry['file']}", encoding="utf-8") as fh:
            return "mc" if "choices" in json.loads(fh.readline()) else "open"
    return "open"


def craft_settings(wildcards):
    return model_section(wildcards.model, "craft")


def certainty_inputs(stage):
    """Open questions are scored from samples, multiple choice from the checkpoint itself."""

    def inputs(wildcards):
        files = {"questions": f"{RESULTS}/data/{wildcards.dataset}/{wildcards.split}.jsonl"}
        if dataset_kind(wildcards.dataset) == "open":
            folder = f"{wildcards.model}" if stage == "base" else f"{wildcards.model}/{stage}"
            files["samples"] = f"{RESULTS}/samples/{folder}/{wildcards.dataset}_{wildcards.split}.jsonl"
        else:
            files["model"] = model_files(wildcards) if stage == "base" else [stage_checkpoint(wildcards.model, stage)]
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
        exact_match=config["grading"]["exact_match"],
        refusals=config["grading"]["refusals"],
    )


def certainty_gpus(wildcards):
    """Multiple choice runs the model itself; open questions only the small embedding model (one GPU at most)."""
    gpus = model_entry(wildcards.model)["gpus"]
    return gpus if dataset_kind(wildcards.dataset) == "mc" else min(gpus, 1)


def rehearsal_inputs(wildcards):
    datasets = train_datasets(wildcards.model)
    model = wildcards.model
    return {
        "questions": per_dataset(f"{RESULTS}/data/{{dataset}}/train.jsonl", datasets),
        "scores": per_dataset(f"{RESULTS}/knowledge/{{model}}/certainty/{{dataset}}_train.jsonl", datasets, model=model),
        "samples": per_dataset(f"{RESULTS}/samples/{{model}}/{{dataset}}_train.jsonl", datasets, model=model),
    }


def craft_inputs(wildcards):
    """Train questions, plus the scores the method selects by (flow, certainty, or none)."""
    datasets = train_datasets(wildcards.model)
    files = {"questions": per_dataset(f"{RESULTS}/data/{{dataset}}/train.jsonl", datasets)}
    scores = METHODS[wildcards.method]["scores"]
    if scores:
        files["scores"] = per_dataset(f"{RESULTS}/knowledge/{{model}}/{scores}/{{dataset}}_train.jsonl", datasets,
                                      model=wildcards.model)
    return files


def craft_builder_options(wildcards):
    """What the CRaFT selection builders use; they train with the refusal instruction they are evaluated with."""
    settings = training_settings(wildcards)
    return {
        "refusal": settings["refusal"],
        "seed": settings["seed"],
        "templates": method_templates(wildcards),
        "selection": craft_settings(wildcards)["selection"],
    }


def honesty_builder_options(wildcards):
    """What the Alignment for Honesty builders use; like CRaFT's, they train with the refusal instruction."""
    settings = training_settings(wildcards)
    return {
        "refusal": settings["refusal"],
        "templates": method_templates(wildcards),
        "absolute_threshold": config["honesty"]["absolute_threshold"],
    }


def rehearsal_options(wildcards):
    """Only what the rehearsal set depends on, so that editing the selection does not retrain the rehearsal model."""
    rehearsal = craft_settings(wildcards)["rehearsal"]
    return {
        "templates": prompt_templates(wildcards),
        "exact_match": config["grading"]["exact_match"],
        "refusals": list(config["grading"]["refusals"]),
        "rehearsal": {key: value for key, value in rehearsal.items() if key not in ("hparams", "lora")},
    }
