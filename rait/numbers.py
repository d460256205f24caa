"""What counts as a number in config values, eval files and logs: an int or float, finite, and not a bool (YAML's
and JSON's ``true`` is an int to Python)."""

from __future__ import annotations

import math


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
