"""The plan as Python (rait.plan.Plan, rait.plan.layout): what each job reads and is given, and the plan-time checks,
asked directly in milliseconds; tests/test_workflow_config.py keeps the few `snakemake -n` runs that prove the
wiring."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import yaml
from snakemake.utils import validate

from conftest import REPO, deep_merge
from rait.errors import RaitError
from rait.methods import METHODS, demo_methods
from rait.plan import LAYOUT, Plan
from rait.plan.layout import Layout, check_unambiguous

SHIPPED = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def plan_of(**overrides) -> Plan:
    """The plan of the shipped config with ``overrides``, validated as the Snakefile does (the schema's defaults
    filled in)."""
    config = deep_merge(SHIPPED, overrides)
    validate(config, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    return Plan(config)


@pytest.fixture(scope="module")
def shipped() -> Plan:
    return plan_of()


# ---- the layout ----------------------------------------------------------------------------------------------------


def test_a_path_function_without_arguments_is_its_rules_pattern():
    assert LAYOUT.eval_file() == "results/eval/{model}_{method}.json"
    assert LAYOUT.eval_file("llama2_7b", "dpo") == "results/eval/llama2_7b_dpo.json"
    assert LAYOUT.knowledge(kind="flow") == "results/knowledge/{model}/flow/{dataset}_{split}.jsonl"
    assert LAYOUT.samples(stage="rehearsal") == "results/samples/{model}/rehearsal/{dataset}_{split}.jsonl"
    assert Layout("out").checkpoint("m", "sft") == "out/checkpoints/m_sft"


def test_an_eval_file_is_read_back_against_the_configured_models_and_the_registry():
    models = {"llama3_8b": {}, "smollm2_135m": {}}
    assert LAYOUT.parse_eval("results/eval/llama3_8b_craft_noflow.json", models, METHODS) == ("llama3_8b",
                                                                                               "craft_noflow")
    assert LAYOUT.parse_eval("results/eval/llama3_8b_craft.json", models, METHODS) == ("llama3_8b", "craft")
    for stray in ("results/eval/notes.json", "results/eval/gpt4_dpo.json", "results/eval/llama3_8b_magic.json",
                  "results/eval/curves/llama3_8b_dpo.json", "results/eval/llama3_8b_dpo.graded.jsonl"):
        assert LAYOUT.parse_eval(stray, models, METHODS) is None, stray


def test_two_model_and_method_pairs_with_one_file_name_are_refused():
    methods = {"dpo": None, "sft_dpo": None}
    check_unambiguous({"a": {}, "b_sft": {}}, methods)
    with pytest.raises(RaitError, match=r"model 'a_sft' with method 'dpo' and model 'a' with method 'sft_dpo'"):
        check_unambiguous({"a": {}, "a_sft": {}}, methods)


def test_knowledge_files_are_read_back_with_their_kind():
    assert LAYOUT.parse_knowledge("results/knowledge/llama3_8b/nq_open_train.jsonl") == {
        "model": "llama3_8b", "dataset": "nq_open", "split": "train", "kind": None}
    assert LAYOUT.parse_knowledge("/x/results/knowledge/m/flow/world_mc_test.jsonl") == {
        "model": "m", "dataset": "world_mc", "split": "test", "kind": "flow"}


# ---- what the jobs read and are given ------------------------------------------------------------------------------


def test_a_stage_reads_one_file_per_training_dataset_of_each_input_kind(shipped):
    inputs = shipped.train_data_inputs("llama3_8b", "craft")
    datasets = shipped.train_datasets("llama3_8b", "craft")
    # the builder input `scores` is the kind `flow` (rait.methods.Data.inputs)
    assert inputs["scores"] == [f"results/knowledge/llama3_8b/flow/{d}_train.jsonl" for d in datasets]
    assert shipped.train_data_inputs("llama2_7b", "reward")["policy_samples"] == \
        "results/samples/llama2_7b/sft_half/heldout.jsonl"


def test_trainer_options_carry_the_reward_and_its_model_and_fail_a_misspelt_hyperparameter_by_its_key(shipped):
    options = json.loads(shipped.trainer_options("llama2_7b", "ppo"))
    assert options["reward_model"] == "results/checkpoints/llama2_7b_reward" and options["lora"]
    with pytest.raises(RaitError, match=r"training\.dpo\.hparams.*learning_rat"):
        plan_of(training={"dpo": {"hparams": {"learning_rat": 1e-5}}}).trainer_options("llama2_7b", "dpo")


def test_an_evaluation_reads_the_judges_verdicts_of_the_method_and_of_the_base_model():
    plan = plan_of(grading={"judge": {"model": "llama3_8b"}})
    inputs = plan.eval_inputs("llama2_7b", "dpo")
    test_sets = plan.eval_datasets("llama2_7b")
    assert inputs["judgments"] == [f"results/judgments/llama3_8b/llama2_7b_dpo/{d}_test.jsonl" for d in test_sets]
    assert inputs["base_judgments"] == [LAYOUT.judgments("llama3_8b", "llama2_7b", "base", d) for d in test_sets]
    assert "judgments" not in plan_of().eval_inputs("llama2_7b", "dpo")


def test_one_prediction_rule_gets_what_each_strategy_declares(shipped):
    """predict_answers serves every strategy that runs a checkpoint: best-of-N's N samples and its scorer's files
    and path come from the strategy's entry (samples, checkpoints), a greedy strategy gets one answer and nothing
    else; only the base model's answers come from its samples (collect_sampled_answers)."""
    assert shipped.methods_answering_from_samples(True) == ["base"]
    assert set(shipped.methods_answering_from_samples(False)) == set(METHODS) - {"base"} | set(shipped.sweeps)
    bon = shipped.answer_inputs("llama2_7b", "bon")
    assert bon == {"model": shipped.checkpoint_files("llama2_7b", "sft"),
                   "scorer": shipped.checkpoint_files("llama2_7b", "reward"), "engine": ["results/engines/llama2_7b.json"]}
    assert shipped.answer_checkpoints("llama2_7b", "bon") == {"scorer": "results/checkpoints/llama2_7b_reward"}
    assert shipped.prediction_sampling("llama2_7b", "bon")["n"] == shipped.method_settings("llama2_7b", "bon")["answer"]["n"]
    assert shipped.answer_inputs("llama2_7b", "rtuning") == {"model": shipped.checkpoint_files("llama2_7b", "rtuning"),
                                                              "engine": ["results/engines/llama2_7b.json"]}
    assert shipped.answer_checkpoints("llama2_7b", "rtuning") == {}
    assert shipped.prediction_sampling("llama2_7b", "rtuning")["n"] == 0


