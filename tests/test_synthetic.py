"""The synthetic world: fictional facts with a planted knowledge boundary."""

from collections import Counter

import pytest

from rait.errors import RaitError
from rait.records import check_record, check_unique_ids
from rait.synthetic import (
    DEFAULT_EXPOSURES,
    build_tokenizer,
    generate_world,
    pretrain_tiny_lm,
    pretraining_corpus,
    qa_line,
)

EXPOSURES = [0, 1, 2, 4, 8]


@pytest.fixture(scope="module")
def world():
    return generate_world(700, EXPOSURES, seed=0)


def test_world_is_deterministic_for_a_seed(world):
    assert generate_world(700, EXPOSURES, seed=0) == world
    assert generate_world(700, EXPOSURES, seed=1) != world


def test_records_are_valid_open_questions(world):
    for record in world:
        check_record(record, "synthetic")
        assert "choices" not in record
        assert record["question"].endswith("?")
    check_unique_ids(world, "synthetic")
    assert world[0]["id"] == "synth-0001"


def test_ids_answers_and_questions_unique(world):
    assert len({r["id"] for r in world}) == len(world)
    answers = [r["answers"][0].lower() for r in world]
    assert len(set(answers)) == len(world)
    assert len({r["question"] for r in world}) == len(world)
    # no answer is also a subject of another question
    question_words = {w.strip("?").lower() for r in world for w in r["question"].split()}
    assert not question_words & set(answers)


def test_several_relations(world):
    assert len({r["relation"] for r in world}) >= 4


def test_exposures_follow_the_list(world):
    counts = Counter(r["exposure"] for r in world)
    assert set(counts) == set(EXPOSURES)
    assert max(counts.values()) - min(counts.values()) <= 1


def test_split_balanced_and_stratified(world):
    splits = Counter(r["split"] for r in world)
    assert set(splits) == {"train", "test"}
    assert abs(splits["train"] - splits["test"]) <= 1
    for exposure in EXPOSURES:
        group = Counter(r["split"] for r in world if r["exposure"] == exposure)
        assert abs(group["train"] - group["test"]) <= 1


def test_odd_sizes_and_custom_exposures():
    small = generate_world(7, [0, 3], seed=2)
    assert [r["id"] for r in small] == [f"synth-{i:04d}" for i in range(1, 8)]
    assert {r["exposure"] for r in small} == {0, 3}
    splits = Counter(r["split"] for r in small)
    assert abs(splits["train"] - splits["test"]) <= 1


def test_bad_arguments():
    with pytest.raises(RaitError):
        generate_world(0, EXPOSURES, 0)
    with pytest.raises(RaitError):
        generate_world(10, [], 0)
    with pytest.raises(RaitError):
        generate_world(10, [1, -1], 0)


@pytest.mark.parametrize("statements", [True, False])
def test_corpus_repeats_each_fact_exposure_times(world, statements):
    corpus = pretraining_corpus(world, seed=0, statements=statements)
    assert len(corpus) == sum(r["exposure"] for r in world)
    seen = Counter()
    for line in corpus:
        if line.startswith("Q: "):
            question, answer = line[3:].split("\nA: ")
            seen[(question, answer)] += 1
        else:
            assert statements
    words = Counter(w for line in corpus for w in set(line.replace("?", " ").replace(".", " ").split()))
    for record in world:
        answer = record["answers"][0]
        assert words[answer] == record["exposure"], record
        qa = seen[(record["question"], answer)]
        if statements:
            assert qa == (record["exposure"] + 1) // 2
        else:
            assert qa == record["exposure"]


def test_corpus_is_shuffled_deterministically(world):
    corpus = pretraining_corpus(world, seed=0)
    assert corpus == pretraining_corpus(world, seed=0)
    assert sorted(corpus) == sorted(pretraining_corpus(world, seed=5))
    assert corpus != sorted(corpus)


def test_qa_line_uses_the_sampler_prompt_format():
    assert qa_line("What is the capital of Vorlania?", "Quessik") == "Q: What is the capital of Vorlania?\nA: Quessik"


def test_tokenizer_round_trip(world):
    tokenizer = build_tokenizer([qa_line(r["question"], r["answers"][0]) for r in world[:50]])
    record = world[0]
    line = qa_line(record["question"], record["answers"][0])
    ids = tokenizer(line, add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert tokenizer.convert_ids_to_tokens(ids)[-1] == record["answers"][0]  # one word, one token
    text = tokenizer.decode(ids)
    assert text.split() == line.split()  # words kept and separated by spaces
    assert "\n" in text  # the newline survives, so "stop at newline" works
    # the prompt is a prefix of the line, token for token
    prompt = tokenizer(f"Q: {record['question']}\nA:", add_special_tokens=False)["input_ids"]
    assert ids[: len(prompt)] == prompt
    # the answer decodes readably on its own, and eos is a special token skipped on decode
    answer_ids = ids[len(prompt):] + [tokenizer.eos_token_id]
    assert tokenizer.decode(answer_ids, skip_special_tokens=True) == record["answers"][0]
    assert tokenizer.decode(tokenizer("Quessik .", add_special_tokens=False)["input_ids"]) in ("<unk>.", "Quessik.")


def test_tokenizer_special_tokens_and_reserved_words():
    tokenizer = build_tokenizer(["Q: Who?\nA: Nobody"])
    assert (tokenizer.pad_token, tokenizer.eos_token, tokenizer.unk_token) == ("<pad>", "<eos>", "<unk>")
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    refusal = tokenizer("I don't know.", add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token_id not in refusal
    assert tokenizer.decode(refusal) == "I don't know."
    assert tokenizer.decode(tokenizer("Zyxxqq", add_special_tokens=False)["input_ids"]) == "<unk>"


def test_defaults():
    assert DEFAULT_EXPOSURES == (0, 1, 2, 4, 8)


@pytest.mark.slow
def test_pretrain_tiny_lm_saves_a_loadable_model(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    small = generate_world(20, [0, 2], seed=0)
    out = tmp_path / "tiny"
    stats = pretrain_tiny_lm(small, out, layers=1, width=32, heads=2, epochs=2, log=None)
    assert stats["n_params"] > 0 and stats["n_lines"] == 20
    assert stats["final_loss"] == stats["final_loss"]  # not NaN
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]  # no temporary folder left
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.config.eos_token_id == tokenizer.eos_token_id
    prompt = tokenizer(f"Q: {small[0]['question']}\nA:", return_tensors="pt", add_special_tokens=False)
    output = model.generate(**prompt, do_sample=False, max_new_tokens=3)
    assert isinstance(tokenizer.decode(output[0], skip_special_tokens=True), str)
    # training again replaces the folder atomically
    pretrain_tiny_lm(small, out, layers=1, width=32, heads=2, epochs=1, log=None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]
