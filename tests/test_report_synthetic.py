"""`snakemake --report` on the synthetic world: every category and figure is in the report, and the figures
carry the data of the files the DAG made (bar heights = the eval JSON's quadrants, histogram counts = the
knowledge file's); after a partly failed run the report shows what exists and lists what is missing."""

from __future__ import annotations

import shutil
import zipfile

import numpy as np
import pytest
import yaml

from conftest import snakemake
from rait import methods as registry
from rait.io import read_json, read_jsonl
from svg_figures import bar_heights

# xdist: one worker runs every module of the synthetic world (tests/conftest.py, synth_run)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("world")]

FIGURES = "results/report/summary"
CATEGORIES = ("Comparison", "Knowledge", "Training", "Evaluation", "Data")


# A method whose answers carry a confidence (the Evaluation category's figures); the quick demo has none.
# With xdist this module shares its worker's world with tests/test_confidence_synthetic.py, which evaluated it.
CONFIDENT = "rtuning"


@pytest.fixture(scope="module")
def reported(synth_run):
    workdir, configfile = synth_run
    snakemake(workdir, f"results/eval/synth_tiny_{CONFIDENT}.json", configfile=configfile)
    snakemake(workdir, configfile=configfile)  # the default target: the quick demo, its summary and figures
    snakemake(workdir, "--report", "report.html", configfile=configfile)
    return workdir


def test_report_holds_every_category_and_figure(reported):
    html = (reported / "report.html").read_text()
    for category in CATEGORIES:
        assert f'"{category}"' in html, category
    figures = [p.relative_to(reported / FIGURES) for p in (reported / FIGURES).rglob("*")
               if p.is_file() and not p.name.startswith(".")]  # not Snakemake's .snakemake_timestamp
    for kind in ("comparison/quadrants", "comparison/tradeoff", "knowledge/distribution", "knowledge/craft",
                 "training/synth_tiny", f"evaluation/synth_tiny/{CONFIDENT}", "data/synth_tiny"):
        assert any(str(path).startswith(kind) for path in figures), (kind, figures)
    for path in figures:
        assert path.name in html, path
    assert "summary.csv" in html
    assert "This run's demo: model" in html  # workflow/report/workflow.rst, rendered with the run's config


def test_quadrant_bars_are_the_eval_files_values(reported):
    heights = bar_heights(reported / FIGURES / "comparison/quadrants/synth_tiny/synth.svg")
    drawn = {gid.split("|")[1] for gid in heights}
    assert set(registry.demo_methods("quick")) <= drawn
    for method in drawn:
        block = read_json(reported / f"results/eval/synth_tiny_{method}.json")["test_sets"]["synth"]
        for quadrant in ("ik_ik", "ik_idk", "idk_ik", "idk_idk"):
            assert heights[f"bar|{method}|{quadrant}"] == pytest.approx(block[quadrant], abs=2e-4), (method, quadrant)


def test_knowledge_histogram_counts_are_the_knowledge_files(reported):
    correctness = [r["correctness"] for r in read_jsonl(reported / "results/knowledge/synth_tiny/synth_train.jsonl")]
    counts, _ = np.histogram(correctness, bins=10, range=(0.0, 1.0))
    heights = bar_heights(reported / FIGURES / "knowledge/distribution/synth_tiny/synth.svg")
    assert [round(heights[gid]) for gid in sorted(heights, key=lambda g: int(g.split("|")[1]))] == list(counts)
    assert sum(counts) == len(correctness)


def test_every_trained_checkpoint_has_its_curve_and_the_summary_markdown_its_methods(reported):
    trained = {stage for method in registry.demo_methods("quick")
               for stage in registry.trained_stages(registry.METHODS[method])}
    curves = {path.stem for path in (reported / FIGURES / "training/synth_tiny").glob("*.svg")}
    assert trained <= curves, (trained, curves)
    markdown = (reported / "results/summary.md").read_text()
    assert all(f"| {method} |" in markdown for method in registry.demo_methods("quick"))
    assert "## Missing" not in markdown


def test_a_checkpoint_deleted_after_its_evaluation_is_not_trained_again_for_the_report(reported, tmp_path):
    """Checkpoints are large: once evaluated, a user may delete them; the report then lacks their curves."""
    workdir = reported
    checkpoint = workdir / "results/checkpoints/synth_tiny_sft"
    shutil.move(checkpoint, tmp_path / "sft")
    try:
        plan = snakemake(workdir, "-n", configfile=workdir / "config.yaml").stdout
        assert "train_stage" not in plan, plan[-3000:]
    finally:
        shutil.move(tmp_path / "sft", checkpoint)


def test_a_partly_failed_run_reports_what_exists_and_lists_what_is_missing(reported, tmp_path):
    """One evaluation of the demo missing (its job failed): report.skip_missing draws the rest and lists it."""
    workdir = reported
    partial = tmp_path / "partial.yaml"
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    config["report"] = {"skip_missing": True}
    partial.write_text(yaml.safe_dump(config))
    missing = workdir / "results/eval/synth_tiny_absolute.json"
    shutil.move(missing, tmp_path / "absolute.json")
    try:
        snakemake(workdir, "report_results", configfile=partial)
        snakemake(workdir, "--report", "partial.zip", "report_results", configfile=partial)
        markdown = (workdir / "results/summary.md").read_text()
        assert "## Missing" in markdown and "results/eval/synth_tiny_absolute.json" in markdown
        assert "| absolute |" not in markdown and "| sft |" in markdown
        drawn = {gid.split("|")[1] for gid in bar_heights(workdir / FIGURES / "comparison/quadrants/synth_tiny/synth.svg")}
        assert "absolute" not in drawn and "sft" in drawn
        with zipfile.ZipFile(workdir / "partial.zip") as archive:
            assert any(name.endswith("quadrants/synth_tiny/synth.svg") for name in archive.namelist())
    finally:
        shutil.move(tmp_path / "absolute.json", missing)
        snakemake(workdir, "report_results", configfile=workdir / "config.yaml")  # the whole summary again
