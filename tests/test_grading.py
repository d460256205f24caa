import pytest
from shared_data import needs_data, spec_for

from rait.grading import (
    DEFAULT_REFUSALS,
    GRADES,
    grade,
    grade_mc,
    grade_open,
    is_refusal,
    normalize_answer,
    parse_choice,
)
from rait.records import LETTERS

CITIES = ["London", "Paris", "Berlin", "Madrid"]  # gold for "capital of France": B


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Paris", "paris"),
        ("PARIS", "paris"),
        ("The Beatles", "beatles"),
        ("an apple a day", "apple day"),
        ("Theatre", "theatre"),  # article removal is per word
        ("U.S.", "u s"),  # TriviaQA turns punctuation into spaces, not nothing
        ("U.S.A.", "u s"),  # ... so the official quirk drops the "a" as an article
        ("rock-and-roll!", "rock and roll"),
        ("  New \t York \n", "new york"),
        ("snake_case", "snake case"),
        ("Ireland’s", "ireland s"),  # curly apostrophe behaves as the straight one
        ("Ireland's", "ireland s"),
        ("“Quoted”", "quoted"),
        ("‘single’", "single"),
        ("Café Müller", "cafe muller"),
        ("ﬁsh", "fish"),
        ("", ""),
        ("The", ""),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(
    "response",
    [
        "I don't know",
        "I don’t know",
        "i DON'T KNOW.",
        "I don't know!",
        "I don't know...",
        "I dont know",
        "I do not know.",
        "I do not know the answer to that question.",
        "I'm not sure",
        "I’m not sure.",
        "I am not sure?",
        "I'm not sure, but I think it is Paris.",
        "Paris, although I'm not sure.",
        "That is beyond the scope of my knowledge.",
        "I apologize, but I'm not able to provide an answer",
        "I apologize, but I’m not able to provide an answer to this question.",
        "I apologize but I am not able to provide an answer.",
        "This question is beyond the scope of my knowledge, and I am not sure what the answer is.",
        "This question is beyond the scope of my knowledge, and I am not sure what the answer is",
        "THIS QUESTION IS BEYOND THE SCOPE OF MY KNOWLEDGE, AND I AM NOT SURE WHAT THE ANSWER IS!",
    ],
)
def test_refusals_are_detected(response):
    assert is_refusal(response) is True


@pytest.mark.parametrize("sentence", DEFAULT_REFUSALS)
def test_every_default_refusal_matches_itself_in_both_apostrophe_styles(sentence):
    assert is_refusal(sentence)
    assert is_refusal(sentence.replace("'", "’").upper() + "!")


@pytest.mark.parametrize(
    "response",
    [
        "Paris",
        "I know it is Paris.",
        "Nobody knows for certain, but it is Paris.",
        "Unknown",
        "I don't knowingly guess: Paris.",
        "I'm sure it is Paris.",
        "",
    ],
)
def test_non_refusals(response):
    assert is_refusal(response) is False


@pytest.mark.parametrize(
    "response, refusals, expected",
    [
        ("No idea!", ["No idea."], True),
        ("no   IDEA, sorry", ["  No idea! "], True),
        ("I can’t say.", ["I can't say"], True),
        ("No idea!", [], False),
        ("Paris", [""], False),  # an empty configured sentence must not match everything
        ("Paris", ["Par"], False),  # whole words only
    ],
)
def test_configured_refusals(response, refusals, expected):
    assert is_refusal(response, refusals) is expected


@pytest.mark.parametrize(
    "response, answers, expected",
    [
        ("Paris", ["Paris"], "correct"),
        ("The answer is Paris.", ["Paris"], "correct"),
        ("It's PARIS!", ["paris"], "correct"),
        ("The capital is the city of Paris, France", ["Paris, France"], "correct"),
        ("London", ["Paris"], "wrong"),
        ("Parisian food", ["Paris"], "wrong"),
        ("It ended in 1945.", ["1"], "wrong"),
        ("It ended in 1945.", ["1945"], "correct"),
        ("Number 1.", ["1"], "correct"),
        ("The Beatles", ["Beatles"], "correct"),
        ("It was Ringo Starr", ["Richard Starkey", "Ringo Starr"], "correct"),
        ("Ireland’s capital", ["Ireland's capital"], "correct"),
        ("Cafe de Flore", ["Café de Flore"], "correct"),
        ("", ["Paris"], "wrong"),
        ("   ", ["Paris"], "wrong"),
        ("Paris", ["", "  ", "The"], "wrong"),  # aliases that normalize to nothing are ignored
        ("anything", [""], "wrong"),
    ],
)
def test_grade_open_substring(response, answers, expected):
    assert grade_open(response, answers) == expected


@pytest.mark.parametrize(
    "response, expected",
    [
        ("Paris", "correct"),
        ("paris.", "correct"),
        ("The Paris", "correct"),
        ("It is Paris", "wrong"),
        ("Paris, France", "wrong"),
    ],
)
def test_grade_open_exact(response, expected):
    assert grade_open(response, ["Paris"], exact=True) == expected


