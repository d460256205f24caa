"""A new builder-only method is one registry entry and one builder: on a copy of the checkout, a toy method is
added exactly as the README's "Adding a method" says (rait/construct/toy.py, its registration in BUILDERS, an entry in
METHODS), and the unchanged workflow plans and runs its data building, training, prediction and evaluation on
the synthetic world. A wrong entry stops the plan, naming the method."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ONE_THREAD, REPO, plan_split, snakemake
from rait.io import read_json, read_jsonl

# xdist: one worker runs every module of the synthetic world (tests/conftest.py, synth_run)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("world")]

TOY_BUILDER = '''"""Toy: the gold answer where the base model's greedy answer was right, the refusal elsewhere."""

from rait.construct.idk import gold_answer, index_by_id
from rait.prompts import render_question


def build(inputs, options):
    labels = index_by_id(inputs["knowledge"], "knowledge")
    examples = []
    for question in inputs["questions"]:
        known = labels[question["id"]]["greedy_correct"]
        examples.append({"id": question["id"], "question": question["question"],
                         "prompt": render_question(question, options["templates"]),
                         "target": gold_answer(question) if known else options["refusal"],
                         "kind": "answer" if known else "refusal"})
    return examples
'''
TOY_BUILDER_LINE = '''
from rait.construct import toy  # noqa: E402

BUILDERS.register("toy", Builder(toy.build, ("refusal",)))
'''
TOY_METHOD_LINE = '''
METHODS["toy"] = Method("sidk", (Stage("toy", "sft", Data("toy", {"questions": "questions", "knowledge": "knowledge"})),))
'''


def copy_checkout(destination: Path) -> Path:
    """The checkout's files (tracked and not ignored), with their modification times, so that Snakemake sees the
    same scripts and reruns nothing that exists."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source, target = REPO / name, destination / name
        if source.is_symlink() or source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    return destination


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def smk_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in [*(root / "workflow").rglob("*.smk"),
                                                              root / "workflow" / "Snakefile"]}


def planned(output: str) -> dict[str, list[str]]:
    """Each planned job's outputs, by rule, from a dry run."""
    jobs: dict[str, list[str]] = {}
    for block in plan_split(output)[1:] + output.split("\nlocalrule ")[1:]:
        name = block.split(":")[0]
        line = next(line for line in block.splitlines() if line.strip().startswith("output:"))
        jobs.setdefault(name, []).append(line.split("output:")[1].strip())
    return jobs


@pytest.fixture(scope="module")
def extended(tmp_path_factory) -> Path:
    checkout = copy_checkout(tmp_path_factory.mktemp("checkout"))
    (checkout / "rait/construct/toy.py").write_text(TOY_BUILDER)
    append(checkout / "rait/construct/__init__.py", TOY_BUILDER_LINE)
    append(checkout / "rait/methods.py", TOY_METHOD_LINE)
    assert smk_files(checkout) == smk_files(REPO)  # no rule file touched
    return checkout


def run_copy(checkout: Path, workdir: Path, *args: str, configfile: Path, check: bool = True):
    """Snakemake on the copy's workflow; its jobs import the copy's rait (PYTHONPATH for `python -m`)."""
    import os
    import sys

    command = [sys.executable, "-m", "snakemake", "-s", str(checkout / "workflow/Snakefile"), "-d", str(workdir),
               "-c", "2", *ONE_THREAD, *args, "--configfile", str(configfile)]
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_a_builder_only_method_plans_and_runs_with_no_rule_file_edited(extended, synth_run):
    workdir, configfile = synth_run
    target = "results/eval/synth_tiny_toy.json"
    jobs = planned(run_copy(extended, workdir, "-n", target, configfile=configfile).stdout)
    # upstream of the new method everything exists already: exactly its own four jobs
    assert jobs == {
        "build_train_data": ["results/train_data/synth_tiny_toy.jsonl"],
        "train_stage": ["results/checkpoints/synth_tiny_toy"],
        "predict_answers": ["results/predictions/synth_tiny_toy/synth_test.jsonl"],
        "evaluate_method": ["results/eval/synth_tiny_toy.json, results/eval/synth_tiny_toy.graded.jsonl, "
                            "results/eval/curves/synth_tiny_toy.json"],
    }, jobs

    run_copy(extended, workdir, target, configfile=configfile)
    labels = {row["id"]: row for row in read_jsonl(workdir / "results/knowledge/synth_tiny/synth_train.jsonl")}
    examples = read_jsonl(workdir / "results/train_data/synth_tiny_toy.jsonl")
    assert len(examples) == len(labels)
    assert all((e["kind"] == "answer") == labels[e["id"]]["greedy_correct"] for e in examples)
    evaluated = read_json(workdir / target)
    assert (evaluated["method"], evaluated["test_sets"]["synth"]["n"]) == ("toy", 300)
    assert evaluated["config"]["checkpoint"] == "results/checkpoints/synth_tiny_toy"


def test_a_wrong_entry_stops_the_plan_naming_the_method(extended, tmp_path):
    broken = copy_checkout(tmp_path / "broken")
    append(broken / "rait/methods.py", '\nMETHODS["oops"] = Method("sidk", (Stage("oops", "sft", Data("nosuch")),))\n')
    configfile = REPO / "config/config.yaml"
    result = run_copy(broken, tmp_path, "-n", "results/eval/smollm2_135m_sft.json", configfile=configfile,
                      check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "method registry (rait/methods.py): stage 'oops': unknown data builder 'nosuch'" in output, output[-2000:]
    assert "Traceback" not in output


def test_settings_for_a_method_that_does_not_exist_are_refused_by_key(tmp_path):
    from conftest import write_config

    for overrides, key in (({"methods": {"absolut": {"data": {"threshold": 0.2}}}}, "methods.absolut"),
                           ({"models": {"smollm2_135m": {"methods": {"sfft": {}}}}}, "models.smollm2_135m.methods.sfft"),
                           ({"methods": {"dpo": {"training": {"refusal": "No idea."}}}}, "methods.dpo.training.refusal")):
        result = snakemake(tmp_path, "-n", configfile=write_config(tmp_path / "c.yaml", **overrides), check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0 and f"config key {key}" in output and "Traceback" not in output, output[-2000:]