def test_lora_stages_stored_as_adapters_are_told_so_and_their_consumers_read_the_base_too(shipped):
    """Issue 26: a LoRA stage is stored as an adapter by default, a reward model's too (its trainer is told;
    merged, the switch back to full copies, passes nothing, as before the option existed) and every job loading it
    also depends on the full checkpoint its chain applies to; full fine-tuning stays full."""
    plan = shipped
    assert [plan.stage_storage("llama2_7b", s) for s in ("sft_half", "dpo", "reward", "rehearsal")] == [
        "adapter", "adapter", "adapter", "full"]
    assert json.loads(plan.trainer_options("llama2_7b", "dpo"))["storage"] == "adapter"
    merged = plan_of(training={"lora_storage": "merged"})
    assert merged.stage_storage("llama2_7b", "dpo") == "full"
    assert "storage" not in json.loads(merged.trainer_options("llama2_7b", "dpo"))
    # set globally, it holds for a model whose entry has a training section of its own (the demo's)
    assert merged.stage_storage("smollm2_135m", "sft") == "full"
    assert plan_of(models={"smollm2_135m": {"training": {"lora_storage": "merged"}}},
                   training={"lora_storage": "adapter"}).stage_storage("smollm2_135m", "sft") == "full"
    assert plan.stage_storage("llama3_70b", "dpo") == "full"  # lora: null
    assert plan.checkpoint_files("llama2_7b", "dpo") == ["results/checkpoints/llama2_7b_dpo", "results/models/llama2_7b"]
    assert plan.checkpoint_files("llama2_7b", "reward") == ["results/checkpoints/llama2_7b_reward",
                                                           "results/models/llama2_7b"]
    assert plan.answer_inputs("llama2_7b", "bon")["scorer"] == plan.checkpoint_files("llama2_7b", "reward")
    assert merged.checkpoint_files("llama2_7b", "reward") == ["results/checkpoints/llama2_7b_reward"]
    assert json.loads(plan.trainer_options("llama2_7b", "dpo"))["storage"] == "adapter"
    assert json.loads(plan.trainer_options("llama2_7b", "reward"))["storage"] == "adapter"
    assert merged.checkpoint_files("llama2_7b", "dpo") == ["results/checkpoints/llama2_7b_dpo"]
    assert LAYOUT.merged_checkpoint("llama2_7b", "dpo") == "results/merged/llama2_7b_dpo"  # rule export_merged


