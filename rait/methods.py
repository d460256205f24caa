"""The method registry: every method rait trains and evaluates, each described once.

A method is data. Its entry in ``METHODS`` says which paper it comes from, which training stages make its
checkpoint, and how it answers; the plan (``rait.plan.Plan``, adapted to Snakemake by ``workflow/rules/common.smk``)
builds its wildcard constraints, input functions and targets from these tables, and the rules are generic:

* a **stage** (``Stage``) is one trained checkpoint, ``results/checkpoints/{model}_{stage}``: a trainer kind (a
  key of ``rait.training.TRAINERS``), the checkpoint it starts from (the base model or another stage) and its
  training set;
* a **training set** (``Data``), ``results/train_data/{model}_{stage}.jsonl``, is built by a builder (a key of
  ``rait.construct.BUILDERS``) from per-question inputs of the training datasets' train split (``INPUT_KINDS``),
  rendered with the model's own prompts or the refusal instruction;
* an **answer** (``Answer``) is a strategy (a key of ``rait.answering.STRATEGIES``) applied to a checkpoint (the
  method's last stage unless it names another), which writes ``results/predictions/{model}_{method}/``; the
  evaluation reads those.

A stage used by several methods (Idk-SFT's half-trained model, the warm-up of DPO) is one ``Stage`` value that
their entries share; ``stages()`` checks that two entries never define one name differently. ``check()``
validates the whole registry against the builder, trainer and strategy tables; the workflow calls it when the
DAG is built, so a wrong entry stops the plan with the method's name, never a long run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping

from rait.errors import RaitError
from rait.registry import unknown

BASE = "base"
# Prompts a training set is rendered with or a method is asked with (the workflow resolves each name).
INSTRUCTIONS = {
    "model": "the model's own templates (prompts)",
    "idk": "the instruction that offers the refusal (evaluation.prompt_instruction)",
    "hir": "Idk-HIR's confidence-level prefix on the model's templates, at methods.<name>.answer.level",
    "dampened": "ConfQA's dampener (evaluation.dampener) on a line before the model's own templates",
}
# Instructions whose setting is an answer setting: a training set cannot be rendered with them.
ANSWER_ONLY_INSTRUCTIONS = ("hir",)
# Per-question files of the training datasets' train split that a builder may read (one file per dataset).
INPUT_KINDS = {
    "questions": "the question records",
    "samples": "the base model's n samples and greedy answer",
    "knowledge": "the base model's knowledge labels (correctness, Ik, grades)",
    "certainty": "CRaFT's correctness and certainty of the base model",
    "flow": "CRaFT's knowledge flow (certainty file joined with the rehearsed model's correctness)",
    "gradients": "GRAIT's LESS gradient features: the answer's and the refusal's, at the LoRA warm-up (rait.influence)",
}
DEFAULT_INPUTS = {"questions": "questions", "samples": "samples", "knowledge": "knowledge"}

FAMILIES = {
    "base": "the base model, untouched or prompted",
    "sidk": "Say-I-Dont-Know (Cheng et al., 2024), github.com/OpenMOSS/Say-I-Dont-Know",
    "craft": "CRaFT (Zhu et al., AAAI-25), github.com/opendatalab/CRaFT",
    "honesty": "Alignment for Honesty (Yang et al., 2023), github.com/GAIR-NLP/alignment-for-honesty",
    "cut": "CUT, contrastive unlikelihood training from judgments (Xu et al., 2024), github.com/wwxu21/CUT",
    "rtuning": "R-Tuning (Zhang et al., NAACL 2024), github.com/shizhediao/R-Tuning",
    "conqord": "CONQORD (Tao et al., ACL 2024), github.com/TaoShuchang/CONQORD",
    "rl": "RL from rait's grader: abstention (TruthRL, 2025) and calibration (RLCR, 2025) rewards",
    "confqa": "ConfQA (Huang et al., 2025), arXiv 2506.07309 (no public code)",
    "grait": "GRAIT (Zhu et al., Findings of NAACL 2025), github.com/opendatalab/GRAIT",
}


@dataclass(frozen=True)
class Data:
    """How a stage's training set is built."""

    builder: str
    # the builder's input name -> the kind of per-question file it is fed (INPUT_KINDS)
    inputs: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_INPUTS))
    instruction: str = "model"
    # a stage whose checkpoint samples the train questions its own training set left out; the builder reads
    # those samples as ``policy_samples`` (Say-I-Dont-Know's DPO pairs come from the half-trained Idk-SFT model)
    policy: str | None = None


