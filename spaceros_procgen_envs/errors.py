"""The package's exception hierarchy and the "did you mean" helper.

Every error a user can cause derives from :class:`ProcgenError`, so scripts can turn
it into one line on stderr and a non-zero exit code instead of a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ProcgenError(Exception):
    """Base class of every error this package raises on purpose."""


class UnknownNameError(ProcgenError, KeyError):
    """A task, domain, backend or generator name that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CacheError(ProcgenError):
    """The asset cache cannot be used (unwritable directory, ...)."""


class TaskDomainError(ProcgenError, ValueError):
    """A task was asked to run in a domain it cannot run in."""


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return `` Did you mean 'x'?`` for the closest choice, or an empty string.

    >>> did_you_mean("perseverence", ["perseverance", "ingenuity"])
    " Did you mean 'perseverance'?"
    """
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> UnknownNameError:
    """Build the error for an unknown ``kind`` (task, domain, ...) called ``name``.

    The message names what came, what exists, and the closest match.
    """
    choices = sorted(choices)
    return UnknownNameError(
        f"unknown {kind} '{name}'.{did_you_mean(name, choices)} "
        f"Available {kind}s: {', '.join(choices)}."
    )
