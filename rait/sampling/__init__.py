"""Multi-sampling: n sampled answers plus one greedy answer per prompt.

Engines take prompts as token ids (already templated by ``rait.prompts``) so
that every engine sees exactly the same input, and return plain text.
An engine is registered in ``ENGINES`` by name; the module is imported only
when chosen, so the transformers path never needs vLLM installed and a vLLM
node never needs anything it does not use.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

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


def shard_count(size: int | None, shard_size: int) -> int:
    """Shards a split of ``size`` questions is sampled in (one when the size is unknown or small)."""
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise RaitError(f"sampling.shard_size must be a whole number >= 1, got {shard_size!r}")
    return max(1, -(-size // shard_size)) if size else 1


def shard_of(records: list, index: int, count: int) -> list:
    """Shard ``index`` of ``count`` (contiguous, sizes within one of each other; every record in exactly one)."""
    if not 0 <= index < count:
        raise RaitError(f"shard {index} of {count} does not exist")
    size = len(records)
    return records[index * size // count: (index + 1) * size // count]


def job_digest(params, inputs) -> str:
    """A digest of everything a job's output depends on: its params and its input files' modification times (a
    retrained checkpoint is a new folder, a re-prepared file a new file)."""
    key = {"params": params, "inputs": {path: os.path.getmtime(path) for path in inputs}}
    return _digest(key)


def _digest(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


class PartFile:
    """Sampled records streamed to disk as batches finish, so a killed job resumes where it stopped.

    The first line names what the records were sampled with (``key``: model, prompts, sampling settings); a
    part file written under another key is discarded, never mixed in. A last line cut short by a kill is
    ignored. The workflow removes the file once the complete output is in place."""

    def __init__(self, path: str | os.PathLike, key: dict | str):
        self.path = Path(path)
        self.header = json.dumps({"rait_part": key if isinstance(key, str) else _digest(key)})

    @classmethod
    def beside(cls, output: str | os.PathLike, params: dict, inputs) -> PartFile:
        """The part file of a rule's ``output``, keyed by everything its records depend on: the job's params and
        its input files' modification times."""
        output = Path(output)
        return cls(output.with_name(f".{output.name}.part"), job_digest(params, inputs))

    def load(self) -> dict:
        """The records already sampled, by id (none when the file is missing or was written under another key)."""
        if not self.path.exists():
            return {}
        lines = self.path.read_text(encoding="utf-8").split("\n")
        if lines[0] != self.header:
            log.info("%s was written with other settings; starting afresh", self.path)
            return {}
        done = {}
        for line in lines[1:]:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line a kill cut short
            done[row["id"]] = row
        return done

    def writer(self, resumed: bool):
        handle = open(self.path, "a" if resumed else "w", encoding="utf-8")
        if not resumed:
            handle.write(self.header + "\n")
        return handle

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


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
    part: PartFile | None = None,
    loaded=None,
) -> list[dict]:
    """Sample every record; one output dict per record, in input order, keyed by id. With ``part``, each
    finished batch is appended to it and records already there are not sampled again. ``loaded``: an engine
    already loaded over ``model_path``'s base (rait.answer_service), switched to ``model_path`` instead of
    loading one."""
    from transformers import AutoTokenizer

    from rait.prompts import encode, prompt_text

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    texts = [prompt_text(tokenizer, record, templates, chat, system) for record in records]
    done = part.load() if part else {}
    todo = [index for index, record in enumerate(records) if record["id"] not in done]
    if done:
        log.info("resuming: %d of %d questions already sampled (%s)", len(records) - len(todo), len(records), part.path)
    if todo:
        prompts = [encode(tokenizer, texts[index], chat) for index in todo]
        sink = part.writer(resumed=bool(done)) if part else None

        def finished(positions: list[int], generations: list[Generation]) -> None:
            for position, gen in zip(positions, generations):
                record = records[todo[position]]
                row = {"id": record["id"], "prompt": texts[todo[position]], "greedy": gen.greedy, "samples": gen.samples}
                done[record["id"]] = row
                if sink:
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            if sink:
                sink.flush()

        try:
            if loaded is None:
                loaded = load_engine(engine, model_path, **engine_options)
            else:
                loaded.use(model_path)
            loaded.generate(prompts, spec, progress=progress, on_batch=finished)
        finally:
            if sink:
                sink.close()
    missing = [record["id"] for record in records if record["id"] not in done]
    if missing:
        raise RuntimeError(f"engine {engine} returned no generation for {len(missing)} prompts")
    return [done[record["id"]] for record in records]


def engine_options(params, seed: int) -> dict:
    """The options an engine of a rule's generation params is loaded with (a vLLM engine's parallelism and seed)."""
    options = dict(params.engine_options)
    if params.engine == "vllm":
        options.setdefault("tensor_parallel_size", max(1, params.gpus))
        options.setdefault("seed", seed)
    return options


def sampling_spec(params) -> SamplingSpec:
    settings = dict(params.sampling)
    settings["stop"] = tuple(settings.get("stop", ()))
    return SamplingSpec(**settings)


def generate_for(records: list[dict], params, part: PartFile | None = None, loaded=None,
                 service: bool | None = None) -> list[dict]:
    """``sample_records`` as a workflow rule's generation params say (``generation_params`` in common.smk:
    weights, engine, engine_options, gpus, chat, system, templates, sampling), streaming to ``part``; with an
    engine ``loaded`` (by the model's engine service, or ``load_job_engine``; ``service`` says which, for the
    log), on it."""
    spec = sampling_spec(params)
    options = engine_options(params, spec.seed)
    service = loaded is not None if service is None else service
    if loaded is None:
        from rait.launch import check_gpus

        check_gpus(params.gpus, "sampling")  # a GPU model's job on a machine without its GPUs must not sample on the CPU
    log.info("%s, engine %s %s%s", spec, params.engine, options, " (the model's engine service)" if service else "")
    return sample_records(records, params.weights, engine=params.engine, engine_options=options,
                          templates=dict(params.templates), chat=params.chat, system=params.system, spec=spec, part=part,
                          loaded=loaded)


def load_job_engine(params):
    """The engine of one job's own (not the model's service): loaded over ``params.weights`` as ``sample_records``
    would load it, so that the job can use it again after generating (R-Tuning's follow-up)."""
    from rait.launch import check_gpus

    check_gpus(params.gpus, "sampling")
    return load_engine(params.engine, params.weights, **engine_options(params, sampling_spec(params).seed))


def load_base_engine(params, lora_rank: int = 0):
    """The engine the model's engine service loads over its base (``params.weights``): a vLLM engine with LoRA
    enabled up to ``lora_rank`` (the largest stacked rank the model's adapters may have) when there is one."""
    from rait.launch import check_gpus

    check_gpus(params.gpus, "the engine service")
    options = engine_options(params, sampling_spec(params).seed)
    if params.engine == "vllm" and lora_rank:
        options.setdefault("enable_lora", True)
        options.setdefault("max_lora_rank", lora_rank)
    return load_engine(params.engine, params.weights, **options)