def test_grait_reads_gradients_taken_at_its_lora_warmup_adapter_or_the_plan_names_the_key(shipped):
    """GRAIT's builder reads the gradient file, which collect_gradients writes from the warm-up stage's adapter with
    the refusal instruction's prompts; a warm-up that is not a stored LoRA adapter stops the plan by its key."""
    plan = shipped
    assert plan.train_data_inputs("llama3_8b", "grait")["gradients"] == [
        "results/knowledge/llama3_8b/gradients/triviaqa_train.npz"]
    assert plan.stage_storage("llama3_70b", "grait_warmup") == "adapter"  # its own lora, though the model's is null
    params = plan.gradient_params("smollm2_135m", "world")
    assert params["templates"] == plan.instruction_templates("smollm2_135m", "idk")
    assert (params["dim"], params["project_every"], params["refusal"]) == (
        1024, 256, plan.stage_training("smollm2_135m", "grait_warmup")["refusal"])
    for overrides in ({"training": {"lora_storage": "merged"}}, {"grait": {"warmup": {"lora": None}}}):
        with pytest.raises(RaitError, match=r"config key grait.warmup.lora \(model llama3_8b\): GRAIT's gradients"):
            plan_of(**overrides).gradient_params("llama3_8b", "triviaqa")


def test_grait_adam_gradients_need_the_warmups_moments_kept_by_one_process(shipped):
    """LESS's adam type (the default) reads the warm-up's Adam moments: the warm-up keeps them (its registry entry
    says so, and only its trainer options carry the option: no other stage's options change), and a model trained
    on several GPUs, whose moments DeepSpeed shards, stops the plan by the key (the shipped 70B entry takes sgd)."""
    assert shipped.gradient_params("llama3_8b", "triviaqa")["type"] == "adam"
    assert json.loads(shipped.trainer_options("llama3_8b", "grait_warmup"))["adam_moments"] is True
    assert "adam_moments" not in json.loads(shipped.trainer_options("llama3_8b", "sft"))
    assert "adam_moments" not in json.loads(shipped.trainer_options("llama3_8b", "rehearsal"))
    assert shipped.gradient_params("llama3_70b", "triviaqa")["type"] == "sgd"
    with pytest.raises(RaitError, match=r"config key grait.gradients.type \(model llama3_70b\): adam needs .* 16 GPUs"):
        plan_of(models={"llama3_70b": {"grait": {"gradients": {"type": "adam"}}}}).gradient_params(
            "llama3_70b", "triviaqa")


def test_the_summary_covers_the_demo_and_every_evaluation_on_disk_but_a_stray_file(shipped):
    on_disk = shipped.evaluations_among(["llama3_8b_dpo", "notes", "gpt4_dpo", "curves/llama3_8b_dpo"])
    assert on_disk == ["results/eval/llama3_8b_dpo.json"]
    files = shipped.summary_inputs("summary", on_disk, exists=lambda path: False)
    demo = shipped.config["demo"]["model"]
    assert files == sorted([*on_disk, *(LAYOUT.eval_file(demo, m) for m in demo_methods("quick"))])
    skipping = plan_of(report={"skip_missing": True})
    assert skipping.summary_inputs("summary", on_disk, exists=lambda path: "dpo" in path) == on_disk


def test_the_report_draws_craft_from_the_flow_file_and_never_makes_what_a_found_evaluation_needs(shipped):
    demo = shipped.config["demo"]["model"]
    evals = [LAYOUT.eval_file(demo, "craft"), LAYOUT.eval_file("llama3_8b", "craft")]
    inputs = shipped.report_inputs("summary_full", evals, exists=lambda path: False)
    datasets = shipped.train_datasets(demo, "craft")
    # the demo's evaluation: made if missing; the one found on disk: only what exists (nothing here)
    assert inputs["flows"] == sorted(LAYOUT.knowledge(demo, d, "train", kind="flow") for d in datasets)
    assert inputs["curves"] == [LAYOUT.curves(demo, "craft")]
    assert (demo, "rehearsal") in inputs["checkpoints"] and ("llama3_8b", "craft") in inputs["checkpoints"]


