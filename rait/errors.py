"""User-facing errors.

A ``RaitError`` is bad input or configuration, not a bug: entry points print
its message without a traceback and exit non-zero: ``BAD_INPUT_EXIT`` (65,
sysexits' EX_DATAERR) from a workflow job, which a retry would fail the same
way; 1 for anything else.
"""

BAD_INPUT_EXIT = 65


class RaitError(Exception):
    """Bad input, reported by what and where (file and line, or config key)."""


def where(path, line=None) -> str:
    return f"{path}:{line}" if line is not None else str(path)