@dataclass(frozen=True)
class Stage:
    """One trained checkpoint, ``results/checkpoints/{model}_{name}``."""

    name: str
    trainer: str
    data: Data
    start: str = BASE
    # Where the trainer's settings live in config: ``training.<trainer>`` (None), or another section such as
    # ``craft.rehearsal`` for a stage with settings of its own. A ``lora`` key there overrides ``training.lora``.
    settings: str | None = None
    # a stage whose checkpoint scores this stage's samples: the reward model an RL stage trains against
    scorer: str | None = None
    # the model's GPUs times this: RL holds the policy (its LoRA reference is the same weights) and a reward model
    gpu_factor: int = 1
    # the reward an RL trainer that grades its own samples optimises (a key of rait.rewards.REWARDS)
    reward: str | None = None
    # the trainer keeps its Adam moments beside the adapter (GRAIT's warm-up: LESS's adam gradients read them)
    adam_moments: bool = False

    @property
    def settings_key(self) -> str:
        return self.settings or f"training.{self.trainer}"


@dataclass(frozen=True)
class Answer:
    """How a method answers the test questions."""

    strategy: str = "greedy"
    instruction: str = "model"
    checkpoint: str | None = None  # a stage name, "base", or None: the method's last stage (base without stages)
    scorer: str | None = None  # a stage whose checkpoint scores candidate answers (strategy best_of_n)


# The fields of Answer that name a stage whose checkpoint a strategy reads besides the answering one
# (rait.answering.Strategy.checkpoints).
ANSWER_CHECKPOINTS = ("scorer",)


@dataclass(frozen=True)
class Method:
    family: str
    stages: tuple[Stage, ...] = ()
    answer: Answer = Answer()
    # which laptop demo runs it: "quick" (the default target, `snakemake -c all`, and the full one), "full" (only
    # `snakemake -c all demo_all`), or None (neither: run it by its target)
    demo: str | None = "full"

    @property
    def checkpoint(self) -> str:
        """The stage whose checkpoint answers (``base`` for the untouched model)."""
        if self.answer.checkpoint:
            return self.answer.checkpoint
        return self.stages[-1].name if self.stages else BASE


# ---- the stages more than one method or input shares ------------------------------------------------------

# Idk-SFT: known questions keep an answer, the others get the refusal.
SFT = Stage("sft", "sft", Data("idk_sft"))
# Say-I-Dont-Know's DPO warm-up: Idk-SFT on one half of the train questions; it samples the other half.
SFT_HALF = Stage("sft_half", "sft", Data("idk_sft_half"))
# Say-I-Dont-Know's reward model: from the half-trained Idk-SFT model, on the DPO preference pairs.
REWARD = Stage("reward", "reward", Data("idk_dpo", policy=SFT_HALF.name), start=SFT_HALF.name)
# CRaFT's rehearsal: the base model fine-tuned on what it already knows, to reveal the knowledge flow.
REHEARSAL = Stage("rehearsal", "sft", Data("rehearsal", {"questions": "questions", "scores": "certainty",
                                                          "samples": "samples"}), settings="craft.rehearsal")
# The stated-confidence SFT ("<answer> Confidence: <x>") that CONQORD's RL and calibrated RL start from.
CONF_SFT = Stage("conf_sft", "sft", Data("stated_confidence"))
GRADED_PROMPTS = Data("graded_prompts", {"questions": "questions"})
# GRAIT's warm-up (LESS's): a LoRA fine-tuning on CRaFT's rehearsal set, whose adapter the gradients are taken of.
GRAIT_WARMUP = Stage("grait_warmup", "sft", REHEARSAL.data, settings="grait.warmup", adam_moments=True)
# Stages that a per-question input kind needs trained (the flow comes from the rehearsed model).
INPUT_STAGES = {"flow": REHEARSAL, "gradients": GRAIT_WARMUP}


