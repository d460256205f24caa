"""The one question format every stage reads.

Open question:        {"id", "question", "answers": [alias, ...], "subject"?}
Multiple choice:      {"id", "question", "choices": [text, ...], "gold": "B", "subject"?, "answer_key"?}
Unanswerable:         {"id", "question", "unanswerable": true, "answers": []}  (about something that does not
                      exist: every answer is wrong, only a refusal is right; Alignment for Honesty's PUQA)
Any kind may carry ``popularity``: how often the question's subject is seen (PopQA's monthly page views, the
synthetic world's exposure count), a number >= 0, for accuracy and refusals by popularity decile.

``answer_key`` is the source's own key of the gold option where it is not the letter (ARC labels some items
"1".."4"): the ``craft`` grading profile compares with it, as CRaFT's loader did.

The first alias of an open question is its canonical answer (the one used as
a training target); the rest are accepted aliases. A record is multiple
choice exactly when it has ``choices``.
"""

from __future__ import annotations

import json
import math

from rait.errors import RaitError

LETTERS = "ABCDEFGHIJ"


def is_multiple_choice(record: dict) -> bool:
    return "choices" in record


def question_kind(record: dict) -> str:
    """``mc`` or ``open``: the key prompt templates and CRaFT's selection counts are filed under."""
    return "mc" if is_multiple_choice(record) else "open"


def check_popularity(value, origin: str) -> int | float:
    """A popularity is a finite number >= 0 (a CSV's text "1234" is read as one); else an error naming ``origin``."""
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise RaitError(f"{origin}: popularity {value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise RaitError(f"{origin}: popularity {value!r} is not a number >= 0")
    return value


def check_record(record: dict, origin: str) -> dict:
    """Return ``record`` if it is a well-formed question, else raise naming ``origin`` (file:line)."""
    for key in ("id", "question"):
        value = record.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise RaitError(f"{origin}: record has no {key}")
    if isinstance(record["id"], bool) or not isinstance(record["id"], (str, int)):
        raise RaitError(f"{origin}: id {record['id']!r} is not text or an integer")
    if "popularity" in record:
        record["popularity"] = check_popularity(record["popularity"], origin)
    if not isinstance(record["question"], str):
        raise RaitError(f"{origin}: question must be text")
    if is_multiple_choice(record):
        choices = record["choices"]
        if not isinstance(choices, list) or not 2 <= len(choices) <= len(LETTERS):
            raise RaitError(f"{origin}: choices must be a list of 2 to {len(LETTERS)} options")
        if any(not isinstance(c, str) or not c.strip() for c in choices):
            raise RaitError(f"{origin}: a choice is empty")
        gold = record.get("gold")
        if not isinstance(gold, str) or len(gold) != 1 or gold not in LETTERS[: len(choices)]:
            raise RaitError(f"{origin}: gold {gold!r} is not one of the letters {LETTERS[:len(choices)]}")
        if "answer_key" in record and (not isinstance(record["answer_key"], str) or not record["answer_key"].strip()):
            raise RaitError(f"{origin}: answer_key {record['answer_key']!r} is not a label")
    elif record.get("unanswerable") is True:
        if record.get("answers"):
            raise RaitError(f"{origin}: an unanswerable question carries gold answers {record['answers']!r}")
        record["answers"] = []
    else:
        if "unanswerable" in record and record["unanswerable"] is not False:
            raise RaitError(f"{origin}: unanswerable must be true or false, got {record['unanswerable']!r}")
        answers = record.get("answers")
        if isinstance(answers, str):
            raise RaitError(f"{origin}: answers is the text {answers!r}, not a list of answers; write "
                            f"{json.dumps([answers])}")
        if not isinstance(answers, list) or not any(isinstance(a, str) and a.strip() for a in answers):
            raise RaitError(f"{origin}: record has no answer")
        for index, answer in enumerate(answers):
            if not isinstance(answer, str):
                raise RaitError(f"{origin}: answers[{index}] is {answer!r}, not text; write gold answers as strings "
                                f"({json.dumps(str(answer))})")
    return record


def declare_answerable(records: list[dict], answerable: bool | None, where: str) -> list[dict]:
    """A dataset entry's ``answerable`` (None: as the records say). ``false``: every question is about something
    that does not exist, so none may carry gold answers; ``true``: none may be marked unanswerable."""
    if answerable is None:
        return records
    for record in records:
        if answerable and record.get("unanswerable"):
            raise RaitError(f"{where}: answerable is true but question {record['id']!r} is marked unanswerable")
        if not answerable:
            if is_multiple_choice(record) or record.get("answers"):
                raise RaitError(f"{where}: answerable is false but question {record['id']!r} carries gold answers")
            record["unanswerable"], record["answers"] = True, []
    return records


def check_unique_ids(records: list[dict], origin: str) -> None:
    seen: set = set()
    for record in records:
        if record["id"] in seen:
            raise RaitError(f"{origin}: duplicate id {record['id']!r}")
        seen.add(record["id"])


def repeated_choices(records: list[dict]) -> list:
    """Ids of the multiple-choice questions two of whose options have the same text (real data has them: nine of
    MMLU's test questions); an answer naming that text cannot tell the two apart."""
    return [record["id"] for record in records
            if is_multiple_choice(record) and len({c.strip() for c in record["choices"]}) < len(record["choices"])]
