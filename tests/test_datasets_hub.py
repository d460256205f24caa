"""Hub converters on hand-written rows shaped like the real hub rows; no network."""

from __future__ import annotations

import pytest

from rait.datasets import hub
from rait.errors import RaitError

TRIVIAQA_ROW = {
    "question": "Which Lloyd Webber musical premiered in the US on 10th December 1993?",
    "question_id": "tc_33",
    "question_source": "http://www.triviacountry.com/",
    "entity_pages": {"doc_source": [], "filename": [], "title": [], "wiki_context": []},
    "search_results": {"description": [], "filename": [], "rank": [], "title": [], "url": [], "search_context": []},
    "answer": {
        "aliases": ["Sunset Blvd", "Sunset Boulevard", "West Sunset Boulevard"],
        "normalized_aliases": ["sunset boulevard", "sunset blvd", "west sunset boulevard"],
        "matched_wiki_entity_name": "",
        "normalized_matched_wiki_entity_name": "",
        "normalized_value": "sunset boulevard",
        "type": "WikipediaEntity",
        "value": "Sunset Boulevard",
    },
}
MMLU_ROW = {"question": "What is the embryological origin of the hyoid bone?", "subject": "anatomy",
            "choices": ["The first pharyngeal arch", "The first and second pharyngeal arches",
                        "The second pharyngeal arch", "The second and third pharyngeal arches"],
            "answer": 3}
NQ_ROW = {"question": "when was the last time anyone was on the moon", "answer": ["14 December 1972 UTC", "December 1972"]}
ARC_NUMERIC = {"id": "NYSEDREGENTS_2014_8_20", "question": "Which is a renewable resource?",
               "choices": {"text": ["coal", "trees", "oil", "natural gas"], "label": ["1", "2", "3", "4"]},
               "answerKey": "2"}
ARC_FIVE = {"id": "TIMSS_2003_8_pg29", "question": "Which is not a mammal?",
            "choices": {"text": ["bat", "whale", "dog", "cat", "shark"], "label": ["A", "B", "C", "D", "E"]},
            "answerKey": "E"}


def test_triviaqa_value_first_then_aliases_deduplicated():
    assert hub.triviaqa(TRIVIAQA_ROW, 0, "validation") == {
        "id": "tc_33",
        "question": TRIVIAQA_ROW["question"],
        "answers": ["Sunset Boulevard", "Sunset Blvd", "West Sunset Boulevard", "sunset boulevard", "sunset blvd",
                    "west sunset boulevard"],
    }


def test_mmlu_int_answer_to_letter():
    record = hub.mmlu(MMLU_ROW, 7, "test")
    assert record["id"] == "anatomy/test/7" and record["gold"] == "D" and record["subject"] == "anatomy"
    assert record["choices"] == MMLU_ROW["choices"]


def test_mmlu_answer_out_of_range():
    with pytest.raises(ValueError, match="not an index"):
        hub.mmlu({**MMLU_ROW, "answer": 4}, 0, "test")


def test_nq_open_list_answer():
    assert hub.nq_open(NQ_ROW, 12, "validation") == {
        "id": "nq_open/validation/12", "question": NQ_ROW["question"], "answers": NQ_ROW["answer"]}


def test_arc_numeric_labels_and_five_choices():
    assert hub.arc(ARC_NUMERIC, 0, "test")["gold"] == "B"
    five = hub.arc(ARC_FIVE, 1, "test")
    assert five["gold"] == "E" and len(five["choices"]) == 5


@pytest.fixture
def fake_hub(monkeypatch):
    """Replace datasets.load_dataset with rows held in memory, recording the call."""
    datasets = pytest.importorskip("datasets")
    calls = []

    def install(rows):
        def load_dataset(path, name=None, split=None, revision=None):
            calls.append((path, name, split) + ((revision,) if revision else ()))
            return list(rows)
        monkeypatch.setattr(datasets, "load_dataset", load_dataset)
        return calls
    return install


def test_load_uses_registry_defaults_and_checks_records(fake_hub):
    calls = fake_hub([ARC_NUMERIC, ARC_FIVE])
    records = hub.load({"key": "arc", "source": "hub", "loader": "arc", "splits": {"test": "test"}}, "test")
    assert calls == [("allenai/ai2_arc", "ARC-Challenge", "test")]
    assert [r["gold"] for r in records] == ["B", "E"]


def test_load_path_and_name_override(fake_hub):
    calls = fake_hub([NQ_ROW])
    spec = {"key": "nq", "loader": "nq_open", "path": "google-research-datasets/nq_open", "name": "nq_open",
            "splits": {"test": "validation"}}
    hub.load(spec, "test")
    assert calls == [("google-research-datasets/nq_open", "nq_open", "validation")]
    hub.load({**spec, "revision": "3dcbed8b"}, "test")  # the entry's pinned commit reaches load_dataset
    assert calls[-1] == ("google-research-datasets/nq_open", "nq_open", "validation", "3dcbed8b")


def test_load_bad_row_names_path_split_and_row(fake_hub):
    fake_hub([MMLU_ROW, {**MMLU_ROW, "answer": 9}])
    with pytest.raises(RaitError, match=r"cais/mmlu\[test\] row 1: cannot convert row"):
        hub.load({"key": "mmlu", "loader": "mmlu", "splits": {"test": "test"}}, "test")


def test_load_row_without_answer(fake_hub):
    fake_hub([{**TRIVIAQA_ROW, "answer": {"aliases": [], "normalized_aliases": [], "value": ""}}])
    with pytest.raises(RaitError, match=r"mandarjoshi/trivia_qa\[test\] row 0: record has no answer"):
        hub.load({"key": "triviaqa", "loader": "triviaqa", "splits": {"test": "test"}}, "test")


def test_load_config_errors():
    with pytest.raises(RaitError, match=r"datasets\.x\.loader: unknown hub loader 'squad'"):
        hub.load({"key": "x", "loader": "squad", "splits": {"test": "test"}}, "test")
    with pytest.raises(RaitError, match=r"datasets\.x\.splits\.train: not set"):
        hub.load({"key": "x", "loader": "arc", "splits": {"test": "test"}}, "train")