@pytest.mark.parametrize(
    "response",
    [
        "I don't know, maybe Paris",
        "I’m not sure, but Paris",
        "Paris? I am not sure.",
        "This question is beyond the scope of my knowledge, and I am not sure what the answer is.",
    ],
)
def test_refusal_is_never_correct(response):
    assert grade_open(response, ["Paris"]) == "refusal"
    assert grade_open(response, ["Paris"], exact=True) == "refusal"


def test_configured_refusal_in_grade_open():
    assert grade_open("Pass.", ["Paris"], refusals=["pass"]) == "refusal"
    assert grade_open("Pass.", ["Paris"]) == "wrong"


@pytest.mark.parametrize(
    "response, expected",
    [
        ("B", "B"),
        ("(B)", "B"),
        ("B.", "B"),
        ("B)", "B"),
        ("B:", "B"),
        ("  B  ", "B"),
        ("Answer: B", "B"),
        ("answer: b.", "B"),
        ("The answer is B) Paris", "B"),
        ("The answer is B because Paris is the capital.", "B"),
        ("The correct answer is (C).", "C"),
        ("**B**", "B"),
        ("**B.** Paris", "B"),
        ("Answer: **D**", "D"),
        ("B. Paris", "B"),
        ("b.", "B"),
        ("b", "B"),
        ("b) Paris", "B"),
        ("(d)", "D"),
        ("I choose D.", "D"),
        ("I think the answer is B.", "B"),  # the pronoun I is not letter I
        ("A.", "A"),
        ("A", "A"),
        ("A) London", "A"),
        ("A: London", "A"),
    ],
)
def test_parse_choice_letter_forms(response, expected):
    assert parse_choice(response, CITIES) == expected


@pytest.mark.parametrize(
    "response, expected",
    [
        ("Paris", "B"),
        ("paris.", "B"),
        ("It is Paris.", "B"),
        ("The capital of Spain is Madrid", "D"),
    ],
)
def test_parse_choice_option_text(response, expected):
    assert parse_choice(response, CITIES) == expected


def test_parse_choice_prefers_the_longer_nested_option():
    assert parse_choice("New York", ["York", "New York"]) == "B"
    assert parse_choice("I'd say New York City.", ["York", "New York"]) == "B"
    assert parse_choice("York", ["York", "New York"]) == "A"


@pytest.mark.parametrize(
    "response",
    [
        "A or B",
        "B or C.",
        "(A) or (B)",
        "A/B",
        "A and B",
        "The answer is A or B",
        "Either Paris or London",
        "B. Paris, but D. is also possible",
        "Answer: B. No wait, answer: C.",
    ],
)
def test_parse_choice_ambiguous(response):
    assert parse_choice(response, CITIES) is None


@pytest.mark.parametrize(
    "response, choices, expected",
    [
        ("A dog is a loyal animal.", CITIES, None),  # the article, not choice A
        ("A cat sat on the mat", CITIES, None),
        ("The answer is A dog", CITIES, None),
        ("a dog", CITIES, None),
        ("A dog is loyal.", ["A dog", "A cat"], "A"),  # by option text, not by the article
        ("A cat, surely.", ["A dog", "A cat"], "B"),
    ],
)
def test_parse_choice_article_trap(response, choices, expected):
    assert parse_choice(response, choices) == expected


@pytest.mark.parametrize(
    "response, choices",
    [
        ("C", ["Yes", "No"]),
        ("(C)", ["Yes", "No"]),
        ("Answer: E", CITIES),
        ("The answer is J.", CITIES),
    ],
)
def test_parse_choice_rejects_letters_beyond_choices(response, choices):
    assert parse_choice(response, choices) is None


def test_parse_choice_letter_i_only_when_there_are_nine_choices():
    nine = [f"option {n}" for n in range(1, 10)]
    assert parse_choice("I.", nine) == "I"
    assert parse_choice("I.", CITIES) is None
    assert parse_choice("I think so", nine) is None


@pytest.mark.parametrize(
    "response, choices, expected",
    [
        ("Washington D.C.", ["Boston", "Ottawa", "Chicago", "Denver"], None),  # D.C. is no letter D
        ("i.e. nothing", CITIES, None),
        ("It is vitamin C", ["Vitamin A", "Vitamin B", "Vitamin D", "Vitamin C"], None),  # letter C vs text D
        ("Vitamin C", ["Vitamin A", "Vitamin B", "Vitamin D", "Vitamin C"], "D"),
        ("Bordeaux", CITIES, None),
        ("", CITIES, None),
        ("Rome", CITIES, None),
    ],
)
def test_parse_choice_no_false_letters(response, choices, expected):
    assert parse_choice(response, choices) == expected


@pytest.mark.parametrize(
    "response, expected",
    [
        ("B", "correct"),
        ("The correct answer is (B).", "correct"),
        ("Paris", "correct"),
        ("A", "wrong"),
        ("Berlin", "wrong"),
        ("I don't know", "refusal"),
        ("I’m not sure, but B", "refusal"),
        ("I don't know. B", "refusal"),
        ("A or B", "unparsed"),
        ("Rome", "unparsed"),
        ("", "unparsed"),
        ("E", "unparsed"),
    ],
)
def test_grade_mc(response, expected):
    assert grade_mc(response, CITIES, "B") == expected