# ---- plan-time checks, each naming its config key ------------------------------------------------------------------


@pytest.mark.parametrize(("overrides", "where", "words"), [
    ({"grading": {"judge": {"model": "gpt4"}}}, "grading.judge.model", "gpt4"),
    ({"grading": {"judge": {"model": "smollm2_135m", "prompt": "{answer} vs {reference}"}}}, "grading.judge.prompt",
     "reference"),
    ({"methods": {"dpo_x": {}}}, "methods.dpo_x", "did you mean 'dpo'"),
    ({"methods": {"dpo": {"training": {"refusal": "No."}}}}, "methods.dpo.training.refusal", "per model"),
    ({"training": {"datasets": ["trivia"]}}, "training.datasets", "'trivia'"),
])
def test_a_bad_config_stops_the_plan_naming_its_key(overrides, where, words):
    with pytest.raises(RaitError) as caught:
        plan_of(**overrides)
    assert where in str(caught.value) and words in str(caught.value)


def test_a_grading_profile_is_checked_against_its_datasets_kind_and_named_by_its_key():
    with pytest.raises(RaitError, match=r"grading\.profile \(dataset world_mc\).*not mc"):
        plan_of(grading={"profile": "sidk"}).dataset_profile("world_mc")
    # Say-I-Dont-Know's grader for the open questions, rait's for the multiple choice it does not define
    plan = plan_of(grading={"profile": "rait"}, datasets={"world": {"grading_profile": "sidk"}})
    assert [plan.dataset_profile(d) for d in ("world", "world_mc")] == ["sidk", "rait"]
    with pytest.raises(RaitError, match=r"datasets\.world_mc\.grading_profile.*not mc"):
        plan_of(datasets={"world_mc": {"grading_profile": "sidk"}}).dataset_profile("world_mc")


def test_an_unknown_model_key_is_named_with_the_known_ones(shipped):
    with pytest.raises(RaitError, match=r"unknown model key 'llama9'.*known: .*llama2_7b"):
        shipped.eval_inputs("llama9", "dpo")


def test_each_trainers_schema_section_is_its_settings_dataclass():
    """training.<kind> in the schema lists exactly the fields a user may write of the trainer's Settings (and a
    rewarded trainer's reward names); the fields the plan gives are in its SETTINGS and never in the schema."""
    from rait.rewards import REWARDS
    from rait.training import TRAINERS
    from rait.training.settings import written

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    sections = schema["definitions"]["training"]["properties"]
    for kind, trainer in TRAINERS.items():
        fields = {field.name for field in written(trainer.Settings)}
        rewards = set(REWARDS) if getattr(trainer, "REWARDED", False) else set()
        assert set(sections[kind]["properties"]) == fields | rewards, kind
        assert set(trainer.SETTINGS) <= {field.name for field in dataclasses.fields(trainer.Settings)}


def test_config_readme_documents_every_trainer_setting_a_user_writes():
    from rait.rewards import REWARDS
    from rait.training import TRAINERS
    from rait.training.settings import written

    guide = (REPO / "config" / "README.md").read_text()
    for kind, trainer in TRAINERS.items():
        names = [field.name for field in written(trainer.Settings) if field.name != "lora"]
        names += list(REWARDS) if getattr(trainer, "REWARDED", False) else []
        for name in names:
            assert f"`training.{kind}.{name}`" in guide, (kind, name)


