from rait.answer_service import answer_on_own_engine, answer_through, cache_dir_of
from rait.plan import LAYOUT
from rait.workflow import run


def main(sm):
    # what the answers depend on, keyed alike by the engine service and by the model's answer cache
    params = {name: sm.params[name] for name in sm.params.keys()}
    inputs = [path for name in sm.input.keys() if name not in ("engine", "questions") for path in sm.input[name]]
    job = {"params": params, "questions": sm.input.questions, "inputs": inputs, "output": sm.output[0],
           "log": sm.log[0]}
    if sm.input.get("engine"):  # the model's engine service answers (rait.answer_service)
        answer_through(sm.input.engine[0], job)
    else:
        answer_on_own_engine(job, cache_dir_of(LAYOUT.engine_address(sm.wildcards.model)))


run(snakemake, main)