def test_grade_mc_configured_refusal():
    assert grade_mc("Pass", CITIES, "B", refusals=["pass"]) == "refusal"
    assert grade_mc("Pass", CITIES, "B") == "unparsed"


OPEN = {"id": "q1", "question": "Capital of France?", "answers": ["Paris", "Paree"]}
MC = {"id": "q2", "question": "Capital of France?", "choices": CITIES, "gold": "B"}


@pytest.mark.parametrize(
    "record, response, kwargs, expected",
    [
        (OPEN, "It is Paris.", {}, "correct"),
        (OPEN, "It is Paris.", {"exact": True}, "wrong"),
        (OPEN, "Paree", {"exact": True}, "correct"),
        (OPEN, "Berlin", {}, "wrong"),
        (OPEN, "I don't know", {}, "refusal"),
        (OPEN, "Pass", {"refusals": ["pass"]}, "refusal"),
        (MC, "B", {}, "correct"),
        (MC, "B", {"exact": True}, "correct"),  # exact is for open questions only
        (MC, "C", {}, "wrong"),
        (MC, "Pass", {"refusals": ["pass"]}, "refusal"),
        (MC, "Rome", {}, "unparsed"),
        (MC, "Paris", {}, "correct"),
    ],
)
def test_grade_dispatch(record, response, kwargs, expected):
    assert grade(record, response, **kwargs) == expected


def test_grades_are_the_four_names():
    assert GRADES == ("correct", "wrong", "refusal", "unparsed")


# Misreads of "<letter>. <option text>" named in issue 12: letters and units inside an option, options that
# normalize alike (the letter decides), options naming letters.
@pytest.mark.parametrize(
    "response, choices, expected",
    [
        ("B. 21°C", ["19°C", "21°C", "30°C", "Higher than 30°C"], "B"),
        ("B. −49°C", ["76°C", "−49°C", "49°C", "−76°C"], "B"),
        ("A. -19", ["-19", "-10", "19", "10"], "A"),
        ("C. 19", ["-19", "-10", "19", "10"], "C"),
        ("D. A and B", ["oxygen", "energy", "organic molecules", "A and B"], "D"),
        ("B. 2 A", ["half, 1 A", "2 A", "depends on the lamp", "not enough information"], "B"),
        ("D. Sagittarius A*", ["Altair A*", "Alsephina A*", "Fomalhaut A*", "Sagittarius A*"], "D"),
        ("D. Hepatitis C", ["Hepatitis A", "Hepatitis B", "Hepatitis E", "Hepatitis C"], "D"),
        ("(D) Hepatitis C", ["Hepatitis A", "Hepatitis B", "Hepatitis E", "Hepatitis C"], "D"),
        ("D. B", ["As", "P", "Sb", "B"], "D"),
        ("A. 687", ["687", "687", "1,493", "1,695"], "A"),
        ("B. (F • L) • ~C", ["F • L • ~C", "(F • L) • ~C", "(F • L) ∨ ~C", "C • (F • L)"], "B"),
        # letter and text disagree: neither wins, as before
        ("A. Hepatitis C", ["Hepatitis A", "Hepatitis B", "Hepatitis E", "Hepatitis C"], None),
        # the option's text followed by another letter offered as an alternative
        ("B. Paris, or D.", ["London", "Paris", "Rome", "Madrid"], None),
        # options that normalize alike without a letter: unreadable
        ("-19", ["-19", "-10", "19", "10"], "A"),
        ("19", ["-19", "-10", "19", "10"], "C"),
        ("---", ["A+", "---", "B", "none"], "B"),
    ],
)
def test_parse_choice_reads_option_texts_with_letters_and_units(response, choices, expected):
    assert parse_choice(response, choices) == expected


@pytest.mark.parametrize(
    "response, answers, expected",
    [
        ("A+", ["A+"], "correct"),
        ("He got an A+ in it.", ["A+"], "correct"),
        ("He got an A in it.", ["A+"], "wrong"),
        ("---", ["---"], "correct"),
        ("B+", ["A+"], "wrong"),
    ],
)
def test_aliases_that_normalize_to_nothing_match_raw(response, answers, expected):
    assert grade_open(response, answers) == expected


@needs_data
def test_every_mmlu_and_arc_test_item_parses_as_its_gold_letter():
    """'<gold letter>. <gold option text>' reads as the gold letter for every MMLU and ARC-Challenge test item
    (111 of 15,214 did not before issue 12's fixes)."""
    from rait.datasets import local

    misread = []
    for name in ("mmlu", "arc_challenge"):
        for record in local.load(spec_for(name), "test"):
            gold = record["gold"]
            response = f"{gold}. {record['choices'][LETTERS.index(gold)]}"
            if parse_choice(response, record["choices"]) != gold:
                misread.append((name, record["id"], response))
    assert misread == []
