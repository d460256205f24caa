import logging

from rait.io import atomic_open
from rait.workflow import run


def main(sm):
    lines = 0
    with atomic_open(sm.output[0]) as out:
        for path in sm.input:  # shard order is question order; line by line, whatever the split's size
            with open(path, encoding="utf-8") as shard:
                for line in shard:
                    out.write(line)
                    lines += 1
    logging.getLogger("rait.gather_samples").info("%d questions from %d shard(s)", lines, len(sm.input))


run(snakemake, main)