def test_a_trainers_defaults_come_from_its_settings_under_what_the_config_writes(shipped):
    """The shipped config writes no trainer section: each comes whole from the trainer's Settings and its rewards'
    defaults; a key written in the config wins, the rest of the section stays the default."""
    from rait.rewards import REWARDS
    from rait.training.dpo import Settings as DPOSettings

    assert "dpo" not in yaml.safe_load((REPO / "config" / "config.yaml").read_text())["training"]
    dpo = shipped.stage_training("llama2_7b", "dpo")["dpo"]
    assert dpo == {"hparams": DPOSettings().hparams, "beta": DPOSettings.beta, "sft_weight": DPOSettings.sft_weight}
    assert shipped.stage_training("llama2_7b", "abstain_rl")["grpo"]["abstention"] == REWARDS["abstention"].defaults
    plan = plan_of(training={"dpo": {"beta": 0.3, "hparams": {"learning_rate": 1.0e-7}}})
    dpo = plan.stage_training("llama2_7b", "dpo")["dpo"]
    assert (dpo["beta"], dpo["sft_weight"]) == (0.3, DPOSettings.sft_weight)
    assert dpo["hparams"] == {**DPOSettings().hparams, "learning_rate": 1.0e-7}
    assert json.loads(plan.trainer_options("llama2_7b", "dpo"))["beta"] == 0.3


@pytest.mark.parametrize("where", ["training", "methods.dpo.training", "models.llama2_7b.training",
                                   "models.llama2_7b.methods.dpo.training"])
def test_a_trainer_setting_its_dataclass_lacks_is_named_with_the_dataclass(where):
    """As the Snakefile checks the config before the schema (tests/test_bad_input.py runs it so)."""
    from rait.plan.settings import check_trainer_sections

    overrides = {"dpo": {"betta": 0.2}}
    for key in reversed(where.split(".")):
        overrides = {key: overrides}
    with pytest.raises(RaitError, match=rf"{re.escape(where)}\.dpo\.betta: not a setting of this trainer "
                                        r"\(rait/training/dpo\.py:\d+ defines hparams, beta, sft_weight\); "
                                        r"did you mean 'beta'\?"):
        check_trainer_sections(deep_merge(SHIPPED, overrides))
    check_trainer_sections(SHIPPED)


def test_the_methods_over_the_base_answer_through_one_engine_service_per_model(shipped):
    """Issue 26: a method whose checkpoint is the base or an adapter over it answers through the model's engine
    service (its address an input of the prediction job, so Snakemake groups them); the service serves LoRA up
    to the engine rank holding the largest stacked adapter (sft_half 16 + dpo 16 = 32); a stage trained in full
    (llama3_70b's) or an adapter over one loads its own engine; the base's answers come from its samples."""
    methods = [name for name in shipped.methods if name != "base"]
    assert all(shipped.answers_through_engine("llama3_8b", name) for name in methods)
    assert not shipped.answers_through_engine("llama3_8b", "base")
    assert shipped.answer_inputs("llama3_8b", "dpo")["engine"] == ["results/engines/llama3_8b.json"]
    assert shipped.answer_inputs("llama3_8b", "bon")["scorer"] == ["results/checkpoints/llama3_8b_reward",
                                                                   "results/models/llama3_8b"]
    assert shipped.stacked_rank("llama3_8b", "dpo") == 32 and shipped.stacked_rank("llama3_8b", "reward") == 32
    assert shipped.engine_lora_rank("llama3_8b") == 32
    # full fine-tuning: only the base's own prompts share the engine
    assert shipped.answers_through_engine("llama3_70b", "prompt")
    assert not shipped.answers_through_engine("llama3_70b", "sft")
    assert "engine" not in shipped.answer_inputs("llama3_70b", "sft")
    # an adapter over a stage trained in full is served by its own engine
    over_full = plan_of(models={"llama3_8b": {"training": {"lora": None, "rloo": {"lora": {"r": 8}}}}})
    assert over_full.adapter_base_stage("llama3_8b", "ppo") == "sft"
    assert not over_full.answers_through_engine("llama3_8b", "ppo") and over_full.stacked_rank("llama3_8b", "ppo") == 8
    # off: every prediction job loads its own engine
    off = plan_of(evaluation={"shared_engine": False})
    assert not any(off.answers_through_engine("llama3_8b", name) for name in methods)
    assert off.engine_lora_rank("llama3_8b") == 0
    assert not plan_of(models={"llama3_8b": {"evaluation": {"shared_engine": False}}}).answers_through_engine(
        "llama3_8b", "dpo")
    # merged copies (engines without LoRA): full checkpoints, so only the base's prompts share it
    merged = plan_of(training={"lora_storage": "merged"})
    assert [name for name in methods if merged.answers_through_engine("llama3_8b", name)] == ["prompt"]
