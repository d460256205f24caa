"""What each job of the DAG reads and is given: pure functions of the config and the registries.

``Plan(config)`` checks the config when it is built (every plan-time check, each naming its config key) and then
answers the rules' questions by name: the files a stage's training set is built from, the options of its
trainer, the inputs of an evaluation, the report's inputs. The workflow (``workflow/rules/common.smk``) makes
one and adapts its methods to Snakemake's wildcards; ``tests/test_plan_jobs.py`` asks it directly.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable

from rait import methods as registry
from rait.errors import RaitError
from rait.plan import checks
from rait.plan.layout import LAYOUT, Layout, check_unambiguous
from rait.plan.settings import (check_trainer_sections, deep_merge, settings_layers, stage_training,
                                with_trainer_defaults)
from rait.plan.sweeps import expand_config, expand_methods, sweep_points
from rait.registry import unknown

SPLITS = ("train", "test")
# Model sources the DAG makes into results/models/{model} (rules download_model, convert_gguf, pretrain_synthetic);
# a `local` model is a checkpoint folder the entry's `path` names.
BUILT_SOURCES = ("hub", "gguf", "synthetic")
# Sampling settings that decide how a split is cut into jobs, not what is sampled: never a rerun trigger.
JOB_SETTINGS = ("shard_size",)


def _instruction_templates():
    """How each instruction of rait.methods.INSTRUCTIONS turns a model's prompts into the ones used; ``answer`` is
    the method's methods.<name>.answer settings (an answer-only instruction reads its setting there)."""
    from rait.construct.confqa import dampened_templates
    from rait.construct.hir import level_templates

    return {
        "model": lambda plan, model, templates, answer: templates,
        "idk": lambda plan, model, templates, answer: {
            **templates, **plan.model_section(model, "evaluation")["prompt_instruction"]},
        "hir": lambda plan, model, templates, answer: level_templates(templates, answer["level"]),
        "dampened": lambda plan, model, templates, answer: dampened_templates(
            templates, plan.model_section(model, "evaluation")["dampener"]),
    }


INSTRUCTION_TEMPLATES = _instruction_templates()
if set(INSTRUCTION_TEMPLATES) != set(registry.INSTRUCTIONS):
    raise RaitError("rait.plan.jobs.INSTRUCTION_TEMPLATES must cover rait.methods.INSTRUCTIONS")

# Where each per-question input kind of rait.methods.INPUT_KINDS lies, for one model and training dataset.
INPUT_FILES = {
    "questions": lambda layout, model, dataset: layout.questions(dataset, "train"),
    "samples": lambda layout, model, dataset: layout.samples(model, dataset, "train"),
    "knowledge": lambda layout, model, dataset: layout.knowledge(model, dataset, "train"),
    "certainty": lambda layout, model, dataset: layout.knowledge(model, dataset, "train", kind="certainty"),
    "flow": lambda layout, model, dataset: layout.knowledge(model, dataset, "train", kind="flow"),
    "gradients": lambda layout, model, dataset: layout.gradients(model, dataset, "train"),
}
if set(INPUT_FILES) != set(registry.INPUT_KINDS):
    raise RaitError("rait.plan.jobs.INPUT_FILES and rait.methods.INPUT_KINDS disagree")


