"""Progress of long loops as lines in the rule's log: tqdm's count, rate and time left, one line at a time.

tqdm redraws one terminal line with carriage returns; in a log file that is one unreadable line, and the
rule scripts' logs receive only ``logging`` records. ``progress`` gives tqdm a file that turns each redraw into
an INFO record of the named logger, at most one every ``interval`` seconds (and always the first and last).
"""

from __future__ import annotations

import logging
import os
from typing import TypeVar
from collections.abc import Iterable

T = TypeVar("T")

# seconds between two progress lines; RAIT_PROGRESS_INTERVAL overrides it (tests set it to 0)
DEFAULT_INTERVAL = 30.0
BAR_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%), {elapsed} elapsed, {rate_fmt}, about {remaining} left"


class _LogLines:
    """A file-like sink for tqdm: every non-empty redraw becomes one log record."""

    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self.last = None

    def write(self, text: str) -> None:
        line = " ".join(text.replace("\r", "").split())
        where = line.split(",")[0]  # "desc: n/total unit (p%)"
        if line and where != self.last:  # tqdm redraws the final count once more when it closes
            self.logger.info("%s", line)
            self.last = where

    def flush(self) -> None:
        pass


def interval() -> float:
    return float(os.environ.get("RAIT_PROGRESS_INTERVAL", DEFAULT_INTERVAL))


def progress(items: Iterable[T], *, desc: str, unit: str, logger: str | logging.Logger, total: int | None = None,
             enabled: bool = True) -> Iterable[T]:
    """``items``, logging "desc: 3/19 batch (16%), 00:05 elapsed, 1.7 batch/s, about 00:09 left" as it goes."""
    if not enabled:
        return items
    # miniters=1 with mininterval: a line at most every `interval()` seconds however fast the loop is
    return tqdm_factory(logger)(items, desc=desc, unit=unit, total=total)


def tqdm_factory(logger: str | logging.Logger):
    """A tqdm constructor whose bars are log lines, for libraries that take one (vLLM's ``use_tqdm``); the
    library's own arguments (total, desc, ...) pass through."""
    import functools

    from tqdm import tqdm

    sink = _LogLines(logger if isinstance(logger, logging.Logger) else logging.getLogger(logger))
    return functools.partial(tqdm, file=sink, mininterval=interval(), miniters=1, bar_format=BAR_FORMAT, ascii=True)
