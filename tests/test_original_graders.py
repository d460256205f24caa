"""rait's grading profiles against the seed papers' own graders, run unchanged on a corpus of answers.

tests/fixtures/original_grades.jsonl.gz holds answers in many styles to MMLU, ARC-Challenge and NQ-open questions
(../shared/data, referenced by id) and to the embedded world set, each with the grade the original code gave it
(tools/grade_with_originals.py, which runs CRaFT's OpenCompass fork, Alignment for Honesty and Say-I-Dont-Know
at the commits rait.profiles cites). Every answer must get the same grade from rait's profile.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from rait.grading import grade
from shared_data import DATA, needs_data

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests/fixtures/original_grades.jsonl.gz"


def _tool():
    spec = importlib.util.spec_from_file_location("grade_with_originals", REPO / "tools/grade_with_originals.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus():
    tool = _tool()
    rows = [json.loads(line) for line in gzip.open(FIXTURE, "rt", encoding="utf-8")]
    mc, opened = tool.question_sets(DATA, tool.MMLU_PER_SUBJECT, tool.NQ_QUESTIONS)
    records = {(name, record["id"]): record for sets in (mc, opened) for name, rs in sets.items() for record in rs}
    return tool, rows, records


@needs_data
def test_the_corpus_covers_the_styles_and_grades_it_was_asked_for(corpus):
    tool, rows, records = corpus
    mc = [row for row in rows if "choices" in records[(row["set"], row["id"])]]
    opened = [row for row in rows if "choices" not in records[(row["set"], row["id"])]]
    assert len(mc) >= 5000 and len(opened) >= 5000
    assert {row["style"] for row in mc} == set(tool.MC_STYLES) and len(tool.MC_STYLES) >= 20
    assert {row["style"] for row in opened} == set(tool.OPEN_STYLES) and len(tool.OPEN_STYLES) >= 20
    assert {row["set"] for row in mc} == {"mmlu_test", "arc_test", "arc_dev", "world_mc"}
    assert {row["set"] for row in opened} == {"nq_dev", "world_open"}
    assert all(set(row["grades"]) == {"craft", "honesty"} for row in mc)
    assert all(set(row["grades"]) == {"craft", "honesty", "sidk"} for row in opened)
    # every grade occurs under every original on multiple choice, so a profile that always said one thing fails
    for profile in ("craft", "honesty"):
        assert set(Counter(row["grades"][profile] for row in mc)) == {"correct", "wrong", "refusal", "unparsed"}
    for profile in ("craft", "honesty", "sidk"):
        assert set(Counter(row["grades"][profile] for row in opened)) == {"correct", "wrong", "refusal"}
    # ARC items keyed "1".."4" are in it: CRaFT's loader compares with that key
    assert any(records[(row["set"], row["id"])].get("answer_key") for row in mc)


@needs_data
@pytest.mark.parametrize("profile", ["craft", "honesty", "sidk"])
def test_each_profile_grades_every_answer_as_its_original(corpus, profile):
    _, rows, records = corpus
    graded = [row for row in rows if profile in row["grades"]]
    disagree = [(row["set"], row["id"], row["style"], row["response"], row["grades"][profile], mine)
                for row in graded
                if (mine := grade(records[(row["set"], row["id"])], row["response"], profile=profile))
                != row["grades"][profile]]
    assert not disagree, f"{len(disagree)} of {len(graded)} disagree, e.g. {disagree[:5]}"
