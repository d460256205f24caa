import logging

from rait.certainty import letter_probabilities, load_encoder, score_mc, score_open, split_kind
from rait.io import read_jsonl, write_jsonl
from rait.workflow import run


def main(sm):
    records = read_jsonl(sm.input.questions)
    kind = split_kind(records, sm.input.questions)
    if kind == "open":
        embedding = sm.params.embedding
        encode = load_encoder(embedding["package"], embedding["folder"])
        scores = score_open(records, read_jsonl(sm.input.samples), encode, origin=sm.input.samples,
                            exact=sm.params.exact_match, refusals=list(sm.params.refusals),
                            profile=sm.params.profile)
    else:
        probs = letter_probabilities(sm.params.weights, records, templates=dict(sm.params.templates), chat=sm.params.chat,
                                     system=sm.params.system, batch_size=sm.params.batch_size)
        scores = score_mc(records, probs)
    n = len(scores)
    logging.getLogger("rait.certainty").info(
        "%d %s questions: mean correctness %.3f, mean certainty %.3f", n, kind,
        sum(s["correctness"] for s in scores) / n, sum(s["certainty"] for s in scores) / n,
    )
    write_jsonl(sm.output[0], scores)


run(snakemake, main)
