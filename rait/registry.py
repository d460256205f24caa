"""One small registry class for rait's extension points (builders, trainers, answer strategies, rewards, hub
loaders): a name registered twice is an error naming both places, and an unknown name an error that names the
known ones and the closest ("did you mean").

A ``Registry`` reads as a mapping (``name in BUILDERS``, ``BUILDERS[name]``, ``sorted(BUILDERS)``), so the code
that asks it is the code that asked the plain dictionaries it replaces.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Generic, TypeVar

from rait.errors import RaitError

T = TypeVar("T")


def did_you_mean(name, known: Iterable[str]) -> str:
    """" (did you mean 'sft'?)" for the closest of ``known``, or nothing when none is close."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown(kind: str, name, known: Iterable[str], where: str = "") -> str:
    """The message for an unknown name: ``where`` (a config key, a method), the name, the closest known one, and
    every known one."""
    known = sorted(known)
    prefix = f"{where}: " if where else ""
    return f"{prefix}unknown {kind} {name!r}{did_you_mean(name, known)}; known: {', '.join(known)}"


class UnknownName(RaitError, KeyError):
    """A name no entry of a registry has: a RaitError for the user, a KeyError for ``in`` and ``get``."""

    def __str__(self) -> str:  # a KeyError would quote its message
        return str(self.args[0])


def call_site(depth: int = 1) -> str:
    """file:line, relative to the checkout, of the code ``depth`` calls above the caller of this function (1: the
    code that called the caller)."""
    frame = sys._getframe(depth + 1)
    filename = frame.f_code.co_filename
    try:
        path = Path(filename).resolve().relative_to(Path(__file__).resolve().parents[1])
    except ValueError:
        path = Path(filename)
    return f"{path}:{frame.f_lineno}"


class Registry(Mapping, Generic[T]):
    """Entries of one kind (``kind``: the word an error uses, "data builder"), each registered once."""

    def __init__(self, kind: str, check: Callable[[T], str | None] | None = None):
        self.kind = kind
        # what an entry must be: a function giving a problem, or None when there is none
        self._check = check
        self._entries: dict[str, T] = {}
        self._origins: dict[str, str] = {}

    def register(self, name: str, entry: T, *, origin: str | None = None) -> T:
        """Add ``entry`` as ``name``; a name already taken is an error naming where each was registered."""
        origin = origin or call_site(1)
        if name in self._entries:
            raise RaitError(f"{self.kind} {name!r} is registered twice: at {self._origins[name]} and at {origin}")
        problem = self._check(entry) if self._check else None
        if problem:
            raise RaitError(f"{self.kind} {name!r} (registered at {origin}): {problem}")
        self._entries[name] = entry
        self._origins[name] = origin
        return entry

    def origin(self, name: str) -> str:
        """Where ``name`` was registered (file:line)."""
        return self._origins[name]

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise UnknownName(unknown(self.kind, name, self._entries)) from None

    def __contains__(self, name) -> bool:
        try:
            return name in self._entries
        except TypeError:  # an unhashable name (a list in a config) is no entry's
            return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"
