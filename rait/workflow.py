"""The glue between Snakemake's ``script:`` directive and the package.

A rule's script calls ``run(snakemake, main)``: logging goes to the rule's
log file (and stderr), and bad input (``RaitError``) ends the job with its
message and exit status 65 (``rait.errors.BAD_INPUT_EXIT``) instead of a
traceback; any other exception is logged with its traceback (never an empty
log) and ends the job with status 1.

Jobs run offline (``HF_HUB_OFFLINE``, ``HF_DATASETS_OFFLINE``): every model a
job loads is a folder on disk by then, fetched by the download rule on the
submit host, so a GPU node without internet works and a job never fetches a
newer revision behind the plan's back. The rules that fetch (``params.network``)
are the exception.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from rait.errors import BAD_INPUT_EXIT, RaitError


def setup_logging(log_file: str | None = None) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        # emptied, then appended to: another process may write into this job's log too (the engine service writes
        # the log of each job it answers), and appending writes never land on each other
        open(log_file, "w").close()
        handlers.append(logging.FileHandler(log_file, mode="a"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", handlers=handlers, force=True)


OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def go_offline(params) -> None:
    if not getattr(params, "network", False):
        os.environ.update(OFFLINE)
        if "huggingface_hub" in sys.modules:  # imported before the switch: it read the variables already
            import huggingface_hub.constants

            huggingface_hub.constants.HF_HUB_OFFLINE = True


def run(snakemake, main: Callable) -> None:
    go_offline(getattr(snakemake, "params", None))
    setup_logging(snakemake.log[0] if snakemake.log else None)
    log = logging.getLogger(f"rait.{snakemake.rule}")
    try:
        main(snakemake)
    except RaitError as err:
        log.error("%s", err)
        sys.exit(BAD_INPUT_EXIT)
    except Exception:  # a bug or an unforeseen input: the traceback (file and line) goes to the rule's log too
        log.exception("rule %s failed with an unexpected error (inputs: %s)", snakemake.rule,
                      ", ".join(map(str, snakemake.input)) or "none")
        sys.exit(1)


def typed_overrides(overrides) -> dict:
    """The ``--config`` values Snakemake left as strings, typed as YAML would type them.

    Snakemake types a top-level ``--config key=0.9`` but parses a nested one (``knowledge='{threshold: 0.9}'``)
    with YAML's BaseLoader, which makes every leaf a string ("'0.9' is not of type 'number'"). Returns only the
    leaves that change (numbers, booleans, null), as a nested dict to merge over the config.
    """
    import yaml

    typed = {}
    for key, value in dict(overrides or {}).items():
        if isinstance(value, dict):
            inner = typed_overrides(value)
            if inner:
                typed[key] = inner
        elif isinstance(value, str):
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                continue
            if parsed is None or isinstance(parsed, (bool, int, float)):
                typed[key] = parsed
    return typed
