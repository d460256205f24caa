"""User-facing errors.

A ``RaitError`` is bad input or configuration, not a bug: entry points print
its message without a traceback and exit non-zero.
"""


class RaitError(Exception):
    """Bad input, reported by what and where (file and line, or config key)."""


def where(path, line=None) -> str:
    return f"{path}:{line}" if line is not None else str(path)