def _craft(builder: str, scores: str | None, demo: str | None = "full") -> Method:
    """A CRaFT-family method: selected questions, trained and asked with the refusal instruction."""
    inputs = {"questions": "questions", **({"scores": scores} if scores else {})}
    return Method("craft", (Stage(builder, "sft", Data(builder, inputs, instruction="idk")),),
                  Answer(instruction="idk"), demo=demo)


def _honesty(builder: str, demo: str | None = "full", strategy: str = "greedy") -> Method:
    """An Alignment for Honesty method: built from the base model's greedy answer, samples and their grades."""
    return Method("honesty", (Stage(builder, "sft", Data(builder, instruction="idk")),),
                  Answer(strategy=strategy, instruction="idk"), demo=demo)


# The quick demo (the default target) runs one method of each family: base, prompt, sft, craft_noflow (CRaFT's
# selection by correctness and certainty; the knowledge flow needs a rehearsal fine-tuning and a second sampling
# of the train split, the full demo's `craft`) and absolute (the cheapest Alignment for Honesty set).
METHODS: dict[str, Method] = {
    # the untouched model: its greedy answers were generated with its samples of the test split
    "base": Method("base", answer=Answer(strategy="sampled_greedy"), demo="quick"),
    # Idk-Prompting: the base model asked with the instruction that offers the refusal
    "prompt": Method("base", answer=Answer(instruction="idk"), demo="quick"),
    "sft": Method("sidk", (SFT,), demo="quick"),
    "dpo": Method("sidk", (SFT_HALF, Stage("dpo", "dpo", Data("idk_dpo", policy=SFT_HALF.name), start=SFT_HALF.name))),
    # Idk-BoN: ten samples of Idk-SFT per question, the reward model's favourite kept
    "bon": Method("sidk", (SFT, SFT_HALF, REWARD), Answer(strategy="best_of_n", checkpoint=SFT.name,
                                                          scorer=REWARD.name)),
    # Idk-PPO: Idk-SFT trained on-policy against the reward model (RLOO: TRL 1.x has no PPO; rait.training.rloo)
    "ppo": Method("sidk", (SFT, SFT_HALF, REWARD, Stage("ppo", "rloo", Data("idk_prompts", {"questions": "questions"}),
                                                        start=SFT.name, scorer=REWARD.name, gpu_factor=2))),
    # Idk-HIR: Idk-SFT relabelled at every threshold, each prefixed with its confidence level; asked at one level
    "hir": Method("sidk", (Stage("hir", "sft", Data("idk_hir")),), Answer(instruction="hir")),
    "craft": _craft("craft", "flow"),
    "craft_noflow": _craft("craft_noflow", "certainty", demo="quick"),
    "craft_nocer": _craft("craft_nocer", "flow"),
    "cor_rait": _craft("cor_rait", "certainty"),
    "van_tuning": _craft("van_tuning", None),
    "absolute": _honesty("absolute", demo="quick"),
    # their answers' confidence statements are read as the answers' confidence
    "conf_num": _honesty("conf_num", strategy="stated_num"),
    "conf_verb": _honesty("conf_verb", strategy="stated_verb"),
    # Idk-SFT's examples plus the base model's wrong answers with judgments, trained with CUT's loss
    "cut": Method("cut", (Stage("cut", "cut", Data("cut")),)),
    # R-Tuning: gold answers, each followed by the follow-up question and "I am sure/unsure" by the base model's
    # greedy grade; answered greedily, then asked the follow-up (rait.followup)
    "rtuning": Method("rtuning", (Stage("rtuning", "sft", Data("rtuning", {"questions": "questions",
                                                                           "knowledge": "knowledge",
                                                                           "samples": "samples"})),),
                      Answer(strategy="followup_sure")),
    # CONQORD: the stated-confidence SFT, then RL on answer quality plus the order-preserving term (GRPO here)
    "conqord": Method("conqord", (CONF_SFT, Stage("conqord", "grpo", GRADED_PROMPTS, start=CONF_SFT.name,
                                                  reward="conqord")), Answer(strategy="stated_after_marker")),
    # CONQORD as the paper scores quality: the reward model of the Idk preference pairs (Say-I-Dont-Know's), beside
    # the policy (twice the GPUs); left out of the laptop demo
    "conqord_rm": Method("conqord", (SFT_HALF, REWARD, CONF_SFT,
                                     Stage("conqord_rm", "grpo", GRADED_PROMPTS, start=CONF_SFT.name, scorer=REWARD.name,
                                           reward="conqord", gpu_factor=2)),
                         Answer(strategy="stated_after_marker"), demo=None),
    # GRPO from Idk-SFT with the ternary reward: correct +1, refusal 0, wrong -1 (TruthRL)
    "abstain_rl": Method("rl", (SFT, Stage("abstain_rl", "grpo", GRADED_PROMPTS, start=SFT.name, reward="abstention"))),
    # GRPO from the stated-confidence SFT with RLCR's reward: correctness and the Brier score of the confidence
    "calibrated_rl": Method("rl", (CONF_SFT, Stage("calibrated_rl", "grpo", GRADED_PROMPTS, start=CONF_SFT.name,
                                                   reward="calibration")), Answer(strategy="stated_after_marker")),
    # ConfQA: the model's own greedy answer where it was right, else the refusal; trained and asked with the
    # dampener "answer only if you are confident" (rait.construct.confqa)
    "confqa": Method("confqa", (Stage("confqa", "sft", Data("confqa", instruction="dampened")),),
                     Answer(instruction="dampened")),
    # GRAIT: CRaFT's answered questions, and refusals chosen by LESS's gradients (rait.construct.grait)
    "grait": Method("grait", (Stage("grait", "sft", Data("grait", {"questions": "questions", "scores": "certainty",
                                                                   "gradients": "gradients"}, instruction="idk")),),
                    Answer(instruction="idk")),
    # left out of the laptop demo: one example per sample, ten times the training data
    "multisample": _honesty("multisample", demo=None),
}


