from rait.evaluation import evaluate_split
from rait.io import read_jsonl, write_json
from rait.workflow import run


def main(sm):
    model, method = sm.wildcards.model, sm.wildcards.method
    test_sets = {}
    for index, dataset in enumerate(sm.params.datasets):
        test_sets[dataset] = evaluate_split(
            read_jsonl(sm.input.questions[index]),
            read_jsonl(sm.input.predictions[index]),
            read_jsonl(sm.input.base[index]),
            read_jsonl(sm.input.knowledge[index]),
            refusals=list(sm.params.refusals),
            exact=sm.params.exact_match,
            origin=f"{model}_{method} on {dataset}",
        )
    write_json(
        sm.output[0],
        {"model": model, "method": method, "test_sets": test_sets, "config": dict(sm.params.provenance)},
    )


run(snakemake, main)
