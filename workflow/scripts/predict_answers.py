from rait.answer_service import answer_through
from rait.answering import answer
from rait.workflow import run


def main(sm):
    if "engine" in sm.input.keys():  # the model's engine service answers (rait.answer_service)
        params = {name: sm.params[name] for name in sm.params.keys()}
        inputs = [path for name in sm.input.keys() if name not in ("engine", "questions") for path in sm.input[name]]
        answer_through(sm.input.engine[0], {"params": params, "questions": sm.input.questions, "inputs": inputs,
                                         "output": sm.output[0], "log": sm.log[0]})
    else:
        answer(sm.params, sm.input.questions, sm.output[0])


run(snakemake, main)