def stages(methods: Mapping[str, Method] | None = None) -> dict[str, Stage]:
    """Every stage a method's chain or an input kind needs, by name; one name, one definition."""
    methods = METHODS if methods is None else methods
    found: dict[str, Stage] = {}
    owners: dict[str, str] = {}
    declared = [(name, stage) for name, method in methods.items() for stage in method.stages]
    declared += [(f"input kind {kind!r}", stage) for kind, stage in INPUT_STAGES.items()]
    for owner, stage in declared:
        if stage.name == BASE:
            raise RaitError(f"method {owner!r}: a stage cannot be named {BASE!r} (the untouched model)")
        if stage.name in found and found[stage.name] != stage:
            raise RaitError(f"stage {stage.name!r} is defined differently by {owners[stage.name]!r} and {owner!r}")
        found.setdefault(stage.name, stage)
        owners.setdefault(stage.name, owner)
    return found


DEMOS = {"quick": ("quick",), "full": ("quick", "full")}


def demo_methods(demo: str = "full", methods: Mapping[str, Method] | None = None) -> list[str]:
    """The methods a demo runs: the quick one's, or the full one's (every method marked quick or full)."""
    methods = METHODS if methods is None else methods
    return [name for name, method in methods.items() if method.demo in DEMOS[demo]]


def _stage_needs(stage: Stage) -> list[str]:
    """The stages ``stage``'s training needs first: its start, its policy, the stages behind its inputs."""
    needs = [stage.start] if stage.start != BASE else []
    needs += [stage.data.policy] if stage.data.policy else []
    needs += [stage.scorer] if stage.scorer else []
    needs += [INPUT_STAGES[kind].name for kind in stage.data.inputs.values() if kind in INPUT_STAGES]
    return needs


def trained_stages(method: Method, table: Mapping[str, Stage] | None = None) -> list[str]:
    """Every stage whose checkpoint a method's answers rest on (its own, and those they start from, sample with,
    are scored by or read the inputs of), each after the stages it needs."""
    table = stages() if table is None else table
    order: list[str] = []

    def visit(name: str) -> None:
        if name != BASE and name not in order:
            for need in _stage_needs(table[name]):
                visit(need)
            order.append(name)

    for stage in method.stages:
        visit(stage.name)
    if method.answer.scorer:
        visit(method.answer.scorer)
    return order


