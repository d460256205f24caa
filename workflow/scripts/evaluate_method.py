import logging

from rait.calibration import curves

from rait.evaluation import grade_split, metrics
from rait.io import read_jsonl, write_json, write_jsonl
from rait.popularity import by_popularity
from rait.workflow import run


def main(sm):
    log = logging.getLogger("rait.evaluate_method")
    model, method = sm.wildcards.model, sm.wildcards.method
    judged = "judgments" in sm.input.keys()
    test_sets, graded, curve_sets = {}, [], {}
    for index, dataset in enumerate(sm.params.datasets):
        rows = grade_split(
            read_jsonl(sm.input.questions[index]),
            read_jsonl(sm.input.predictions[index]),
            read_jsonl(sm.input.base[index]),
            read_jsonl(sm.input.knowledge[index]),
            refusals=list(sm.params.refusals),
            exact=sm.params.exact_match,
            profile=sm.params.profiles[index],
            origin=f"{model}_{method} on {dataset}",
            judgments=read_jsonl(sm.input.judgments[index]) if judged else None,
            base_judgments=read_jsonl(sm.input.base_judgments[index]) if judged else None,
        )
        test_sets[dataset] = metrics(rows, sm.params.bootstrap, list(sm.params.penalty_targets))
        curve_sets[dataset] = {**curves(rows), "popularity": by_popularity(rows)}
        if judged:
            counts = test_sets[dataset]["judge"]
            log.info("%s: judge accepted %d, rejected %d, gave no score for %d (rules' grade kept); %d grades "
                     "turned correct", dataset, counts["accept"], counts["reject"], counts["unparsed"], counts["upgraded"])
        graded += [{"test_set": dataset, **row} for row in rows]
    write_jsonl(sm.output.graded, graded)
    write_json(sm.output.curves, {"model": model, "method": method, "test_sets": curve_sets})
    write_json(
        sm.output.metrics,
        {"model": model, "method": method, "test_sets": test_sets, "config": dict(sm.params.provenance)},
    )


run(snakemake, main)
