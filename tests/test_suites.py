"""The field's evaluation suites, each loader on a fixture written in the dataset's own file format (columns from its
card or its repository), never a hub call: SimpleQA's CSV and PopQA's TSV through their hub converters (the rows
``datasets`` gives: strings, and PopQA's ``s_pop`` an integer), SelfAware's JSON and FalseQA's CSV through the local
loader's ``answerable`` / ``unanswerable`` mapping."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from rait.datasets import hub, local
from rait.errors import RaitError
from rait.records import check_record

# openai/simple-evals' simple_qa_test_set.csv (the hub mirror basicv8vc/SimpleQA holds the file itself)
SIMPLEQA_CSV = '''metadata,problem,answer
"{'topic': 'Science and technology', 'answer_type': 'Person', 'urls': ['https://en.wikipedia.org/wiki/IEEE_Frank_Rosenblatt_Award', 'https://ieeexplore.ieee.org/author/37271220500']}",Who received the IEEE Frank Rosenblatt Award in 2010?,Michio Sugeno
"{'topic': 'Geography', 'answer_type': 'Place', 'urls': ['https://en.wikipedia.org/wiki/Radcliffe_College']}","What's the name of the women's liberal arts college in Cambridge, Massachusetts?",Radcliffe College
'''

# akariasai/PopQA test.tsv: its columns, in its order
POPQA_HEADER = ["id", "subj", "prop", "obj", "subj_id", "prop_id", "obj_id", "s_aliases", "o_aliases", "s_uri", "o_uri",
                "s_wiki_title", "o_wiki_title", "s_pop", "o_pop", "question", "possible_answers"]
POPQA_ROWS = [
    ["4222362", "George Rankin", "occupation", "politician", "1374008", "22", "2834605", "[]",
     '["political leader", "political figure", "polit."]', "http://www.wikidata.org/entity/Q5543720",
     "http://www.wikidata.org/entity/Q82955", "George Rankin", "Politician", "142", "25692",
     "What is George Rankin's occupation?", '["politician", "political leader", "political figure", "polit.", "pol"]'],
    ["6054", "Dagmar Dahlgren", "occupation", "actor", "3111", "22", "40906", "[]", "[]",
     "http://www.wikidata.org/entity/Q5207970", "http://www.wikidata.org/entity/Q33999", "Dagmar Dahlgren", "Actor",
     "33", "145236", "What is Dagmar Dahlgren's occupation?", '["actor", "actress", "actors", "actresses"]'],
]


def hub_rows(text: str, delimiter: str = ",") -> list[dict]:
    """A CSV or TSV file's rows as ``datasets`` reads them from the hub (text columns; PopQA's counts integers)."""
    rows = list(csv.DictReader(text.splitlines(), delimiter=delimiter))
    for row in rows:
        for column in ("id", "subj_id", "prop_id", "obj_id", "s_pop", "o_pop"):
            if column in row:
                row[column] = int(row[column])
    return rows


def test_simpleqa_rows_become_open_questions_with_their_topic():
    rows = hub_rows(SIMPLEQA_CSV)
    records = [check_record(hub.simpleqa(row, index, "train"), f"row {index}") for index, row in enumerate(rows)]
    assert records[0] == {"id": "simpleqa/train/0", "question": "Who received the IEEE Frank Rosenblatt Award in 2010?",
                          "answers": ["Michio Sugeno"], "topic": "Science and technology"}
    assert records[1]["question"].startswith("What's the name") and records[1]["answers"] == ["Radcliffe College"]
    assert hub.LOADERS["simpleqa"].path == "basicv8vc/SimpleQA" and hub.LOADERS["simpleqa"].sizes == {"train": 4326}


# google/simpleqa-verified simpleqa_verified.csv: its columns, in its card's order
SIMPLEQA_VERIFIED_CSV = '''original_index,problem,answer,topic,answer_type,multi_step,requires_reasoning,urls
5,"Who received the IEEE Frank Rosenblatt Award in 2010?",Michio Sugeno,Science and technology,Person,False,False,"https://en.wikipedia.org/wiki/IEEE_Frank_Rosenblatt_Award,https://ieeexplore.ieee.org/author/37271220500"
4318,"In which year did the Radcliffe College merge fully into Harvard?",1999,History,Date,False,False,https://en.wikipedia.org/wiki/Radcliffe_College
'''


def test_simpleqa_verified_rows_keep_their_simpleqa_index_and_are_judged_three_way():
    records = [check_record(hub.simpleqa_verified(row, index, "eval"), f"row {index}")
               for index, row in enumerate(hub_rows(SIMPLEQA_VERIFIED_CSV))]
    assert records[0] == {"id": "simpleqa_verified/5", "question": "Who received the IEEE Frank Rosenblatt Award in "
                          "2010?", "answers": ["Michio Sugeno"], "topic": "Science and technology", "simpleqa_index": 5}
    assert records[1]["answers"] == ["1999"] and records[1]["simpleqa_index"] == 4318
    loader = hub.LOADERS["simpleqa_verified"]
    assert (loader.path, loader.sizes, loader.judge_mode) == ("google/simpleqa-verified", {"eval": 1000}, "three_way")


def test_simpleqa_verified_csv_through_the_suites_local_entry_is_the_hub_loaders_questions(tmp_path):
    """config/suites.yaml reads SimpleQA Verified as a local file (no full commit id to pin its hub download): the
    card's CSV through its field mapping gives the hub loader's questions and answers, judged three-way."""
    import yaml

    entry = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "suites.yaml").read_text())[
        "datasets"]["simpleqa_verified"]
    path = tmp_path / "simpleqa_verified.csv"
    path.write_text(SIMPLEQA_VERIFIED_CSV)
    assert entry["source"] == "local" and entry["judge_mode"] == "three_way"
    records = local.load({**entry, "key": "simpleqa_verified", "files": {"test": str(path)}}, "test")
    from_hub = [hub.simpleqa_verified(row, index, "eval") for index, row in enumerate(hub_rows(SIMPLEQA_VERIFIED_CSV))]
    assert [(r["question"], r["answers"], r["subject"]) for r in records] == [
        (h["question"], h["answers"], h["topic"]) for h in from_hub]
    assert [r["id"] for r in records] == ["5", "4318"]  # original_index: the question's row in SimpleQA


def test_popqa_rows_keep_the_subjects_popularity():
    text = "\n".join("\t".join(row) for row in [POPQA_HEADER, *POPQA_ROWS])
    records = [check_record(hub.popqa(row, index, "test"), f"row {index}")
               for index, row in enumerate(hub_rows(text, "\t"))]
    assert records[0] == {"id": "popqa/4222362", "question": "What is George Rankin's occupation?",
                          "answers": ["politician", "political leader", "political figure", "polit.", "pol"],
                          "popularity": 142, "relation": "occupation"}
    assert records[1]["popularity"] == 33


@pytest.mark.parametrize("bad", ["many", -3, float("nan"), True, None])
def test_a_popularity_that_is_not_a_number_is_named_with_its_row(bad):
    with pytest.raises(RaitError, match=r"popqa row 7: popularity .* not a number"):
        check_record({"id": "q", "question": "Who?", "answers": ["x"], "popularity": bad}, "popqa row 7")


def test_selfaware_json_through_the_answerable_column(tmp_path):
    """yinzhangyue/SelfAware data/SelfAware.json: {"example": [{question_id, question, answer (a list, or null
    when unanswerable), answerable, source}]}."""
    path = tmp_path / "SelfAware.json"
    path.write_text(json.dumps({"example": [
        {"question_id": 1, "question": "What form of entertainment are 'Slow Poke' and 'You Belong to Me'?",
         "answer": ["song"], "answerable": True, "source": "hotpot_train"},
        {"question_id": 2, "question": "What will the weather be like on the first day of the next millennium?",
         "answer": None, "answerable": False, "source": "quora"},
    ]}))
    spec = {"key": "selfaware", "source": "local", "files": {"test": str(path)}, "json_field": "example",
            "fields": {"id": "question_id", "question": "question", "answers": "answer", "answerable": "answerable"}}
    answerable, unanswerable = local.load(spec, "test")
    assert answerable["answers"] == ["song"] and not answerable.get("unanswerable")
    assert unanswerable == {"id": "2", "question": "What will the weather be like on the first day of the next "
                            "millennium?", "unanswerable": True, "answers": []}


def test_falseqa_csv_through_the_unanswerable_column(tmp_path):
    """thunlp/FalseQA dataset/test.csv: question, answer, label (1: a false premise; its answer then rebuts the
    premise and is dropped)."""
    path = tmp_path / "test.csv"
    path.write_text('question,answer,label\n'
                    '"How many eyes does a sun have?","The sun is a star and has no eyes.",1\n'
                    '"How many eyes does a spider usually have?","Most spiders have eight eyes.",0\n')
    spec = {"key": "falseqa", "source": "local", "files": {"test": str(path)},
            "fields": {"question": "question", "answers": "answer", "unanswerable": "label"}}
    false_premise, sound = local.load(spec, "test")
    assert false_premise["unanswerable"] is True and false_premise["answers"] == []
    assert sound["answers"] == ["Most spiders have eight eyes."] and "unanswerable" not in sound


def test_abstentionbench_rows_exported_from_its_hub_script_through_the_should_abstain_column(tmp_path):
    """AbstentionBench's rows (facebook/AbstentionBench, a loading script rait does not run: exported once with
    ``datasets``' ``to_json``): ``question``, ``reference_answers`` (a list, null when the model should abstain),
    ``should_abstain``, ``metadata_json``. KUQ's split, for one; an answerable row without a reference answer (some
    of its other datasets) is named with its line."""
    path = tmp_path / "kuq.jsonl"
    rows = [{"question": "What is the capital of Australia?", "reference_answers": ["Canberra"],
             "should_abstain": False, "metadata_json": json.dumps({"KUQ_source": "turk", "KUQ_category": None})},
            {"question": "What will the population of Mars be in 2300?", "reference_answers": None,
             "should_abstain": True, "metadata_json": json.dumps({"KUQ_source": "turk",
                                                                   "KUQ_category": "future unknown"})}]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    spec = {"key": "abstention_kuq", "source": "local", "files": {"test": str(path)},
            "fields": {"question": "question", "answers": "reference_answers", "unanswerable": "should_abstain"}}
    known, unknown = local.load(spec, "test")
    assert known == {"id": "kuq-1", "question": "What is the capital of Australia?", "answers": ["Canberra"]}
    assert unknown["unanswerable"] is True and unknown["answers"] == []
    path.write_text(json.dumps({**rows[0], "reference_answers": None}) + "\n")
    with pytest.raises(RaitError, match=r"kuq.jsonl:1: record has no answer \(field 'reference_answers'\)"):
        local.load(spec, "test")
    path.write_text(json.dumps({**rows[1], "should_abstain": None}) + "\n")
    with pytest.raises(RaitError, match=r"kuq.jsonl:1: record has no unanswerable \(field 'should_abstain'\)"):
        local.load(spec, "test")


def test_a_suite_file_without_its_answerable_column_is_named(tmp_path):
    path = tmp_path / "test.csv"
    path.write_text('question,answer\n"How many eyes does a sun have?","None."\n')
    spec = {"key": "falseqa", "source": "local", "files": {"test": str(path)},
            "fields": {"question": "question", "answers": "answer", "unanswerable": "label"}}
    with pytest.raises(RaitError, match=r"test.csv:1: no column 'label' \(mapped in datasets.falseqa.fields\)"):
        local.load(spec, "test")
    path.write_text('question,answer,label\n"How many eyes does a sun have?","None.",maybe\n')
    with pytest.raises(RaitError, match=r"test.csv:2: unanswerable \(field 'label'\) is 'maybe', not true/false"):
        local.load(spec, "test")
    with pytest.raises(RaitError, match="give 'answerable' or 'unanswerable', not both"):
        local.load({**spec, "fields": {**spec["fields"], "answerable": "x"}}, "test")
