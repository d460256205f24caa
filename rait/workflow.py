"""The glue between Snakemake's ``script:`` directive and the package.

A rule's script calls ``run(snakemake, main)``: logging goes to the rule's
log file (and stderr), and bad input (``RaitError``) ends the job with its
message and a non-zero exit instead of a traceback; any other exception is
logged with its traceback (never an empty log) and ends the job the same way.
"""

from __future__ import annotations

import logging
import sys
from typing import Callable

from rait.errors import RaitError


def setup_logging(log_file: str | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, mode="w"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers, force=True)


def run(snakemake, main: Callable) -> None:
    setup_logging(snakemake.log[0] if snakemake.log else None)
    log = logging.getLogger(f"rait.{snakemake.rule}")
    try:
        main(snakemake)
    except RaitError as err:
        log.error("%s", err)
        sys.exit(1)
    except Exception:  # a bug or an unforeseen input: the traceback (file and line) goes to the rule's log too
        log.exception("rule %s failed with an unexpected error (inputs: %s)", snakemake.rule,
                      ", ".join(map(str, snakemake.input)) or "none")
        sys.exit(1)
