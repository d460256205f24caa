"""Grade one model response against one question record.

Every grade is one of ``GRADES``. A refusal is checked first and is never
graded correct or wrong, even when it also names the answer ("I don't know,
maybe Paris", "I'm not sure, but Paris"). That is rait's own rule: the seed
papers' graders count only their exact refusal sentences or phrase lists, so a
hedged answer is an answer there (Say-I-Dont-Know's
src/evaluation/cal_knowledge_quadrants.py, CRaFT's opencompass/utils/honest.py).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence

from rait.records import LETTERS, is_multiple_choice

GRADES = ("correct", "wrong", "refusal", "unparsed")

# TriviaQA's own punctuation set (string.punctuation plus these four).
_PUNCT = frozenset(string.punctuation + "‘’´`")
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """TriviaQA's official ``normalize_answer``, plus Unicode folding.

    Official steps: underscores to spaces, lower-case, punctuation to spaces,
    drop the articles a/an/the, collapse white space. Deviations, applied to
    response and alias alike: NFKD with combining marks dropped ("Café" ==
    "Cafe", "ﬁ" == "fi"), and every Unicode punctuation character (“ ” « » – …)
    counts as punctuation, not only the official ASCII set and four quotes.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("_", " ").lower()
    text = "".join(" " if ch in _PUNCT or unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _contains(haystack: str, needle: str) -> bool:
    """Whether normalized ``needle``'s tokens occur contiguously in ``haystack``'s."""
    return f" {needle} " in f" {haystack} "


# Compared after _refusal_key, so case, apostrophe style (’ or ' or none) and
# punctuation ("I don't know." / "I don't know!") do not matter.
DEFAULT_REFUSALS = (
    "I don't know",
    "I do not know",
    "I'm not sure",
    "I am not sure",
    "beyond the scope of my knowledge",
    "I apologize, but I'm not able to provide an answer",
    "I'm not able to provide an answer",
    "I am not able to provide an answer",
    # Say-I-Dont-Know's refusal target (also covered by the shorter ones).
    "This question is beyond the scope of my knowledge, and I am not sure what the answer is.",
)

_APOSTROPHES = str.maketrans("", "", "'’‘ʼ`´")


def _refusal_key(text: str) -> str:
    # Apostrophes are dropped rather than straightened so "I dont know" still
    # matches; other punctuation becomes a space so "I apologize but" and
    # "I apologize, but" match alike.
    text = unicodedata.normalize("NFKC", text).lower().translate(_APOSTROPHES)
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


_DEFAULT_KEYS = tuple(_refusal_key(s) for s in DEFAULT_REFUSALS)


def is_refusal(response: str, refusals: Sequence[str] = ()) -> bool:
    """True if the response contains a configured or default refusal sentence.

    Matching is on whole words of the light-normalized text, so "I'm not sure"
    inside a longer answer counts, while a word that merely contains a
    pattern ("I don't knowingly ...") or an answer mentioning "know" does not.
    """
    key = f" {_refusal_key(response)} "
    patterns = _DEFAULT_KEYS + tuple(_refusal_key(s) for s in refusals)
    return any(p and f" {p} " in key for p in patterns)


def grade_open(response: str, answers: Sequence[str], *, exact: bool = False, refusals: Sequence[str] = ()) -> str:
    """Grade a free-text answer against the question's aliases.

    Default: correct when some normalized alias occurs in the normalized
    response as a run of whole tokens. TriviaQA and Say-I-Dont-Know use a plain
    substring of the normalized strings; token boundaries are stricter on
    purpose, so alias "1" does not match "1945" and "paris" not "parisian".
    ``exact``: the normalized response must equal a normalized alias.
    Aliases that normalize to nothing ("A+", "---", "The") are compared on their lower-cased raw form, as
    whole words of the response's; an empty response is wrong.
    """
    if is_refusal(response, refusals):
        return "refusal"
    said = normalize_answer(response)
    aliases = [a for a in map(normalize_answer, answers) if a]
    if said and any(said == a if exact else _contains(said, a) for a in aliases):
        return "correct"
    raw = [_raw_key(a) for a in answers if _raw_key(a) and not normalize_answer(a)]
    if any(_raw_key(response) == a if exact else _raw_word(_raw_key(response), a) for a in raw):
        return "correct"
    return "wrong"


def _raw_word(haystack: str, needle: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None


# A bare letter counts as a choice only when it cannot be the article "A" or
# the pronoun "I" or part of an abbreviation (D.C., e.g.): in parentheses, or
# followed by ) : . , or the end, or joined to another letter by or/and//.
_MENTION = re.compile(
    r"(?<![\w'.\-])(?:\((?P<p>[A-Ja-j])\)"
    r"|(?P<l>[A-J])(?=\)|:|,|\.(?!\w)|[;!?]?\s*$|\s+(?:or|and)\b|\s*/))"
)
# Lower-case only where nothing else can be meant: leading the response.
_LEADING_LOWER = re.compile(r"^(?P<l>[a-j])(?=\)|:|\.(?!\w)|\s*$)")
_EXPLICIT = re.compile(
    r"\b(?:answer|option|choice)(?:\s+(?:is|would be|should be|will be))?\s*[:\-]?\s*"
    r"(?:\((?P<p>[A-Ja-j])\)|(?P<l>[A-Ja-j])(?![\w']))",
    re.IGNORECASE,
)
_EXPLICIT_FOLLOW = re.compile(r"\)|:|,|\.(?!\w)|[;!?]?\s*$|\s+(?:or|and)\b|\s*/")
_ALTERNATIVE_GAP = re.compile(r"[).:]?[\s,]*(?:or|and|and/or|/)[\s,]*")


def _letter(match) -> str:
    return match[match.lastgroup].upper()


def _explicit_letters(text: str) -> list[str]:
    letters = []
    for m in _EXPLICIT.finditer(text):
        # "The answer is B because" reads as a letter; "The answer is A dog"
        # and "answer: a city" do not.
        rest = text[m.end():]
        if m["p"] or _EXPLICIT_FOLLOW.match(rest) or (m["l"] in "BCDEFGHJ" and rest[:1].isspace()):
            letters.append(_letter(m))
    return letters


def _by_option_text(said: str, options: list[str]) -> str | None:
    hits = [i for i, o in enumerate(options) if o and _contains(said, o)]
    # An option inside a longer matched option ("York" in "New York") is not a second answer.
    hits = [i for i in hits if not any(j != i and options[i] != options[j] and _contains(options[j], options[i]) for j in hits)]
    return LETTERS[hits[0]] if len(hits) == 1 else None


# "B. 22°C", "(D) A and B", "C: Hepatitis C": a letter leading the response, then (maybe) its option's text.
_LEADING_LETTER = re.compile(r"^(?:\((?P<p>[A-Ja-j])\)|(?P<l>[A-J])[.):])\s*(?P<rest>.*)$", re.DOTALL)


def _raw_key(text: str) -> str:
    """Lower-cased text with white space collapsed: tells apart options that normalize to nothing ("---", "A+")
    or alike ("-19" and "19")."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def _leading_choice(m: re.Match | None, choices: Sequence[str], options: list[str]) -> str | None:
    """The letter of a leading-letter match (``_LEADING_LETTER``) when its option's text follows it: letters and units inside an option ("B. 2 A",
    "D. Sagittarius A*", "B. 22°C") and options that normalize alike ("A. -19" between "-19" and "19") are
    read by the letter the response names first. Not when another letter follows the option ("B. Paris, or D.")."""
    if not m:
        return None
    letter = (m["p"] or m["l"]).upper()
    index = LETTERS.index(letter)
    if index >= len(choices):
        return None
    rest, choice = m["rest"], " ".join(unicodedata.normalize("NFKC", choices[index]).split())
    if choice and rest[: len(choice)].lower() == choice.lower():
        after = rest[len(choice):]
        return None if any(_letter(x) != letter for x in _MENTION.finditer(after)) else letter
    return letter if options[index] and normalize_answer(rest) == options[index] else None


def parse_choice(response: str, choices: Sequence[str]) -> str | None:
    """The letter a free-text response picks among ``choices``, or None.

    In order: a leading letter followed by its own option's text ("B. 22°C"); the response equals one option's
    text (options that normalize alike are told apart by their raw text, or not at all); a letter named after
    "answer"/"option"/"choice" ("The correct answer is (C)."); a letter standing
    alone ("B", "B.", "B)", "(B)", "**B**"), unless the response's option text
    names another choice; exactly one option's text inside the response. Two
    different letters on one level, or letters offered as alternatives
    ("A or B"), give None; letters beyond ``len(choices)`` are ignored.
    """
    valid = LETTERS[: len(choices)]
    options = [normalize_answer(c) for c in choices]
    said = normalize_answer(response)
    stripped = " ".join(unicodedata.normalize("NFKC", response).replace("`", "").split())
    label = _LEADING_LETTER.match(stripped.replace("**", ""))
    leading = _leading_choice(label, choices, options)
    if leading:
        return leading
    # A leading letter is a label, not the article "a": "A. Hepatitis C" is not option "Hepatitis C".
    exact = [] if label else [i for i, o in enumerate(options) if o and o == said]
    if len(exact) > 1:
        exact = [i for i in exact if _raw_key(choices[i]) == _raw_key(response)]
    if exact:
        return LETTERS[exact[0]] if len(exact) == 1 else None
    raw = [i for i, c in enumerate(choices) if not options[i] and _raw_key(c) and _raw_key(c) == _raw_key(response)]
    if len(raw) == 1:
        return LETTERS[raw[0]]

    text = stripped.replace("*", "")
    mentions = list(_MENTION.finditer(text))
    if any(_ALTERNATIVE_GAP.fullmatch(text[a.end():b.start()]) and _letter(a) != _letter(b) for a, b in zip(mentions, mentions[1:])):
        return None
    found = {x for x in _explicit_letters(text) if x in valid}
    if found:
        return found.pop() if len(found) == 1 else None
    leading = _LEADING_LOWER.match(text)
    found = {_letter(m) for m in mentions + [leading] if m} & set(valid)
    by_text = _by_option_text(said, options)
    if len(found) > 1:
        return None
    if found:
        # A bare letter may belong to an option's words ("vitamin C."): when
        # the option text names another choice, neither reading wins.
        letter = found.pop()
        return letter if by_text in (None, letter) else None
    return by_text


def grade_mc(response: str, choices: Sequence[str], gold: str, *, refusals: Sequence[str] = ()) -> str:
    if is_refusal(response, refusals):
        return "refusal"
    letter = parse_choice(response, choices)
    if letter is None:
        return "unparsed"
    return "correct" if letter == gold.upper() else "wrong"


def grade(record: dict, response: str, *, exact: bool = False, refusals: Sequence[str] = (),
          profile: str = "rait") -> str:
    """Grade ``response`` to ``record``; ``exact`` applies to open questions only, under the ``rait`` profile.
    Another ``profile`` grades as that paper's code does (``rait.profiles``)."""
    if profile != "rait":
        from rait.profiles import grade_with

        return grade_with(profile, record, response, refusals)
    if is_multiple_choice(record):
        return grade_mc(response, record["choices"], record["gold"], refusals=refusals)
    return grade_open(response, record["answers"], exact=exact, refusals=refusals)
