"""Hugging Face hub datasets turned into question records.

Each converter is a pure function ``(row, index, split) -> record`` over one
hub row, so it is tested on hand-written rows without the network. ``split``
is the source's split name: records whose id is built from the row index
carry it so that ids from different source splits never collide.

Spec keys: ``loader`` (a name registered in ``LOADERS``), ``splits`` (project split ->
hub split), optional ``path`` / ``name`` overriding the loader's, optional ``revision``
(a commit, branch or tag of the dataset repository).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rait.errors import RaitError
from rait.registry import Registry, UnknownName
from rait.records import LETTERS, check_record, check_unique_ids


def _unique(items) -> list[str]:
    # dict keeps first-seen order, so the canonical answer stays first.
    return list(dict.fromkeys(s.strip() for s in items if isinstance(s, str) and s.strip()))


def triviaqa(row: dict, index: int, split: str) -> dict:
    answer = row["answer"]
    answers = [answer["value"], *answer.get("aliases", []), *answer.get("normalized_aliases", [])]
    return {"id": row["question_id"], "question": row["question"].strip(), "answers": _unique(answers)}


def mmlu(row: dict, index: int, split: str) -> dict:
    subject = row["subject"]
    return {
        "id": f"{subject}/{split}/{index}",
        "question": row["question"].strip(),
        "choices": [c.strip() for c in row["choices"]],
        "gold": _letter(row["answer"], len(row["choices"])),
        "subject": subject,
    }


def nq_open(row: dict, index: int, split: str) -> dict:
    return {"id": f"nq_open/{split}/{index}", "question": row["question"].strip(), "answers": _unique(row["answer"])}


def arc(row: dict, index: int, split: str) -> dict:
    labels = list(row["choices"]["label"])
    # Some items are labelled '1'..'4' instead of 'A'..'D'; the letter is the position.
    if row["answerKey"] not in labels:
        raise ValueError(f"answerKey {row['answerKey']!r} is not among the labels {labels}")
    record = {
        "id": row["id"],
        "question": row["question"].strip(),
        "choices": [c.strip() for c in row["choices"]["text"]],
        "gold": LETTERS[labels.index(row["answerKey"])],
    }
    if row["answerKey"] != record["gold"]:  # CRaFT's grader compares with the key itself (rait.profiles)
        record["answer_key"] = row["answerKey"]
    return record


def simpleqa(row: dict, index: int, split: str) -> dict:
    """OpenAI's SimpleQA (simple_qa_test_set.csv: ``metadata``, ``problem``, ``answer``; the metadata a Python
    dict literal with ``topic``, ``answer_type`` and ``urls``). No id column: the row's index names it."""
    import ast

    metadata = ast.literal_eval(row["metadata"]) if row.get("metadata") else {}
    record = {"id": f"simpleqa/{split}/{index}", "question": row["problem"].strip(), "answers": _unique([row["answer"]])}
    if isinstance(metadata, dict) and metadata.get("topic"):
        record["topic"] = metadata["topic"]
    return record


def simpleqa_verified(row: dict, index: int, split: str) -> dict:
    """SimpleQA Verified (Haas et al. 2025, google/simpleqa-verified simpleqa_verified.csv): ``original_index`` (the
    question's row in SimpleQA: its id, and kept as ``simpleqa_index``), ``problem``, ``answer`` (rewritten where
    SimpleQA's was wrong or a number needed a range), ``topic``, ``answer_type``, ``multi_step``,
    ``requires_reasoning``, ``urls``."""
    original = int(row["original_index"])
    return {"id": f"simpleqa_verified/{original}", "question": row["problem"].strip(),
            "answers": _unique([row["answer"]]), "topic": row["topic"], "simpleqa_index": original}


def popqa(row: dict, index: int, split: str) -> dict:
    """PopQA (Mallen et al. 2023, akariasai/PopQA test.tsv): ``question``, ``possible_answers`` (a JSON list in a
    string), the subject's monthly Wikipedia page views ``s_pop`` (kept as ``popularity``: accuracy and refusals by
    popularity decile) and the relation ``prop``."""
    import json

    answers = json.loads(row["possible_answers"]) if isinstance(row["possible_answers"], str) else row["possible_answers"]
    return {"id": f"popqa/{row['id']}", "question": row["question"].strip(), "answers": _unique(answers),
            "popularity": row["s_pop"], "relation": row["prop"]}


