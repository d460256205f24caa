"""CRaFT's correctness and certainty per question.

Open questions: correctness is the share of the n samples graded correct (as
for the knowledge labels); certainty is the mean pairwise cosine similarity,
off the diagonal, of the samples' sentence embeddings (all-MiniLM-L6-v2 in
CRaFT): identical answers give 1.0, answers that share nothing give a value
near 0.

Multiple choice: one forward pass; p(X) is the next-token probability of
option letter X after the prompt (softmax over the whole vocabulary).
correctness = p(gold) / sum of p over the options; CRaFT's uncertainty is the
entropy H = -sum p log p over those unnormalised probabilities, which lies in
[0, ln k] for k options since they sum to at most 1. certainty = 1 - H / ln k
keeps CRaFT's order (lower entropy, higher certainty) on the open questions'
[0, 1] scale, so the selection rules read one field for both kinds.
"""

from __future__ import annotations

import logging
import math
from itertools import combinations
from collections.abc import Callable, Sequence

from rait.errors import RaitError
from rait.knowledge import label_split
from rait.records import LETTERS, question_kind

log = logging.getLogger(__name__)

Encoder = Callable[[list[str]], "list[list[float]]"]


# ---- open questions: agreement of the sampled answers -------------------------

def mean_pairwise_cosine(vectors: Sequence[Sequence[float]]) -> float:
    """Mean cosine similarity over all unordered pairs of distinct rows."""
    if len(vectors) < 2:
        raise RaitError(f"certainty needs at least 2 samples per question, got {len(vectors)}")
    unit = []
    for vector in vectors:
        norm = math.sqrt(sum(x * x for x in vector))
        unit.append([x / norm for x in vector] if norm else [0.0] * len(vector))
    pairs = [sum(a * b for a, b in zip(u, v)) for u, v in combinations(unit, 2)]
    return sum(pairs) / len(pairs)


def load_encoder(package: str, folder: str) -> Encoder:
    """A sentence-transformers model shipped inside an installed package, loaded offline."""
    from rait.models import package_file

    path = package_file(package, folder)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        raise RaitError(f"open-question certainty needs sentence-transformers ({err})") from None
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(str(path), device=device, local_files_only=True)
    log.info("embedding model: %s", path)

    def encode(texts: list[str], chunk: int = 2048) -> list[list[float]]:
        # in chunks, so the rule's log shows how far the embedding is (rait.progress)
        from rait.progress import progress

        vectors: list[list[float]] = []
        starts = range(0, len(texts), chunk)
        for start in progress(starts, desc=f"embedding {len(texts)} samples", unit="chunk", logger=log):
            vectors += model.encode(texts[start:start + chunk], batch_size=64, convert_to_numpy=True,
                                    show_progress_bar=False).tolist()
        return vectors

    return encode


def open_certainties(samples: Sequence[Sequence[str]], encode: Encoder) -> list[float]:
    """Certainty of each question from its samples; all texts are embedded in one call."""
    flat = [text for texts in samples for text in texts]
    vectors = encode(flat) if flat else []
    out, start = [], 0
    for texts in samples:
        out.append(mean_pairwise_cosine(vectors[start : start + len(texts)]))
        start += len(texts)
    return out


def score_open(records: list[dict], samples: list[dict], encode: Encoder, *, origin: str, **grading) -> list[dict]:
    """{id, correctness, certainty} per record; samples joined by id."""
    labels = label_split(records, samples, 0.0, samples_origin=origin, **grading)
    by_id = {s["id"]: s["samples"] for s in samples}
    certainties = open_certainties([by_id[r["id"]] for r in records], encode)
    return [
        {"id": label["id"], "correctness": label["correctness"], "certainty": certainty}
        for label, certainty in zip(labels, certainties)
    ]


# ---- multiple choice: the option letters' next-token probabilities -----------

def letter_scores(probs: Sequence[float], gold: str) -> dict:
    """Correctness, entropy and certainty from the options' unnormalised probabilities."""
    k = len(probs)
    if k < 2:
        raise RaitError(f"multiple-choice certainty needs at least 2 options, got {k}")
    total = sum(probs)
    index = LETTERS.index(gold)
    entropy = -sum(p * math.log(p) for p in probs if p > 0)
    return {
        "correctness": probs[index] / total if total > 0 else 0.0,
        "entropy": entropy,
        "certainty": min(1.0, max(0.0, 1.0 - entropy / math.log(k))),
        "letter_probs": list(probs),
    }


