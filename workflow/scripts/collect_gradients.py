from rait.influence import gradient_features, question_examples, write_features
from rait.io import read_jsonl
from rait.workflow import run


def main(sm):
    options = dict(sm.params.options)
    questions = read_jsonl(sm.input.questions)
    answers, refusals = question_examples(questions, dict(options["templates"]), options["refusal"])
    features = gradient_features(sm.params.checkpoint, answers + refusals, chat=options["chat"],
                                 system=options["system"], dim=options["dim"], max_length=options["max_length"],
                                 project_every=options["project_every"], gradient_type=options["type"])
    write_features(sm.output[0], [q["id"] for q in questions], features[:len(questions)], features[len(questions):])


run(snakemake, main)
