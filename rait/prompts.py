"""From question records to the token ids an engine generates from.

Two styles: ``chat`` wraps the rendered question as one user turn in the
tokenizer's chat template; ``plain`` uses the rendered text as it is (models
with no chat template, such as the synthetic world's tiny LM). Templates are
tokenized without adding special tokens again: a chat template already holds
its BOS, and a second one shifts the model off its training distribution.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence

from rait.errors import RaitError
from rait.records import LETTERS, question_kind


def format_choices(choices: Sequence[str]) -> str:
    return "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(choices))


def format_options(choices: Sequence[str]) -> str:
    """The choices as words in a sentence, without letters ("x, y, z or w").

    Small models copy a lettered list's first letter or pick letters by habit;
    asked to answer in words among unlettered options they answer by content,
    and the grader maps the option text back to its letter.
    """
    choices = list(choices)
    return " or ".join([", ".join(choices[:-1]), choices[-1]]) if len(choices) > 1 else "".join(choices)


# what each kind of question fills a prompt template with (render_question)
TEMPLATE_FIELDS = {"open": ("question",), "mc": ("question", "choices", "options")}


def check_fields(template: str, known: Sequence[str], required: Sequence[str], key: str,
                 known_as: str = "the template may use") -> str:
    """Raise RaitError naming config ``key`` when ``template`` would not render with the fields ``known``:
    unbalanced braces, a field it does not provide (``{gold.__class__}`` and ``{gold[0]}`` are not ``{gold}``), a
    positional field, a format spec or conversion, or a ``required`` field missing."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as err:
        raise RaitError(f"{key}: not a valid template ({err}); a literal brace is written {{{{ or }}}}") from None
    fields = set()
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in known:
            raise RaitError(f"{key}: unknown field {{{field}}}; {known_as} "
                            + ", ".join(f"{{{name}}}" for name in known))
        if spec or conversion:
            raise RaitError(f"{key}: field {{{field}}} takes no format spec or conversion (its value is text)")
        fields.add(field)
    missing = [name for name in required if name not in fields]
    if missing:
        raise RaitError(f"{key}: the template has no " + ", ".join(f"{{{name}}}" for name in missing))
    return template


def check_template(template: str, kind: str, key: str) -> None:
    """A prompt template of ``kind`` questions: the fields they provide (``TEMPLATE_FIELDS``), and a question."""
    check_fields(template, TEMPLATE_FIELDS[kind], ("question",), key, known_as=f"{kind} questions provide")


def render_question(record: dict, templates: Mapping[str, str]) -> str:
    """Fill the instruction template for the record's kind (``open`` or ``mc``)."""
    kind = question_kind(record)
    template = templates.get(kind)
    if template is None:
        raise RaitError(f"no prompt template for {kind} questions (config key prompts.{kind})")
    try:
        choices = record.get("choices", ())
        return template.format(question=record["question"], choices=format_choices(choices),
                               options=format_options(choices))
    except (KeyError, IndexError) as err:
        raise RaitError(f"prompt template prompts.{kind} has an unknown field {err}") from None


# The one place a conversation is built: sampling, training, the reward model, R-Tuning's follow-up and CUT's
# judged prompts all ask these, so that a model is asked a question the same way everywhere.


def chat_prompt(prompt: str, system: str | None) -> list[dict]:
    """The messages of a question: the system prompt (if any), then the user's."""
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": prompt})
    return messages


def assistant(text: str) -> list[dict]:
    return [{"role": "assistant", "content": text}]


def plain_completion(prompt: str, answer: str) -> str:
    """The answer as a plain-text completion: one space between prompt and answer (eos is added by TRL)."""
    if prompt[-1:].isspace() or answer[:1].isspace():
        return answer
    return " " + answer


def as_chat_text(tokenizer, user_text: str, system: str | None = None) -> str:
    if not getattr(tokenizer, "chat_template", None):
        raise RaitError("the model has no chat template; set its `chat: false` in config")
    return tokenizer.apply_chat_template(chat_prompt(user_text, system), add_generation_prompt=True, tokenize=False)


def prompt_text(tokenizer, record: dict, templates: Mapping[str, str], chat: bool, system: str | None = None) -> str:
    text = render_question(record, templates)
    return as_chat_text(tokenizer, text, system) if chat else text


def encode(tokenizer, text: str, chat: bool) -> list[int]:
    # Plain prompts get the tokenizer's usual specials (BOS where it has one);
    # chat text already carries them.
    return tokenizer(text, add_special_tokens=not chat)["input_ids"]
