import logging

from rait.io import read_jsonl, write_jsonl
from rait.judging import judge_requests, verdict, verdict_counts
from rait.sampling import PartFile, generate_for
from rait.workflow import run


UNPARSED_SHOWN = 20  # replies logged in full; the rest are counted


def main(sm):
    log = logging.getLogger("rait.judge_answers")
    requests = judge_requests(read_jsonl(sm.input.questions), read_jsonl(sm.input.predictions), sm.params.prompt,
                              dict(sm.params.question_templates), origin=sm.input.predictions)
    part = PartFile.beside(sm.output[0], {name: sm.params[name] for name in sm.params.keys()}, sm.input)
    replies = generate_for(requests, sm.params, part=part)
    rows = [{"id": reply["id"], **verdict(reply["greedy"], sm.params.accept, sm.params.mode)} for reply in replies]
    counts = verdict_counts(row["verdict"] for row in rows)
    if sm.params.mode == "three_way":
        log.info("%d answers judged (three-way): %d correct, %d incorrect, %d not attempted, %d replies without a "
                 "label (unparsed: the rules' grade stands)", len(rows), counts["correct"], counts["incorrect"],
                 counts["not_attempted"], counts["unparsed"])
    else:
        log.info("%d answers judged: %d accepted, %d rejected, %d replies without a score in [0, 1] (unparsed: the "
                 "rules' grade stands)", len(rows), counts["accept"], counts["reject"], counts["unparsed"])
    unparsed = [row for row in rows if row["verdict"] == "unparsed"]
    for row in unparsed[:UNPARSED_SHOWN]:
        log.warning("%s: the judge's reply %r has no %s", row["id"], row["reply"],
                    "label" if sm.params.mode == "three_way" else "score in [0, 1]")
    if len(unparsed) > UNPARSED_SHOWN:
        log.warning("... and %d more replies without one", len(unparsed) - UNPARSED_SHOWN)
    write_jsonl(sm.output[0], rows)
    part.remove()


run(snakemake, main)