def _letter(answer, count: int) -> str:
    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < count:
        raise ValueError(f"answer {answer!r} is not an index into {count} choices")
    return LETTERS[answer]


@dataclass(frozen=True)
class HubLoader:
    """One hub dataset: its converter, the kind of questions it holds, its default hub path and config name, and
    the rows per split its dataset card gives (so that the workflow knows when it builds the DAG how many shards a
    split is sampled in; a dataset with another path or config name is taken as unknown)."""

    convert: Callable[[dict, int, str], dict]
    kind: str
    path: str
    name: str | None
    sizes: Mapping[str, int]
    # how a model judge grades it unless the config says otherwise (rait.judging: SimpleQA's sets three-way)
    judge_mode: str | None = None


LOADERS: Registry[HubLoader] = Registry("hub loader")
LOADERS.register("triviaqa", HubLoader(triviaqa, "open", "mandarjoshi/trivia_qa", "rc.nocontext",
                                       {"train": 138384, "validation": 17944, "test": 17210}))
LOADERS.register("mmlu", HubLoader(mmlu, "mc", "cais/mmlu", "all",
                                   {"auxiliary_train": 99842, "dev": 285, "validation": 1531, "test": 14042}))
LOADERS.register("nq_open", HubLoader(nq_open, "open", "nq_open", None, {"train": 87925, "validation": 3610}))
LOADERS.register("arc", HubLoader(arc, "mc", "allenai/ai2_arc", "ARC-Challenge",
                                  {"train": 1119, "validation": 299, "test": 1172}))
# one CSV, so the hub calls its only split "train" (4,326 questions, the paper's count)
LOADERS.register("simpleqa", HubLoader(simpleqa, "open", "basicv8vc/SimpleQA", None, {"train": 4326},
                                       judge_mode="three_way"))
# SimpleQA Verified: one CSV, its card's split "eval" (1,000 questions)
LOADERS.register("simpleqa_verified", HubLoader(simpleqa_verified, "open", "google/simpleqa-verified", None,
                                                {"eval": 1000}, judge_mode="three_way"))
# one TSV, split "test"; its card gives no count (about 14.3k rows in the hub's viewer): a size only sets how many
# shards a split is sampled in, each taking a contiguous slice of whatever the split holds
LOADERS.register("popqa", HubLoader(popqa, "open", "akariasai/PopQA", None, {"test": 14267}))


def loader_of(spec: dict) -> HubLoader:
    """The registered loader a hub dataset's entry names; an unknown one is an error naming its key."""
    try:
        return LOADERS[spec.get("loader")]
    except UnknownName as err:
        raise RaitError(f"datasets.{spec.get('key', '?')}.loader: {err}") from None


def load(spec: dict, split: str) -> list[dict]:
    key = f"datasets.{spec.get('key', '?')}"
    loader = loader_of(spec)
    source_split = (spec.get("splits") or {}).get(split)
    if not source_split:
        raise RaitError(f"{key}.splits.{split}: not set")
    path, name = spec.get("path", loader.path), spec.get("name", loader.name)

    import datasets  # slow to import; only hub datasets need it

    try:
        rows = datasets.load_dataset(path, name, split=source_split, revision=spec.get("revision"))
    except Exception as err:  # network, unknown config or split: all are the user's to fix
        raise RaitError(f"{key}: cannot load {path} ({name}) split {source_split!r}: {err}") from err
    convert = loader.convert
    records = []
    for index, row in enumerate(rows):
        origin = f"{path}[{source_split}] row {index}"
        try:
            record = convert(row, index, source_split)
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise RaitError(f"{origin}: cannot convert row ({type(err).__name__}: {err})") from None
        records.append(check_record(record, origin))
    check_unique_ids(records, f"{path}[{source_split}]")
    return records


def expected_size(spec: dict, split: str) -> int | None:
    """Rows of ``split`` as the dataset card gives them, for the default datasets; None when unknown."""
    loader = LOADERS.get(spec.get("loader"))
    if loader is None or (spec.get("path"), spec.get("name")) not in ((None, None), (loader.path, loader.name)):
        return None
    return loader.sizes.get((spec.get("splits") or {}).get(split))
