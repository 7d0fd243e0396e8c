"""Named per-step arrays of a batch, computed on demand, and reward terms wired to them by name.

A task defines one method ``state_<key>(v, s)`` per array it can derive from a BatchView ``v``
(``s`` is the state itself, for keys built on others). :class:`BatchState` calls each at most
once per call site and only when asked for, so a success test that reads two keys never pays
for the observation's twenty. Reward terms are pure functions whose parameter names are state
keys: :func:`term_calls` reads them once at bind time.

Example::

    class Task:
        def state_speed(self, v, s):
            return np.linalg.norm(v.qvel[:, :3], axis=1)

    s = BatchState(task, view)
    s["speed"]            # (n,) computed now
    s["speed"]            # the same array, not recomputed
"""

from __future__ import annotations

import inspect
import weakref
from typing import Callable

import numpy as np


class BatchState(dict):
    """A dict of (n, ...) arrays that fills itself from ``task.state_<key>(v, self)``.

    Args:
        task: the object with the ``state_<key>`` methods.
        v: the slice's BatchView.
        **given: keys known already (e.g. ``action``, ``prev_action``).
    """

    def __init__(self, task, v, **given: np.ndarray):
        super().__init__(given)
        # A weak reference: a state memoised on the view must not keep the view (and its
        # Batch's threads) alive after the slice is closed.
        self.task, self.v = task, (None if v is None else weakref.proxy(v))

    def __missing__(self, key: str) -> np.ndarray:
        task = self.task
        try:  # ``cls.state_<key>``, a plain function of ``(task, v, s)``, looked up once per class
            function = _STATE_FUNCTIONS[type(task), key]
        except KeyError:
            function = _state_function(type(task), key)
        value = self[key] = function(task, self.v, self)
        return value


_STATE_FUNCTIONS: dict[tuple[type, str], Callable] = {}


def _state_function(cls: type, key: str) -> Callable:
    """Find ``cls.state_<key>`` and remember it in ``_STATE_FUNCTIONS``."""
    found = getattr(cls, f"state_{key}", None)
    if found is None:
        raise KeyError(f"batch state {key!r}: {cls.__name__} has no state_{key}")
    _STATE_FUNCTIONS[cls, key] = found
    return found


def term_calls(terms: dict[str, Callable], weights) -> list[tuple[float, Callable, tuple[str, ...]]]:
    """(weight, function, state keys it reads) per ``(name, weight)``; keys are its parameters.

    Raises:
        KeyError: a weighted term has no batch function in ``terms``.
    """
    calls = []
    for name, weight in weights:
        if name not in terms:
            raise KeyError(f"reward term {name!r}: no batch function; known: {sorted(terms)}")
        fn = terms[name]
        calls.append((weight, fn, tuple(inspect.signature(fn).parameters)))
    return calls


def stage_calls(stages: dict[str, Callable]) -> list[tuple[Callable, tuple[str, ...]]]:
    """(function, state keys it reads) per stage test, in ``stages`` order."""
    return [(fn, tuple(inspect.signature(fn).parameters)) for fn in stages.values()]


def stage_flags(calls, s: BatchState) -> list[np.ndarray]:
    """Each stage test of :func:`stage_calls`, (n,) bool, in order."""
    return [np.asarray(fn(*map(s.__getitem__, keys)), bool) for fn, keys in calls]


def weighted_terms(calls, s: BatchState) -> list[np.ndarray]:
    """Each ``weight * fn(*state keys)`` of :func:`term_calls`, (n,) float64, in order."""
    return [weight * fn(*map(s.__getitem__, keys)) for weight, fn, keys in calls]
