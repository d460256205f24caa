"""The real data beside the checkout (../shared/data: MMLU CSVs, ARC-Challenge, NQ-open dev), as the tests read
it. Read-only and never part of the product's config: the specs below point at it by absolute path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not found at {DATA}")

MMLU_FIELDS = {"id": "id", "question": "question", "choices": ["A", "B", "C", "D"], "gold": "target",
               "subject_pattern": r"^(?P<subject>.+)_(dev|val|test)\.csv$"}
ARC_FIELDS = {"id": "id", "question": "question.stem", "choices": "question.choices", "choice_text": "text",
              "choice_label": "label", "gold": "answerKey"}
NQ_FIELDS = {"id": "qid", "question": "question", "answers": "answers"}

# Local-source specs by the data's own split names (rait.datasets.local).
SPECS = {
    "mmlu": {"source": "local", "fields": MMLU_FIELDS,
             "files": {split: str(DATA / f"mmlu/{split}/*.csv") for split in ("dev", "val", "test")}},
    "arc_challenge": {"source": "local", "fields": ARC_FIELDS,
                      "files": {"dev": str(DATA / "arc_challenge/ARC-Challenge-Dev.jsonl"),
                                "test": str(DATA / "arc_challenge/ARC-Challenge-Test.jsonl")}},
    "nq_open": {"source": "local", "fields": NQ_FIELDS, "files": {"dev": str(DATA / "nq_open/dev.json")}},
}

# The same data as dataset entries of a workflow config, with the workflow's split names (train, test).
DATASETS = {
    "mmlu_csv": {"source": "local", "fields": MMLU_FIELDS,
                 "files": {"train": SPECS["mmlu"]["files"]["val"], "test": SPECS["mmlu"]["files"]["test"]}},
    "arc_jsonl": {"source": "local", "fields": ARC_FIELDS,
                  "files": {"train": SPECS["arc_challenge"]["files"]["dev"],
                            "test": SPECS["arc_challenge"]["files"]["test"]}},
    "nq_json": {"source": "local", "fields": NQ_FIELDS, "files": {"test": SPECS["nq_open"]["files"]["dev"]}},
}


def spec_for(name: str) -> dict:
    """A copy of ``SPECS[name]`` with its key, ready for ``rait.datasets.local.load``."""
    return {**copy.deepcopy(SPECS[name]), "key": name}
