import logging

from rait.io import read_jsonl, write_jsonl
from rait.sampling import SamplingSpec, sample_records
from rait.workflow import run


def main(sm):
    settings = dict(sm.params.sampling)
    settings["stop"] = tuple(settings.get("stop", ()))
    spec = SamplingSpec(**settings)
    options = dict(sm.params.engine_options)
    if sm.params.engine == "vllm":
        options.setdefault("tensor_parallel_size", max(1, sm.params.gpus))
        options.setdefault("seed", spec.seed)
    records = read_jsonl(sm.input.questions)
    logging.getLogger("rait.sample_answers").info("%d questions, %s, engine %s %s", len(records), spec, sm.params.engine, options)
    sampled = sample_records(
        records,
        sm.params.weights,
        engine=sm.params.engine,
        engine_options=options,
        templates=dict(sm.params.templates),
        chat=sm.params.chat,
        system=sm.params.system,
        spec=spec,
    )
    write_jsonl(sm.output[0], sampled)


run(snakemake, main)