class Plan:
    """The plan of one config. ``methods``, ``builders``, ``trainers`` and ``strategies`` default to rait's
    registries (a test may give its own)."""

    def __init__(self, config: dict, *, layout: Layout = LAYOUT, methods=None, builders=None, trainers=None,
                 strategies=None):
        from rait.answering import STRATEGIES
        from rait.construct import BUILDERS
        from rait.training import TRAINERS

        self.layout = layout
        methods = registry.METHODS if methods is None else methods
        self.builders = BUILDERS if builders is None else builders
        self.trainers = TRAINERS if trainers is None else trainers
        self.strategies = STRATEGIES if strategies is None else strategies
        try:
            registry.check(methods, builders=self.builders, trainers=self.trainers, strategies=self.strategies)
        except RaitError as err:
            raise RaitError(f"method registry (rait/methods.py): {err}") from None
        # a swept setting's points are methods too (rait.plan.sweeps), each with its settings in the config
        self.sweeps = sweep_points(config, methods, self.trainers)
        self.methods = expand_methods(methods, self.sweeps)
        self.stages = registry.stages(self.methods)
        config = expand_config(config, self.sweeps)
        check_trainer_sections(config, self.trainers)
        # each trainer's defaults live in its Settings (rait.training.settings), not in config.yaml
        self.config = with_trainer_defaults(config, self.trainers)
        self.check()
        self.judge = self._judge_settings()
        # cached per plan: each reads files or packages, and the DAG asks for them per job
        self.local_checkpoint = functools.cache(self._local_checkpoint)
        self.gguf_file = functools.cache(self._gguf_file)
        self.dataset_kind = functools.cache(self._dataset_kind)
        self.split_size = functools.cache(self._split_size)

    def check(self) -> None:
        """Every check the config can fail before any job runs (each error names its config key)."""
        config = self.config
        checks.check_prompt_templates(config)
        try:
            checks.check_cut_templates(config)
            checks.check_dataset_lists(config)
        except RaitError as err:
            raise RaitError(f"config: {err}") from None
        checks.check_method_settings(config, self.methods)
        check_unambiguous(config["models"], self.methods)

    # ---- models -----------------------------------------------------------------------------------------------

    def _entry(self, section: str, key: str) -> dict:
        entries = self.config[section]
        if key not in entries:
            raise RaitError(unknown(f"{section[:-1]} key", key, entries, f"config key {section}"))
        return entries[key]

    def model_entry(self, key: str) -> dict:
        return self._entry("models", key)

    def dataset_entry(self, key: str) -> dict:
        return self._entry("datasets", key)

    def model_section(self, model: str, section: str) -> dict:
        """Global settings of ``section``, overridden key by key by the model entry's own."""
        return deep_merge(self.config[section], self.model_entry(model).get(section, {}))

    def model_source(self, key: str) -> str:
        return self.model_entry(key).get("source", "hub")

    def models_from(self, source: str) -> str:
        """A wildcard constraint: the model keys of one source."""
        return "|".join(key for key in self.config["models"] if self.model_source(key) == source) or "(?!)"

    def model_checkpoint(self, key: str) -> str:
        """What from_pretrained is given: results/models/{key} for made models, else the local folder (checked when
        the DAG is built: a checkpoint folder, its config.json in it)."""
        if self.model_source(key) in BUILT_SOURCES:
            return self.layout.model(key)
        return self.local_checkpoint(key)

    def _local_checkpoint(self, key: str) -> str:
        from rait.models import check_checkpoint_folder

        try:
            return check_checkpoint_folder(self.model_entry(key)["path"], f"models.{key}.path")
        except RaitError as err:
            raise RaitError(f"config: {err}") from None

    def _gguf_file(self, key: str) -> str:
        """The GGUF file a `source: gguf` model is converted from: models.<key>.file inside its package, found when
        the DAG is built (the convert job only opens it)."""
        from rait.models import package_file

        entry = self.model_entry(key)
        try:
            package_file(entry["package"], entry["file"])
        except RaitError as err:
            raise RaitError(f"config: models.{key}.file: {err}") from None
        return entry["file"]

    def built_model_files(self, key: str) -> list[str]:
        """The made checkpoint that the jobs using model ``key`` depend on (hub models too: downloaded by their own
        job, so that no GPU job needs the network); nothing for a local folder."""
        return [self.model_checkpoint(key)] if self.model_source(key) in BUILT_SOURCES else []

    def stage_checkpoint(self, model: str, stage: str) -> str:
        """The base model, or the checkpoint a training stage writes."""
        return self.model_checkpoint(model) if stage == registry.BASE else self.layout.checkpoint(model, stage)

    def checkpoint_files(self, model: str, stage: str) -> list[str]:
        """What a job loading ``stage``'s checkpoint depends on: the checkpoint, and for one stored as an adapter
        the full checkpoint it applies to."""
        if stage == registry.BASE:
            return self.built_model_files(model)
        base = self.adapter_base_stage(model, stage)
        return [self.stage_checkpoint(model, stage), *([] if base is None else self.checkpoint_files(model, base))]

    def stage_storage(self, model: str, stage: str) -> str:
        """How a stage's checkpoint is stored: "adapter" (a LoRA stage, a reward model's with its score head,
        unless training.lora_storage says merged), else "full"."""
        if stage == registry.BASE:
            return "full"
        wanted = self.stage_training(model, stage).get("lora_storage", "adapter")
        return "adapter" if wanted != "merged" and self.stage_lora(model, stage) is not None else "full"

    def stage_lora(self, model: str, stage: str) -> dict | None:
        """A stage's LoRA settings (None: full fine-tuning): its trainer section's ``lora``, else training.lora."""
        return self.trainer_section(model, stage).get("lora", self.stage_training(model, stage)["lora"])

    def adapter_base_stage(self, model: str, stage: str) -> str | None:
        """The stage (or ``base``) whose full checkpoint an adapter stage applies to: the first start down its
        chain that is not itself an adapter; None for a full checkpoint."""
        if self.stage_storage(model, stage) != "adapter":
            return None
        start = self.stages[stage].start
        return self.adapter_base_stage(model, start) or start

    def stacked_rank(self, model: str, stage: str) -> int:
        """The rank of an adapter stage's stored adapter: its LoRA rank plus its adapter start's (rait.adapters.stack);
        0 for a full checkpoint."""
        if self.stage_storage(model, stage) != "adapter":
            return 0
        from rait.training.common import DEFAULT_LORA

        own = int({**DEFAULT_LORA, **self.stage_lora(model, stage)}["r"])
        return own + self.stacked_rank(model, self.stages[stage].start)

    def engine_env(self, model: str) -> str:
        """vLLM models sample in the vLLM env; the rest with transformers in the models env."""
        return "../envs/sampling.yaml" if self.model_entry(model)["engine"] == "vllm" else "../envs/models.yaml"

    # ---- datasets ---------------------------------------------------------------------------------------------

    def dataset_spec(self, dataset: str, split: str) -> dict:
        """The dataset's config entry plus its key, so messages can name config keys."""
        entry = self.dataset_entry(dataset)
        if entry["source"] in ("hub", "local"):
            splits = entry.get("files" if entry["source"] == "local" else "splits", {})
            if split not in splits:
                raise RaitError(f"dataset {dataset!r} has no split {split!r} (config key datasets.{dataset}); "
                                f"known: {', '.join(splits)}")
        return {**entry, "key": dataset}

    def dataset_inputs(self, dataset: str) -> dict:
        """Files a dataset is built from: the synthetic world, which the DAG makes, and the file of the question ids
        it keeps (config key ``ids``), so that editing that file prepares the dataset again."""
        from rait.datasets import ids_path

        entry = self.dataset_entry(dataset)
        inputs = {"world": self.layout.world()} if entry["source"] == "synthetic" else {}
        listed = ids_path(entry)
        return {**inputs, "ids": str(listed)} if listed is not None else inputs

    def dataset_limit(self, dataset: str, split: str):
        return self.dataset_entry(dataset).get("limit", {}).get(split)

    def _dataset_kind(self, key: str) -> str:
        """`open` or `mc` (rait.datasets.dataset_kind), known when the DAG is built."""
        from rait.datasets import dataset_kind

        return dataset_kind({**self.dataset_entry(key), "key": key})

    def _split_size(self, dataset: str, split: str):
        """How many questions a split will hold, known when the DAG is built (rait.datasets.expected_size)."""
        from rait.datasets import expected_size

        entry = self.dataset_entry(dataset)
        return expected_size({**entry, "key": dataset}, split, limit=entry.get("limit", {}).get(split),
                             synthetic_facts=self.config["synthetic"]["n_facts"])

    # ---- sampling, prompts, grading -----------------------------------------------------------------------------

    def model_sampling(self, model: str) -> dict:
        return {**self.config["sampling"], **self.model_entry(model).get("sampling", {})}

    def sampling_spec(self, model: str) -> dict:
        """Global sampling settings, overridden per model (what rait.sampling.SamplingSpec takes)."""
        return {key: value for key, value in self.model_sampling(model).items() if key not in JOB_SETTINGS}

    def sample_shards(self, model: str, dataset: str, split: str) -> list[str]:
        """The shard files a split's samples are gathered from: ceil(size / sampling.shard_size), one when
        unknown."""
        from rait.sampling import shard_count

        try:
            count = shard_count(self.split_size(dataset, split), self.model_sampling(model)["shard_size"])
        except RaitError as err:
            raise RaitError(f"models.{model}: {err}") from None
        return [self.layout.sample_shard(model, dataset, split, index, count) for index in range(count)]

    def prompt_templates(self, model: str) -> dict:
        return {**self.config["prompts"], **self.model_entry(model).get("prompts", {})}

    def instruction_templates(self, model: str, instruction: str, answer: dict | None = None) -> dict:
        """The prompts for ``instruction`` (rait.methods.INSTRUCTIONS)."""
        return INSTRUCTION_TEMPLATES[instruction](self, model, self.prompt_templates(model), answer or {})

    def knowledge_threshold(self, model: str) -> float:
        return self.model_entry(model).get("threshold", self.config["knowledge"]["threshold"])

    def refusal_list(self, model: str) -> list[str]:
        """The one list of sentences graded as a refusal, for labeling, certainty, data building and evaluation:
        grading.refusals plus the model's training refusal (what its methods are taught to say)."""
        refusal = self.model_section(model, "training")["refusal"]
        return list(dict.fromkeys([*self.config["grading"]["refusals"], refusal]))

    def dataset_profile(self, dataset: str) -> str:
        """The grading profile of a dataset's questions: its entry's `grading_profile`, else grading.profile;
        checked against the dataset's kind of questions (a profile reproduces one paper's grader, and
        Say-I-Dont-Know's has no multiple choice), so that an error names the key when the DAG is built."""
        from rait.profiles import check_profile

        entry = self.dataset_entry(dataset)
        own = "grading_profile" in entry
        profile = entry["grading_profile"] if own else self.config["grading"]["profile"]
        where = f"datasets.{dataset}.grading_profile" if own else f"grading.profile (dataset {dataset})"
        check_profile(profile, self.dataset_kind(dataset), where)
        return profile

    def judge_mode(self, dataset: str) -> str:
        """How the model judge grades a dataset's answers (rait.judging.MODES): its entry's `judge_mode`, else its
        hub loader's own (SimpleQA's: three_way), else grading.judge.mode."""
        entry = self.dataset_entry(dataset)
        if "judge_mode" in entry:
            return entry["judge_mode"]
        if entry.get("source") == "hub":
            from rait.datasets.hub import loader_of

            own = loader_of({**entry, "key": dataset}).judge_mode
            if own:
                return own
        return (self.judge or {}).get("mode", "score")

    def judge_prompt(self, dataset: str) -> str:
        """The judge's prompt for a dataset's answers: grading.judge.prompt, or its three_way_prompt."""
        return self.judge["three_way_prompt" if self.judge_mode(dataset) == "three_way" else "prompt"]

    def _judge_settings(self) -> dict | None:
        """grading.judge (or None), checked when the DAG is built: its model is a configured one, its prompt's
        fields are those a judge prompt may use."""
        from rait.judging import check_prompt

        judge = self.config["grading"].get("judge")
        if judge is None:
            return None
        if judge["model"] not in self.config["models"]:
            raise RaitError(f"grading.judge.model: {judge['model']!r} is not a configured model (config key "
                            f"models); known: {', '.join(sorted(self.config['models']))}")
        check_prompt(judge["prompt"])
        check_prompt(judge["three_way_prompt"], "grading.judge.three_way_prompt")
        return judge

    # ---- methods, training sets and stages ----------------------------------------------------------------------

    def method_settings(self, model: str, name: str) -> dict:
        """methods.<name>, merged with the model's own methods.<name>."""
        return self.model_section(model, "methods").get(name, {})

    def stage_training(self, model: str, stage: str) -> dict:
        """The `training` section a stage trains with (rait.plan.stage_training: global, the method's, the
        model's, the model's for the method)."""
        self.model_entry(model)
        return stage_training(self.config, model, stage)

    def train_datasets(self, model: str, stage: str | None = None) -> list[str]:
        return (self.stage_training(model, stage) if stage else self.model_section(model, "training"))["datasets"]

    def input_file(self, kind: str, model: str, dataset: str) -> str:
        """Where a per-question input of rait.methods.INPUT_KINDS lies for one training dataset."""
        return INPUT_FILES[kind](self.layout, model, dataset)

    def train_data_inputs(self, model: str, stage: str) -> dict:
        """The per-question files a stage's builder reads, one per training dataset (rait.methods.Data.inputs),
        and the held-out samples of its policy stage."""
        data = self.stages[stage].data
        datasets = self.train_datasets(model, stage)
        files = {name: [self.input_file(kind, model, dataset) for dataset in datasets]
                 for name, kind in data.inputs.items()}
        if data.policy:
            files["policy_samples"] = self.layout.heldout_samples(model, data.policy)
        return files

    def heldout_questions(self, model: str, stage: str) -> list[str]:
        return [self.input_file("questions", model, dataset) for dataset in self.train_datasets(model, stage)]

    def craft_settings(self, model: str) -> dict:
        return self.model_section(model, "craft")

    def _builder_option_values(self, model: str, stage: str) -> dict[str, Callable]:
        """How each option a builder may declare (rait.construct.OPTIONS) is read from config, lazily."""
        training = lambda: self.stage_training(model, stage)
        trainer_keys = ("hparams", "lora")
        craft = lambda: self.craft_settings(model)
        return {
            "refusal": lambda: training()["refusal"],
            "refusals": lambda: self.refusal_list(model),
            "exact_match": lambda: self.config["grading"]["exact_match"],
            "grading_profile": lambda: {dataset: self.dataset_profile(dataset)
                                        for dataset in self.train_datasets(model, stage)},
            "seed": lambda: training()["seed"],
            "ik_target": lambda: training()["ik_target"],
            "selection": lambda: craft()["selection"],
            "rehearsal": lambda: {k: v for k, v in craft()["rehearsal"].items() if k not in trainer_keys},
            "grait": lambda: self.model_section(model, "grait")["selection"],
            "confidence_marker": lambda: training()["confidence_marker"],
            "confidence_position": lambda: training()["confidence_position"],
            "confidence_decimals": lambda: training()["confidence_decimals"],
            # the stage named after its method (rtuning) is built with the wording the method answers with
            "followup": lambda: self.method_settings(model, stage).get("answer", {}),
        }

    def builder_options(self, model: str, stage: str) -> dict:
        """What a stage's builder is given: its prompts, the options it declares (and only those, so that a
        training set is rebuilt only when something it reads changes), and its method's methods.<name>.data."""
        data = self.stages[stage].data
        values = self._builder_option_values(model, stage)
        options = {"templates": self.instruction_templates(model, data.instruction)}
        for name in self.builders[data.builder].options:
            if name not in values:
                raise RaitError(f"builder {data.builder!r} declares option {name!r}, which rait.plan cannot provide")
            options[name] = values[name]()
        return {**options, **self.method_settings(model, stage).get("data", {})}

    def trainer_section(self, model: str, stage: str) -> dict:
        """A stage's trainer settings (rait.methods.Stage.settings_key: training.<trainer>, or e.g.
        craft.rehearsal)."""
        settings_key = self.stages[stage].settings_key
        first, *rest = settings_key.split(".")
        section = self.stage_training(model, stage) if first == "training" else self.model_section(model, first)
        for key in rest:
            if not isinstance(section, dict) or key not in section:
                raise RaitError(f"config key {settings_key}: not set")
            section = section[key]
        return section

    def trainer_options(self, model: str, stage_name: str) -> str:
        """`--options` of `python -m rait.training`: the model's chat settings, LoRA, seed, and the trainer's
        SETTINGS."""
        from rait.training.common import precision_hparams
        from rait.training.hparams import check_hparams

        stage = self.stages[stage_name]
        trainer = self.trainers[stage.trainer]
        training = self.stage_training(model, stage.name)
        section = self.trainer_section(model, stage.name)
        entry = self.model_entry(model)
        options = {"chat": entry["chat"], "system": entry.get("system"), "lora": self.stage_lora(model, stage.name),
                   "seed": training["seed"]}
        options.update({key: section[key] for key in trainer.SETTINGS if key in section})
        # a misspelt hyper-parameter fails the plan, not the job hours later; named where it was written
        for where, settings in settings_layers(self.config, model, stage.name, stage.settings_key):
            check_hparams(settings.get("hparams"), trainer.CONFIG_CLASS,
                          f"{where}.hparams (model {model}, stage {stage.name})")
        precision_hparams(entry["precision"], section.get("hparams") or {},
                          f"config key {stage.settings_key}.hparams (model {model}, stage {stage.name})", model=model)
        if self.stage_storage(model, stage.name) == "adapter":  # absent: merged (training.lora_storage), as before adapters
            options["storage"] = "adapter"
        if stage.scorer:
            options["reward_model"] = self.stage_checkpoint(model, stage.scorer)
        if stage.adam_moments:
            if "adam_moments" not in trainer.SETTINGS:
                raise RaitError(f"stage {stage.name}: its registry entry keeps Adam moments, which trainer "
                                f"{stage.trainer!r} cannot (no adam_moments among its SETTINGS)")
            options["adam_moments"] = True
        if stage.reward:  # the registry names the reward; its weights are training.<trainer>.<reward>
            options.update(reward=stage.reward, reward_settings=section.get(stage.reward, {}),
                           confidence_marker=training["confidence_marker"],
                           confidence_position=training["confidence_position"])
        return json.dumps(options)

    def stage_start_files(self, model: str, stage: str) -> list[str]:
        return self.checkpoint_files(model, self.stages[stage].start)

    def stage_scorer_files(self, model: str, stage: str) -> list[str]:
        """The checkpoint that scores a stage's samples (an RL stage's reward model), if it has one."""
        scorer = self.stages[stage].scorer
        return self.checkpoint_files(model, scorer) if scorer else []

    def stage_start(self, model: str, stage: str) -> str:
        return self.stage_checkpoint(model, self.stages[stage].start)

    def policy_stages(self) -> list[str]:
        """Stages whose checkpoint samples the questions its training set left out (Data.policy)."""
        return sorted({stage.data.policy for stage in self.stages.values() if stage.data.policy})

    def save_steps(self, model: str, stage: str) -> int:
        return self.stage_training(model, stage).get("save_steps", 0)

    # ---- answering and evaluation ---------------------------------------------------------------------------------

    def eval_datasets(self, model: str) -> list[str]:
        return self.model_section(model, "evaluation")["datasets"]

    def methods_answering_from_samples(self, from_samples: bool) -> list[str]:
        """The methods whose answers are (True) or are not (False) the base model's greedy answers read from its
        samples (Strategy.from_base_samples: rule collect_sampled_answers; the others: predict_answers)."""
        return [name for name, method in self.methods.items()
                if self.strategies[method.answer.strategy].from_base_samples == from_samples]

    def _answer_checkpoints(self, method: str) -> dict[str, str]:
        """The stages a method's strategy reads besides the answering one, by name (Strategy.checkpoints)."""
        answer = self.methods[method].answer
        return {name: getattr(answer, name) for name in self.strategies[answer.strategy].checkpoints}

    def answer_checkpoints(self, model: str, method: str) -> dict[str, str]:
        return {name: self.stage_checkpoint(model, stage) for name, stage in self._answer_checkpoints(method).items()}

    def answer_inputs(self, model: str, method: str) -> dict[str, list[str]]:
        """The answering checkpoint's files and those of each checkpoint the strategy reads; the model's engine
        service's address for a method that answers through it."""
        return {"model": self.answer_model_files(model, method),
                **{name: self.checkpoint_files(model, stage) for name, stage in self._answer_checkpoints(method).items()},
                **({"engine": [self.layout.engine_address(model)]} if self.answers_through_engine(model, method) else {})}

    def answers_through_engine(self, model: str, method: str) -> bool:
        """Whether a method's answers come from the model's engine service (rule serve_engine, rait.answer_service):
        its checkpoint is the base or an adapter over it, and ``evaluation.shared_engine`` is not off (a stage
        trained in full, or an adapter over one, such as CRaFT's rehearsal, loads its own engine)."""
        if not self.model_section(model, "evaluation").get("shared_engine", True):
            return False
        if self.strategies[self.methods[method].answer.strategy].from_base_samples:
            return False  # read from the base model's samples: no model runs
        stage = self.methods[method].checkpoint
        return stage == registry.BASE or self.adapter_base_stage(model, stage) == registry.BASE

    def engine_service_settings(self, model: str) -> dict:
        """What the model's engine service loads (rule serve_engine): the base, its engine and options, the sampling
        seed, and the LoRA rank it serves up to."""
        entry = self.model_entry(model)
        return {"weights": self.model_checkpoint(model), "engine": entry["engine"],
                "engine_options": entry.get("engine_options") or {}, "gpus": entry.get("gpus", 0),
                "sampling": self.sampling_spec(model), "lora_rank": self.engine_lora_rank(model)}

    def engine_lora_rank(self, model: str) -> int:
        """The LoRA rank the model's engine service serves up to: the engine rank (rait.adapters.served_rank)
        holding the largest stacked rank of the adapters over the base among the model's methods (0: none)."""
        from rait.adapters import served_rank

        ranks = [self.stacked_rank(model, method.checkpoint) for name, method in self.methods.items()
                 if method.checkpoint != registry.BASE and self.answers_through_engine(model, name)]
        return served_rank(max(ranks)) if any(ranks) else 0

    def prediction_sampling(self, model: str, method: str) -> dict:
        """N samples per question for a strategy that samples (best_of_n), else one answer (answer_sampling)."""
        sampled = self.strategies[self.methods[method].answer.strategy].samples
        return self.best_of_n_sampling(model, method) if sampled else self.answer_sampling(model, method)

    def answer_checkpoint(self, model: str, method: str) -> str:
        return self.stage_checkpoint(model, self.methods[method].checkpoint)

    def answer_model_files(self, model: str, method: str) -> list[str]:
        return self.checkpoint_files(model, self.methods[method].checkpoint)

    def _answer(self, model: str, method: str) -> dict:
        return self.method_settings(model, method).get("answer", {})

    def best_of_n_sampling(self, model: str, method: str) -> dict:
        """N samples per question (methods.<name>.answer.n) with the model's sampling settings."""
        return {**self.sampling_spec(model), "n": self._answer(model, method)["n"]}

    def answer_settings(self, model: str, method: str) -> dict:
        """What a strategy reads besides the generations: methods.<name>.answer and the model's confidence
        marker."""
        return {**self._answer(model, method),
                "confidence_marker": self.model_section(model, "training")["confidence_marker"]}

    def answer_templates(self, model: str, method: str) -> dict:
        return self.instruction_templates(model, self.methods[method].answer.instruction, self._answer(model, method))

    def answer_sampling(self, model: str, method: str) -> dict:
        """One answer per question, with room for what the method says before it
        (methods.<name>.answer.extra_tokens)."""
        spec = {**self.sampling_spec(model), "n": 0}
        extra = self._answer(model, method).get("extra_tokens", 0)
        return {**spec, "max_new_tokens": spec["max_new_tokens"] + extra} if extra else spec

    def eval_inputs(self, model: str, method: str) -> dict:
        """A method's predictions and the base model's samples and labels on every test set; with a judge, its
        judgments of the method's answers and of the base model's (judged once, read by every evaluation)."""
        datasets = self.eval_datasets(model)
        layout = self.layout
        inputs = {
            "questions": [layout.questions(dataset, "test") for dataset in datasets],
            "predictions": [layout.predictions(model, method, dataset) for dataset in datasets],
            "base": [layout.samples(model, dataset, "test") for dataset in datasets],
            "knowledge": [layout.knowledge(model, dataset, "test") for dataset in datasets],
        }
        if self.judge:
            judge = self.judge["model"]
            inputs["judgments"] = [layout.judgments(judge, model, method, dataset) for dataset in datasets]
            # the base model's greedy answers are the predictions of the method `base`
            inputs["base_judgments"] = [layout.judgments(judge, model, "base", dataset) for dataset in datasets]
        return inputs

    def eval_profiles(self, model: str) -> list[str]:
        """The grading profile of each test set, in eval_datasets order."""
        return [self.dataset_profile(dataset) for dataset in self.eval_datasets(model)]

    def eval_provenance(self, model: str, method: str) -> dict:
        """The config values an eval file was produced with, recorded in it."""
        entry = self.methods[method]
        provenance = {
            "sampling": self.sampling_spec(model),
            "knowledge_threshold": self.knowledge_threshold(model),
            "grading": {**self.config["grading"], "refusals": self.refusal_list(model)},
            "templates": self.answer_templates(model, method),
            "checkpoint": self.answer_checkpoint(model, method),
            "answer": entry.answer.strategy,
        }
        if entry.answer.scorer:
            provenance["scorer"] = self.stage_checkpoint(model, entry.answer.scorer)
        if entry.stages:
            provenance["training"] = self.stage_training(model, entry.stages[-1].name)
        if method in self.sweeps:  # the report groups a sweep's points by it (rait.pareto)
            provenance["sweep"] = self.sweeps[method].provenance()
        return provenance

    # ---- targets and the report -----------------------------------------------------------------------------------

    def knowledge_labels(self, model: str, datasets: Iterable[str], splits: Iterable[str] = SPLITS) -> list[str]:
        return [self.layout.knowledge(model, dataset, split) for dataset in datasets for split in splits]

    def demo_targets(self) -> list[str]:
        return self.knowledge_labels(self.config["demo"]["model"], self.config["demo"]["datasets"])

    def demo_methods(self, summary: str) -> list[str]:
        """The methods of a demo: `summary` the quick one, `summary_full` the full one."""
        return registry.demo_methods("full" if summary == "summary_full" else "quick", self.methods)

    def eval_targets(self, model: str, methods: Iterable[str]) -> list[str]:
        return [self.layout.eval_file(model, method) for method in methods]

    def expected_evaluations(self, summary: str) -> list[str]:
        """The demo's evaluation files a summary (`summary`: quick demo, `summary_full`: full) is made from."""
        return self.eval_targets(self.config["demo"]["model"], self.demo_methods(summary))

    def evaluation_of(self, path: str) -> tuple[str, str] | None:
        """(model, method) of an evaluation file, None for any other file."""
        return self.layout.parse_eval(path, self.config["models"], self.methods)

    def evaluations_among(self, names: Iterable[str]) -> list[str]:
        """The eval files among the `{name}` of files `results/eval/{name}.json` found on disk: those the DAG
        makes (a configured model and a registry method); a stray JSON file there is not one."""
        files = (self.layout.eval_named(name) for name in names if "/" not in name)
        return sorted(f for f in files if self.evaluation_of(f) is not None)

    def summary_inputs(self, summary: str, on_disk: Iterable[str], exists: Callable[[str], bool]) -> list[str]:
        """The demo's evaluations and every other one on disk (``on_disk``: evaluations_among); with
        report.skip_missing, only those that exist."""
        files = sorted(set(list(on_disk) + self.expected_evaluations(summary)))
        return [f for f in files if exists(f)] if self.config["report"]["skip_missing"] else files

    def report_inputs(self, summary: str, evals: list[str], exists: Callable[[str], bool]) -> dict:
        """What the report's figures are drawn from, for each evaluation of the summary (``evals``: summary_inputs):
        its curves, and its model's knowledge labels, certainty and flow on the train split (`checkpoints`: the
        (model, stage) of each checkpoint its answers rest on, whose log histories are read where they exist).
        Files behind an evaluation that is not the demo's (found on disk) are used only where they exist, so a
        report never retrains anything; with report.skip_missing, nothing is made first."""
        expected = set(self.expected_evaluations(summary))
        files = {"curves": [], "checkpoints": [], "knowledge": [], "flows": []}
        certainty_of = {}  # a flow file: the certainty file of the same model and dataset
        for path in evals:
            found = self.evaluation_of(path)
            if found is None:
                continue
            model, method = found
            trained = registry.trained_stages(self.methods[method], self.stages)
            files["checkpoints"] += [(model, stage) for stage in trained]
            datasets = [d for d in self.train_datasets(model) if d in self.config["datasets"]]
            wanted = {"curves": [self.layout.curves(model, method)],
                      "knowledge": self.knowledge_labels(model, datasets), "flows": []}
            for stage in trained:
                kinds = set(self.stages[stage].data.inputs.values())
                kind = "flow" if "flow" in kinds else "certainty" if "certainty" in kinds else None
                for dataset in self.train_datasets(model, stage) if kind else []:
                    wanted["flows"].append(self.input_file(kind, model, dataset))
                    if kind == "flow":
                        certainty_of[wanted["flows"][-1]] = self.input_file("certainty", model, dataset)
            only_existing = self.config["report"]["skip_missing"] or path not in expected
            for key, paths in wanted.items():
                files[key] += [p for p in paths if not only_existing or exists(p)]
        files = {key: sorted(set(paths)) for key, paths in files.items()}
        # CRaFT's scatter: the flow file where there is one (it holds the certainty too), else the certainty file
        with_flow = {certainty_of[p] for p in files["flows"] if p in certainty_of}
        files["flows"] = [p for p in files["flows"] if p not in with_flow]
        return {"evals": evals, **files}

    def report_checkpoints(self, checkpoints: list[tuple[str, str]]) -> list[dict]:
        """The checkpoints behind the report's evaluations ({model, stage, path})."""
        return [{"model": model, "stage": stage, "path": self.stage_checkpoint(model, stage)}
                for model, stage in checkpoints]

    def report_thresholds(self) -> dict:
        """The knowledge threshold of each configured model (the knowledge histograms mark it)."""
        return {model: self.knowledge_threshold(model) for model in self.config["models"]}

    # ---- CRaFT: certainty, rehearsal, knowledge flow -------------------------------------------------------------

    def certainty_inputs(self, model: str, dataset: str, split: str, stage: str) -> dict:
        """Open questions are scored from samples, multiple choice from the checkpoint itself."""
        files = {"questions": self.layout.questions(dataset, split)}
        if self.dataset_kind(dataset) == "open":
            files["samples"] = self.layout.samples(model, dataset, split,
                                                   stage=None if stage == registry.BASE else stage)
        else:
            files["model"] = self.checkpoint_files(model, stage)
        return files

    # ---- GRAIT: LESS's gradient features -----------------------------------------------------------------------

    def gradient_params(self, model: str, dataset: str) -> dict:
        """What collect_gradients needs: the prompts GRAIT's set is rendered with (the refusal instruction), the two
        targets' sources, the model's chat settings and grait.gradients. The warm-up must be a stored LoRA adapter:
        LESS's gradients are those of its parameters."""
        warmup = registry.GRAIT_WARMUP.name
        if self.stage_storage(model, warmup) != "adapter":
            raise RaitError(f"config key grait.warmup.lora (model {model}): GRAIT's gradients are taken of the LoRA "
                            "warm-up's adapter (LESS), so it needs a lora and training.lora_storage: adapter")
        entry = self.model_entry(model)
        gradients = self.model_section(model, "grait")["gradients"]
        # LESS's adam type reads the warm-up's Adam moments (rait.methods.GRAIT_WARMUP keeps them), from one process
        processes = entry["gpus"] * entry.get("nodes", 1)
        if gradients["type"] == "adam" and processes > 1:
            raise RaitError(f"config key grait.gradients.type (model {model}): adam needs the warm-up's Adam moments, "
                            f"which rait keeps for a stage trained in one process, but {model} trains on {processes} "
                            "GPUs (DeepSpeed ZeRO shards them); take type sgd")
        return {"templates": self.instruction_templates(model, "idk"),
                "refusal": self.stage_training(model, warmup)["refusal"], "chat": entry["chat"],
                "system": entry.get("system"), **gradients}

    def gradient_gpus(self, model: str) -> int:
        """LESS takes one example's gradient at a time, on one GPU (none for a CPU model)."""
        return min(self.model_entry(model)["gpus"], 1)

    def certainty_gpus(self, model: str, dataset: str) -> int:
        """Multiple choice runs the model itself; open questions only the small embedding model (one GPU at
        most)."""
        gpus = self.model_entry(model)["gpus"]
        return gpus if self.dataset_kind(dataset) == "mc" else min(gpus, 1)

    def stage_gpus(self, model: str, stage: str) -> int:
        """GPUs per node of a training job: the model's, times the stage's gpu_factor (rait.methods.Stage: RL holds
        a reward model beside the policy, and its generations)."""
        return self.model_entry(model)["gpus"] * self.stages[stage].gpu_factor
