import logging

from rait.io import read_jsonl, write_jsonl
from rait.judging import judge_requests, verdict, verdict_counts
from rait.sampling import PartFile, generate_for
from rait.workflow import run


def main(sm):
    log = logging.getLogger("rait.judge_answers")
    requests = judge_requests(read_jsonl(sm.input.questions), read_jsonl(sm.input.predictions), sm.params.prompt,
                              dict(sm.params.question_templates), origin=sm.input.predictions)
    part = PartFile.beside(sm.output[0], {name: sm.params[name] for name in sm.params.keys()}, sm.input)
    replies = generate_for(requests, sm.params, part=part)
    rows = [{"id": reply["id"], **verdict(reply["greedy"], sm.params.accept)} for reply in replies]
    counts = verdict_counts(row["verdict"] for row in rows)
    log.info("%d answers judged: %d accepted, %d rejected, %d replies without a score in [0, 1] (unparsed: the "
             "rules' grade stands)", len(rows), counts["accept"], counts["reject"], counts["unparsed"])
    write_jsonl(sm.output[0], rows)
    part.remove()


run(snakemake, main)