def _check_cycles(table: dict[str, Stage]) -> None:
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise RaitError(f"stages form a cycle: {' -> '.join((*path[path.index(name):], name))}")
        if name in done:
            return
        for need in _stage_needs(table[name]):
            visit(need, (*path, name))
        done.add(name)

    for name in table:
        visit(name, ())


def check(methods: Mapping[str, Method] | None = None, *, builders=None, trainers=None, strategies=None) -> None:
    """Raise RaitError naming the method or stage when an entry refers to something that does not exist."""
    methods = METHODS if methods is None else methods
    if builders is None:
        from rait.construct import BUILDERS as builders
    if trainers is None:
        from rait.training import TRAINERS as trainers
    if strategies is None:
        from rait.answering import STRATEGIES as strategies

    def known(kind: str, name, table, owner: str) -> None:
        if name not in table:
            raise RaitError(unknown(kind, name, table, owner))

    table = stages(methods)
    for name, stage in table.items():
        owner = f"stage {name!r}"
        known("trainer", stage.trainer, trainers, owner)
        known("data builder", stage.data.builder, builders, owner)
        known("instruction", stage.data.instruction, INSTRUCTIONS, owner)
        if stage.data.instruction in ANSWER_ONLY_INSTRUCTIONS:
            raise RaitError(f"{owner}: instruction {stage.data.instruction!r} is for answering, not training data")
        for kind in stage.data.inputs.values():
            known("input kind", kind, INPUT_KINDS, owner)
        for need in (stage.start, stage.data.policy, stage.scorer):
            if need and need != BASE and need not in table:
                raise RaitError(f"{owner}: starts from, samples with or is scored by stage {need!r}, which no "
                                "method trains")
        if stage.scorer and stage.scorer == stage.name:
            raise RaitError(f"{owner}: a stage cannot score itself")
        wants_reward = getattr(trainers[stage.trainer], "REWARDED", False)
        if wants_reward != bool(stage.reward):
            raise RaitError(f"{owner}: trainer {stage.trainer!r} " + ("needs a reward (Stage.reward)" if wants_reward
                                                                      else "takes no reward"))
        if stage.reward:
            from rait.rewards import REWARDS

            known("reward", stage.reward, REWARDS, owner)
    for name, method in methods.items():
        owner = f"method {name!r}"
        known("family", method.family, FAMILIES, owner)
        known("answer strategy", method.answer.strategy, strategies, owner)
        known("instruction", method.answer.instruction, INSTRUCTIONS, owner)
        if method.demo is not None:
            known("demo", method.demo, DEMOS, owner)
        if method.checkpoint != BASE and method.checkpoint not in table:
            raise RaitError(f"{owner}: answers with stage {method.checkpoint!r}, which no method trains")
        declared = tuple(getattr(strategies[method.answer.strategy], "checkpoints", ()))
        for name in sorted(set(declared) - set(ANSWER_CHECKPOINTS)):
            raise RaitError(f"{owner}: answer strategy {method.answer.strategy!r} declares checkpoint {name!r}, which "
                            f"no field of rait.methods.Answer names (known: {', '.join(ANSWER_CHECKPOINTS)})")
        for name in ANSWER_CHECKPOINTS:
            wants = name in declared
            if wants != bool(getattr(method.answer, name)):
                raise RaitError(f"{owner}: answer strategy {method.answer.strategy!r} "
                                + (f"needs a {name} stage (Answer.{name})" if wants else f"takes no {name}"))
        if method.answer.scorer and method.answer.scorer not in table:
            raise RaitError(f"{owner}: scores with stage {method.answer.scorer!r}, which no method trains")
        if getattr(strategies[method.answer.strategy], "from_base_samples", False) and (
                method.checkpoint != BASE or method.answer.instruction != "model"):
            raise RaitError(f"{owner}: answer strategy {method.answer.strategy!r} reads the base model's samples, "
                            "so it answers only with the base model on its own prompt")
    _check_cycles(table)
