"""Multi-sampling: n sampled answers plus one greedy answer per prompt.

Engines take prompts as token ids (already templated by ``rait.prompts``) so
that every engine sees exactly the same input, and return plain text.
An engine is registered in ``ENGINES`` by name; the module is imported only
when chosen, so the transformers path never needs vLLM installed and a vLLM
node never needs anything it does not use.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

from rait.errors import RaitError

log = logging.getLogger(__name__)

ENGINES = {
    "transformers": "rait.sampling.transformers_engine:TransformersEngine",
    "vllm": "rait.sampling.vllm_engine:VllmEngine",
}


@dataclass(frozen=True)
class SamplingSpec:
    n: int = 10
    temperature: float = 1.0
    top_p: float = 0.9
    max_new_tokens: int = 32
    seed: int = 0
    stop: tuple[str, ...] = ()


@dataclass
class Generation:
    greedy: str
    samples: list[str] = field(default_factory=list)


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """Cut ``text`` at the first stop string; engines may overshoot it by a token."""
    cut = len(text)
    for marker in stop:
        index = text.find(marker)
        if index != -1:
            cut = min(cut, index)
    return text[:cut].strip()


def load_engine(name: str, model_path: str, **options):
    """Instantiate engine ``name`` for ``model_path``; options are the model entry's engine settings."""
    target = ENGINES.get(name)
    if target is None:
        raise RaitError(f"unknown sampling engine {name!r}; known: {', '.join(sorted(ENGINES))}")
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise RaitError(f"sampling engine {name!r} is not installed here ({err})") from None
    return getattr(module, class_name)(model_path, **options)


def sample_records(
    records: list[dict],
    model_path: str,
    *,
    engine: str,
    engine_options: dict,
    templates: dict,
    chat: bool,
    spec: SamplingSpec,
    system: str | None = None,
    progress: bool = True,
) -> list[dict]:
    """Sample every record; one output dict per record, in input order, keyed by id."""
    from transformers import AutoTokenizer

    from rait.prompts import encode, prompt_text

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    texts = [prompt_text(tokenizer, record, templates, chat, system) for record in records]
    prompts = [encode(tokenizer, text, chat) for text in texts]
    generations = load_engine(engine, model_path, **engine_options).generate(prompts, spec, progress=progress)
    if len(generations) != len(records):
        raise RuntimeError(f"engine {engine} returned {len(generations)} generations for {len(records)} prompts")
    return [
        {"id": record["id"], "prompt": text, "greedy": gen.greedy, "samples": gen.samples}
        for record, text, gen in zip(records, texts, generations)
    ]


def generate_for(records: list[dict], params) -> list[dict]:
    """``sample_records`` as a workflow rule's generation params say (``generation_params`` in common.smk:
    weights, engine, engine_options, gpus, chat, system, templates, sampling)."""
    settings = dict(params.sampling)
    settings["stop"] = tuple(settings.get("stop", ()))
    spec = SamplingSpec(**settings)
    options = dict(params.engine_options)
    if params.engine == "vllm":
        options.setdefault("tensor_parallel_size", max(1, params.gpus))
        options.setdefault("seed", spec.seed)
    log.info("%s, engine %s %s", spec, params.engine, options)
    return sample_records(records, params.weights, engine=params.engine, engine_options=options,
                          templates=dict(params.templates), chat=params.chat, system=params.system, spec=spec)
