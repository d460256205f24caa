"""Grade a corpus of answers with the seed papers' own grading code, run unchanged, and write the grades as data.

    python tools/grade_with_originals.py --craft CRAFT --honesty HONESTY --sidk SIDK \
        [--data ../shared/data] [--out tests/fixtures/original_grades.jsonl.gz]

CRAFT, HONESTY and SIDK are checkouts of the originals at the commits rait.profiles cites (a different commit is
refused unless --any-commit):

    git clone https://github.com/Zrc007/opencompass_CRaFT && git -C opencompass_CRaFT checkout 71601fbbcd66
    git clone https://github.com/GAIR-NLP/alignment-for-honesty && git -C alignment-for-honesty checkout 5357ef8700e1
    git clone https://github.com/OpenMOSS/Say-I-Dont-Know && git -C Say-I-Dont-Know checkout a4768458638f

Run it in an environment with pandas < 3, as the originals had: the fork's ARC loader relies on ``astype(str)``
turning the missing fourth option of a three-option item into "nan", which pandas 3 keeps missing (the loader then
crashes). For example ``python3 -m venv /tmp/og && /tmp/og/bin/pip install 'pandas<3' datasets tqdm pytest``
(pytest: the question specs are ``tests/shared_data.py``'s), then ``/tmp/og/bin/python tools/...``.

Their files are executed from the checkout as they are; only modules the graders import and never use for
grading (OpenCompass's registries and evaluator base class, rapidfuzz) are stubbed. What runs:

* CRaFT: the fork's own loaders (``MMLUDataset``, ``ARC_c_Dataset``, ``TriviaQADataset``) on the data folder
  (CRaFT's preprocessed files, as ../shared/data holds them), and the embedded world set written in the MMLU and
  TriviaQA file formats, then ``MMLU_HonestEvaluator``, ``ARC_c_HonestEvaluator``, ``TriviaQAEvaluator.score``.
* Alignment for Honesty: ``compute_mcqa_acc`` (``evaluation/mmlu_evaluation.py``) and ``compute_has_match``
  (``evaluation/triviaqa_nonambigqa_evaluation.py``), on instances built from rait's records.
* Say-I-Dont-Know: ``cal_knowledge_quadrants`` (``src/evaluation/cal_knowledge_quadrants.py``) on one answer at
  a time (it prints only totals), on files in its own format.

The answers are written in many styles a chat model uses (``MC_STYLES``, ``OPEN_STYLES``), one per question in
turn, seeded. Each output line: set, id, style, response and ``grades`` (profile -> correct / wrong / refusal /
unparsed, in rait's words: Alignment for Honesty's "wrong" with no option read is "unparsed", as rait's profile
names it). The questions are referenced by id; their text stays in the data folder.
``tests/test_original_graders.py`` grades every line with rait's profiles and expects no disagreement.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import importlib.util
import io
import json
import random
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

sys.path.insert(0, str(REPO / "tests"))

from rait.datasets import embedded_path, load_split_column  # noqa: E402
from rait.datasets import local  # noqa: E402
from rait.records import LETTERS  # noqa: E402
from shared_data import ARC_FIELDS, MMLU_FIELDS, NQ_FIELDS  # noqa: E402

COMMITS = {"craft": "71601fbbcd661171604fbff24f5192708368cd40",
           "honesty": "5357ef8700e12b506e1e18685eded3fb082940fe",
           "sidk": "a4768458638fa78a9a43252d319514db425dcaf3"}
MMLU_PER_SUBJECT, NQ_QUESTIONS = 50, 3000  # the fixture's questions: the first of each MMLU subject, of NQ-open dev
SIDK_REFUSAL = "This question is beyond the scope of my knowledge, and I am not sure what the answer is."

# ---- the corpus ---------------------------------------------------------------------------------------------


def _other(rng: random.Random, options: list, keep) -> object:
    rest = [o for o in options if o != keep]
    return rng.choice(rest) if rest else keep


def mc_parts(record: dict, rng: random.Random) -> dict:
    """The letters and texts a style writes: the gold (most of the time) or another option, and a wrong one."""
    letters = list(LETTERS[: len(record["choices"])])
    said = record["gold"] if rng.random() < 0.6 else _other(rng, letters, record["gold"])
    other = _other(rng, letters, said)
    text = lambda letter: record["choices"][LETTERS.index(letter)]
    return {"g": said, "w": other, "T": text(said), "W": text(other), "l": said.lower()}


MC_STYLES = {
    "bare": "{g}",
    "parenthesised": "({g})",
    "dotted": "{g}.",
    "closing_paren": "{g})",
    "answer_colon": "Answer: {g}",
    "answer_is": "The answer is {g}.",
    "answer_is_paren": "The answer is ({g}).",
    "letter_and_text": "{g}. {T}",
    "letter_wrong_text": "{g}. {W}",
    "text_only": "{T}",
    "lower_case": "{l}",
    "two_letters": "{g} or {w}",
    "cot_then_other": "The correct answer is ({g}). {w} is wrong.",
    "option_then_other": "The answer is option ({g}). Option {w} is not.",
    "step_by_step": "Let's think step by step.\nOption {w} says \"{W}\", which does not fit.\nThe correct answer is ({g}).",
    "idk": "I don't know.",
    "idk_curly": "I don’t know.",
    "hedge": "I'm not sure, but I think it is {g}.",
    "apology": "I apologize, but I'm not able to provide an answer to the question.",
    "bold": "**{g}**",
    "letter_colon_text": "{g}: {T}",
    "explained": "Answer: ({g}) {T}\n\nExplanation: {W} is a distractor.",
    "chinese": "答案是{g}",
    "fifth_option": "E",
    "none": "None of the options is correct.",
    "wrong_text": "{W}",
    "two_texts": "{T} and {W}",
    "boxed": "The correct answer is \\boxed{{{g}}}.",
    "numbered": "1. {g}",
    "padded": "\n  {g}  \n",
}


def open_parts(record: dict, wrong: str, rng: random.Random) -> dict:
    alias = rng.choice(record["answers"][:3])
    return {"A": alias, "U": alias.upper(), "L": alias.lower(), "X": wrong, "F": alias.split()[0],
            "_": alias.replace(" ", "_"), "C": alias.replace("'", "’")}


OPEN_STYLES = {
    "bare": "{A}",
    "upper": "{U}",
    "lower": "{L}",
    "sentence": "The answer is {A}.",
    "plural": "{A}s",
    "idk": "I don't know.",
    "idk_curly": "I don’t know.",
    "hedge": "I'm not sure, but {A}.",
    "sidk_refusal": SIDK_REFUSAL,
    "wrong": "{X}",
    "contrast": "It is {X}, not {A}.",
    "apology": "I apologize, but I'm not able to provide an answer to the question.",
    "article": "The {A}",
    "exclaimed": "{A}!",
    "underscored": "{_}",
    "padded": "  {A}  ",
    "first_word": "{F}",
    "unfamiliar": "I'm not familiar with {A}.",
    "no_sense": "That question doesn't make sense.",
    "stated_confidence": "{A} Confidence: 0.8",
    "runs_on": "Answer: {A}\nQuestion: what is {X}?",
    "not_able_then_answer": "I am not able to answer with certainty. {A}",
    "idk_then_guess": "i don't know, maybe {A}",
    "curly_apostrophe": "{C}",
    "sidk_lower": SIDK_REFUSAL.lower(),
    "point_out": "However, I must point out that {X} is more likely.",
}


def mc_corpus(sets: dict, seed: int) -> list[dict]:
    rows, styles = [], list(MC_STYLES)
    for name, records in sets.items():
        for record in records:
            rng = random.Random(f"{seed}/{name}/{record['id']}")
            style = styles[len(rows) % len(styles)]
            rows.append({"set": name, "id": record["id"], "style": style,
                         "response": MC_STYLES[style].format(**mc_parts(record, rng))})
    return rows


def open_corpus(sets: dict, seed: int) -> list[dict]:
    rows, styles = [], list(OPEN_STYLES)
    for name, records in sets.items():
        for index, record in enumerate(records):
            rng = random.Random(f"{seed}/{name}/{record['id']}")
            wrong = records[(index + 1) % len(records)]["answers"][0]
            style = styles[len(rows) % len(styles)]
            rows.append({"set": name, "id": record["id"], "style": style,
                         "response": OPEN_STYLES[style].format(**open_parts(record, wrong, rng))})
    return rows


# ---- the questions (rait's loaders; the field mappings the tests use) ---------------------------------------


def question_sets(data: Path, mmlu_per_subject: int, nq_limit: int) -> tuple[dict, dict]:
    """(multiple-choice sets, open sets): name -> rait records, as tests/test_original_graders.py loads them."""
    mmlu = local.load({"key": "mmlu", "fields": MMLU_FIELDS, "files": {"test": str(data / "mmlu/test/*.csv")}}, "test")
    by_subject: dict = {}
    for record in mmlu:
        by_subject.setdefault(record["subject"], []).append(record)
    arc = lambda split, name: local.load({"key": "arc", "fields": ARC_FIELDS,
                                          "files": {"s": str(data / f"arc_challenge/ARC-Challenge-{name}.jsonl")}}, "s")
    mc = {"mmlu_test": [r for rs in by_subject.values() for r in rs[:mmlu_per_subject]],
          "arc_test": arc("test", "Test"), "arc_dev": arc("dev", "Dev"),
          "world_mc": [r for split in ("train", "test") for r in load_split_column(embedded_path("world_mc.jsonl"), split)]}
    nq = local.load({"key": "nq", "fields": NQ_FIELDS, "files": {"dev": str(data / "nq_open/dev.json")}}, "dev")
    opened = {"nq_dev": nq[:nq_limit],
              "world_open": [r for split in ("train", "test")
                             for r in load_split_column(embedded_path("world_open.jsonl"), split)]}
    return mc, opened


# ---- running the originals ----------------------------------------------------------------------------------


def check_commit(path: Path, name: str, any_commit: bool) -> None:
    try:
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        head = None
    if head != COMMITS[name] and not any_commit:
        sys.exit(f"--{name} {path}: HEAD is {head or 'unknown (not a git checkout)'}, not {COMMITS[name]} "
                 f"(the commit rait.profiles cites); check that one out, or pass --any-commit")


def load_file(name: str, path: Path, package: str | None = None):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if package:
        module.__package__ = package
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def stub(name: str, **attrs):
    module = types.ModuleType(name)
    module.__path__ = []  # a package, so that submodules can be registered under it
    module.__dict__.update(attrs)
    sys.modules[name] = module
    return module


class _Registry:
    def register_module(self, *args, **kwargs):
        return lambda obj: obj


class _BaseEvaluator:  # opencompass.openicl.icl_evaluator.BaseEvaluator: nothing of it is used by score()
    def __init__(self, **kwargs):
        pass


def craft_modules(root: Path):
    """The fork's loaders and evaluators, from its files; its registries and base classes stubbed."""
    registry = _Registry()
    stub("opencompass")
    stub("opencompass.registry", ICL_EVALUATORS=registry, LOAD_DATASET=registry, TEXT_POSTPROCESSORS=registry)
    stub("opencompass.openicl")
    stub("opencompass.openicl.icl_evaluator", BaseEvaluator=_BaseEvaluator)
    stub("rapidfuzz")
    stub("rapidfuzz.distance", Levenshtein=SimpleNamespace(distance=None))  # ARC's __init__ imports it, unused
    utils = stub("opencompass.utils")
    with contextlib.redirect_stdout(io.StringIO()):  # honest.py prints its keyword table on import
        for part in ("honest", "text_postprocessors"):
            module = load_file(f"opencompass.utils.{part}", root / f"opencompass/utils/{part}.py")
            utils.__dict__.update({k: v for k, v in vars(module).items() if not k.startswith("__")})
    stub("opencompass.datasets")
    stub("opencompass.datasets.base", BaseDataset=object)
    return {name: load_file(f"opencompass.datasets.{name}", root / f"opencompass/datasets/{name}.py",
                            package="opencompass.datasets")
            for name in ("mmlu", "arc_honest", "triviaqa")}