def letter_token_ids(tokenizer, k: int) -> list[int]:
    """The token a model emits for each option letter; a letter must be one token."""
    ids = []
    for letter in LETTERS[:k]:
        pieces = tokenizer.encode(letter, add_special_tokens=False)
        if len(pieces) != 1:
            raise RaitError(f"option letter {letter!r} is {len(pieces)} tokens for this tokenizer; need 1")
        ids.append(pieces[0])
    return ids


def load_sharded(model_class, model_path: str):
    """A model for inference on the job's GPUs: split layer by layer over all of them (accelerate's
    ``device_map="auto"``) when there are several, as a 70B model needs; on the one GPU or the CPU otherwise."""
    import torch

    from rait.checkpoints import is_adapter, load_causal_lm

    gpus = torch.cuda.device_count()
    # a LoRA stage stored as an adapter: its base with the adapter merged in (rait.checkpoints)
    load = load_causal_lm if is_adapter(model_path) else model_class.from_pretrained
    if gpus > 1:
        return load(model_path, dtype="auto", device_map="auto").eval()
    return load(model_path, dtype="auto").to("cuda" if gpus else "cpu").eval()


def letter_probabilities(model_path: str, records: list[dict], *, templates: dict, chat: bool,
                         system: str | None = None, batch_size: int = 16) -> list[list[float]]:
    """p(option letter) at the first answer position for every record (left-padded batches)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rait.prompts import encode, prompt_text
    from rait.sampling.transformers_engine import left_padded

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model = load_sharded(AutoModelForCausalLM, model_path)
    device = model.device  # the first shard's: the embeddings take the input there
    prompts = [encode(tokenizer, prompt_text(tokenizer, r, templates, chat, system), chat) for r in records]
    letters = {k: letter_token_ids(tokenizer, k) for k in {len(r["choices"]) for r in records}}
    out: list[list[float]] = []
    from rait.progress import progress

    starts = range(0, len(prompts), batch_size)
    for start in progress(starts, desc=f"option-letter probabilities of {len(prompts)} questions", unit="batch",
                          logger=log):
        input_ids, mask = left_padded(torch, prompts[start : start + batch_size], pad, device)
        # Left padding must not shift positions, or a padded prompt reads differently from an unpadded one.
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with torch.inference_mode():
            logits = model(input_ids=input_ids, attention_mask=mask, position_ids=positions).logits[:, -1, :].float()
        probs = torch.softmax(logits, dim=-1).cpu()
        for row, record in zip(probs, records[start : start + batch_size]):
            out.append([float(row[i]) for i in letters[len(record["choices"])]])
    return out


def score_mc(records: list[dict], probs: list[list[float]]) -> list[dict]:
    return [{"id": r["id"], **letter_scores(p, r["gold"])} for r, p in zip(records, probs)]


def split_kind(records: list[dict], origin: str) -> str:
    """``mc`` or ``open``; a split mixing both kinds is refused (CRaFT scores them differently)."""
    kinds = {question_kind(r) for r in records}
    if not kinds:
        raise RaitError(f"{origin}: no questions")
    if len(kinds) > 1:
        raise RaitError(f"{origin}: mixes open and multiple-choice questions")
    return kinds.pop()


# ---- knowledge flow: the same questions before and after rehearsal ----------

def join_flow(initial: list[dict], rehearsed: list[dict], *, origin: str = "rehearsed scores") -> list[dict]:
    """Per question: initial correctness and certainty, rehearsed correctness and the flow.

    Joined by question id, never by row order (CRaFT's own join misaligned rows
    when the rehearsed outputs came back in another order).
    """
    after = {}
    for row in rehearsed:
        if row["id"] in after:
            raise RaitError(f"{origin}: question id {row['id']!r} appears twice")
        after[row["id"]] = row
    missing = [row["id"] for row in initial if row["id"] not in after]
    if missing:
        preview = ", ".join(map(str, missing[:5]))
        raise RaitError(f"{origin}: no rehearsed scores for {len(missing)} question id(s): {preview}")
    return [
        {
            "id": row["id"],
            "correctness": row["correctness"],
            "certainty": row["certainty"],
            "correctness_rehearsal": after[row["id"]]["correctness"],
            "flow": after[row["id"]]["correctness"] - row["correctness"],
        }
        for row in initial
    ]