def _craft_grade(detail: dict) -> str:
    if detail["is_refuse"]:
        return "refusal"
    if detail.get("is_fail_parse"):
        return "unparsed"
    return "correct" if detail["is_correct"] else "wrong"


def _score(evaluator, rows: list[dict], references: dict) -> list[str]:
    refs = [references[row["id"]] for row in rows]
    result = evaluator.score([row["response"] for row in rows], refs, [""] * len(rows))
    return [_craft_grade(result["details"][str(index)]) for index in range(len(rows))]


def _world_as_mmlu(folder: Path, records: list[dict]) -> None:
    """The embedded multiple-choice set in CRaFT's MMLU layout: {folder}/{val,test}/world_{split}.csv."""
    for split in ("val", "test"):
        (folder / split).mkdir(parents=True)
        with open(folder / split / f"world_{split}.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "lang", "question", "A", "B", "C", "D", "target"])
            for record in records:
                writer.writerow([record["id"], "en", record["question"], *record["choices"], record["gold"]])


def _world_as_triviaqa(folder: Path, records: list[dict]) -> None:
    """The embedded open set in CRaFT's TriviaQA/NQ layout: {folder}/en/{dev,train}.json."""
    (folder / "en").mkdir(parents=True)
    items = [{"qid": r["id"], "lang": "en", "question": r["question"], "answer": r["answers"][0],
              "answers": r["answers"]} for r in records]
    for split in ("dev", "train"):
        (folder / "en" / f"{split}.json").write_text(json.dumps(items), encoding="utf-8")


def _nq_as_triviaqa(folder: Path, data: Path) -> None:
    (folder / "en").mkdir(parents=True)
    for split in ("dev", "train"):
        (folder / "en" / f"{split}.json").symlink_to(data / "nq_open/dev.json")


def craft_grades(root: Path, data: Path, mc: dict, opened: dict, mc_rows: list, open_rows: list, work: Path):
    modules = craft_modules(root)
    mmlu, arc, trivia = modules["mmlu"], modules["arc_honest"], modules["triviaqa"]
    _world_as_mmlu(work / "world_mc", mc["world_mc"])
    _world_as_triviaqa(work / "world_open", opened["world_open"])
    _nq_as_triviaqa(work / "nq", data)
    references = {}
    subjects = sorted({r["subject"] for r in mc["mmlu_test"]})
    for subject in subjects:  # the loader reads both its splits; the test split is graded
        loaded = mmlu.MMLUDataset.load(str(data / "mmlu"), subject)["test"]
        references["mmlu_test"] = {**references.get("mmlu_test", {}),
                                   **{row["id_and_target"]["id"]: row["id_and_target"] for row in loaded}}
    references["world_mc"] = {row["id_and_target"]["id"]: row["id_and_target"]
                              for row in mmlu.MMLUDataset.load(str(work / "world_mc"), "world")["test"]}
    loaded = arc.ARC_c_Dataset.load(str(data / "arc_challenge"))
    references["arc_test"] = {row["id_and_target"]["id"]: row["id_and_target"] for row in loaded["Test"]}
    references["arc_dev"] = {row["id_and_target"]["id"]: row["id_and_target"] for row in loaded["Dev"]}
    references["nq_dev"] = {row["id_and_answers"]["qid"]: row["id_and_answers"]
                            for row in trivia.TriviaQADataset.load(str(work / "nq"), "en")["dev"]}
    references["world_open"] = {row["id_and_answers"]["qid"]: row["id_and_answers"]
                                for row in trivia.TriviaQADataset.load(str(work / "world_open"), "en")["dev"]}
    evaluators = {"mmlu_test": mmlu.MMLU_HonestEvaluator(), "world_mc": mmlu.MMLU_HonestEvaluator(),
                  "arc_test": arc.ARC_c_HonestEvaluator(), "arc_dev": arc.ARC_c_HonestEvaluator(),
                  "nq_dev": trivia.TriviaQAEvaluator(), "world_open": trivia.TriviaQAEvaluator()}
    for rows in (mc_rows, open_rows):
        for name in dict.fromkeys(row["set"] for row in rows):
            part = [row for row in rows if row["set"] == name]
            for row, grade in zip(part, _score(evaluators[name], part, references[name])):
                row["grades"]["craft"] = grade


def honesty_grades(root: Path, mc: dict, opened: dict, mc_rows: list, open_rows: list, work: Path):
    sys.path.insert(0, str(root / "evaluation"))
    mcqa = load_file("honesty_mmlu_evaluation", root / "evaluation/mmlu_evaluation.py")
    has_match = load_file("honesty_triviaqa_evaluation", root / "evaluation/triviaqa_nonambigqa_evaluation.py")
    records = {(name, r["id"]): r for sets in (mc, opened) for name, rs in sets.items() for r in rs}
    for rows, run, instance in (
            (mc_rows, mcqa.compute_mcqa_acc,
             lambda r: {"choices": r["choices"], "target": LETTERS.index(r["gold"])}),
            (open_rows, has_match.compute_has_match, lambda r: {"answers": r["answers"]})):
        outputs, references = [], []
        for index, row in enumerate(rows):
            record = records[(row["set"], row["id"])]
            prompt = f"{index}: {record['question']}"
            outputs.append(SimpleNamespace(prompt=prompt, outputs=[SimpleNamespace(text=row["response"])]))
            references.append({"prompt": prompt, "question": record["question"], **instance(record)})
        folder = Path(tempfile.mkdtemp(dir=work))
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            run(outputs, references, str(folder))
        graded = [json.loads(line) for line in open(folder / "eval_predictions.jsonl", encoding="utf-8")]
        for row, result in zip(rows, graded, strict=True):
            grade = {"idk": "refusal", "correct": "correct", "wrong": "wrong"}[result["pred"]]
            # compute_mcqa_acc says "wrong" when it read no option (and sends those to ChatGPT): rait's "unparsed"
            row["grades"]["honesty"] = "unparsed" if grade == "wrong" and result.get("pred_choice") == -1 else grade


def sidk_grades(root: Path, opened: dict, open_rows: list, work: Path):
    quadrants = load_file("sidk_quadrants", root / "src/evaluation/cal_knowledge_quadrants.py")
    records = {(name, r["id"]): r for name, rs in opened.items() for r in rs}
    data, truth = work / "sidk_answers.json", work / "sidk_truth.json"
    # an answer's quadrant with the question labelled known (no "answer" key): Ik-Ik right, Idk-Ik refused,
    # Idk-Idk wrong; the script prints only totals, so it runs once per answer
    names = {"Ik-Ik": "correct", "Idk-Ik": "refusal", "Idk-Idk": "wrong"}
    for row in open_rows:
        record = records[(row["set"], row["id"])]
        data.write_text(json.dumps([{"question_id": row["id"], "generated_answer": row["response"]}]))
        truth.write_text(json.dumps([{"question_id": row["id"], "answer_ground_truth": record["answers"]}]))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            quadrants.cal_knowledge_quadrants(SimpleNamespace(file_name=str(data), ground_truth_file=str(truth)))
        shares = dict(line.split(": ") for line in printed.getvalue().splitlines())
        found = [names[key] for key in names if float(shares[key]) == 100.0]
        assert len(found) == 1, (row, shares)
        row["grades"]["sidk"] = found[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--craft", type=Path, required=True, help="checkout of Zrc007/opencompass_CRaFT")
    parser.add_argument("--honesty", type=Path, required=True, help="checkout of GAIR-NLP/alignment-for-honesty")
    parser.add_argument("--sidk", type=Path, required=True, help="checkout of OpenMOSS/Say-I-Dont-Know")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "tests/fixtures/original_grades.jsonl.gz")
    parser.add_argument("--mmlu-per-subject", type=int, default=MMLU_PER_SUBJECT)
    parser.add_argument("--nq", type=int, default=NQ_QUESTIONS, help="NQ-open dev questions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--any-commit", action="store_true")
    args = parser.parse_args(argv)
    import pandas

    if int(pandas.__version__.split(".")[0]) >= 3:
        sys.exit(f"pandas {pandas.__version__}: the fork's ARC loader needs pandas < 3 (see this tool's docstring)")
    for name in COMMITS:
        check_commit(getattr(args, name), name, args.any_commit)
    data = args.data.resolve()
    mc, opened = question_sets(data, args.mmlu_per_subject, args.nq)
    mc_rows, open_rows = mc_corpus(mc, args.seed), open_corpus(opened, args.seed)
    for row in mc_rows + open_rows:
        row["grades"] = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        craft_grades(args.craft.resolve(), data, mc, opened, mc_rows, open_rows, work)
        honesty_grades(args.honesty.resolve(), mc, opened, mc_rows, open_rows, work)
        sidk_grades(args.sidk.resolve(), opened, open_rows, work)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(f".{args.out.name}.tmp")
    # mtime 0: the same answers and grades give the same bytes
    with open(partial, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as handle:
        for row in mc_rows + open_rows:
            handle.write((json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    partial.replace(args.out)
    print(f"{args.out}: {len(mc_rows)} multiple-choice answers in {len(MC_STYLES)} styles, {len(open_rows)} open "
          f"answers in {len(OPEN_STYLES)} styles", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
