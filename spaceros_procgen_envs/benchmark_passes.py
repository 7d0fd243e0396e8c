"""How every benchmark steps a batch: the same random actions, warm-up and timed passes.

``benchmark.py``'s table, its ``--python`` split (:mod:`.benchmark_python`) and its ``--train``
measure (:mod:`.rl.bench`) all time a batch the same way, so their figures can stand side by
side: a reset with seed 0, :func:`warmup_steps` off the clock, then ``repeats`` passes through
the same :func:`random_actions` (which ``--record``, :mod:`.recording.bench`, steps too). Every
measure makes its batches with :func:`batch`.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import gymnasium as gym
import numpy as np

from .vector.protocol import available_cores

RAY_ACTORS = 2  # SPEC 8's ray target is for 2 actors: the benchmarks' ray batches have two


def backend_options(backend: str) -> dict:
    """What every benchmark passes ``make_vec`` for ``backend``: for ``ray``, :data:`RAY_ACTORS`
    actors sharing the cores (the default would be one actor per node)."""
    if backend != "ray":
        return {}
    return {"workers": RAY_ACTORS, "ray_num_cpus": max(1, available_cores() // RAY_ACTORS)}


@contextmanager
def batch(task: str, num_envs: int, backend: str, **options) -> Iterator:
    """``task``'s batch as the benchmarks step it (no copies of the observations, no progress
    bar; ``options`` go to ``gymnasium.make_vec``), closed on exit.

    A local Ray that the batch started is shut down with it: Ray's daemons would otherwise
    share the cores with everything measured later (``process`` at N = 64 read about 0.04 lower
    beside them). A Ray that was running before stays.
    """
    own_ray = backend == "ray" and not _ray_running()
    options = {**backend_options(backend), **options}
    env = None
    try:
        env = gym.make_vec(f"spaceros/{task}", num_envs=num_envs, backend=backend,
                           vectorization_mode="vector_entry_point", copy=False, progress=False,
                           **options)
        yield env
    finally:
        if env is not None:
            env.close()
        if own_ray and _ray_running():
            sys.modules["ray"].shutdown()


def _ray_running() -> bool:
    """Whether this process is connected to a Ray cluster (without importing Ray)."""
    ray = sys.modules.get("ray")
    return ray is not None and ray.is_initialized()


def random_actions(env, steps: int) -> np.ndarray:
    """(steps, n, A) float32 actions, uniform in [-1, 1], the same for every run (seed 0)."""
    shape = (steps, *env.action_space.shape)
    return np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)


def warmup_steps(steps: int) -> int:
    """Steps :func:`timed_passes` takes before it starts the clock."""
    return max(5, steps // 10)


def time_steps(env, actions: np.ndarray, repeats: int, limit_steps: int = 0
               ) -> tuple[float, float]:
    """Median (env-steps/s, episodes/s) of stepping ``env`` through ``actions`` ``repeats`` times;
    ``limit_steps`` is the episode length taken when no episode ended."""
    rates, ends = timed_passes(env, actions, repeats)
    rate = statistics.median(rates)
    steps = actions.shape[1] * len(actions) * repeats
    length = steps / ends if ends else limit_steps
    return rate, (rate / length if length else 0.0)


def timed_passes(env, actions: np.ndarray, repeats: int,
                 before_pass: Callable[[int], None] | None = None) -> tuple[list[float], int]:
    """Reset ``env`` (seed 0), take the :func:`warmup_steps`, then step it through ``actions``
    (steps, n, A) ``repeats`` times, each pass on the clock (``before_pass(k)`` off it).

    Returns:
        env-steps/s of each pass, and how many episodes ended in all of them.
    """
    num_envs = actions.shape[1]
    env.reset(seed=0)
    for action in actions[:warmup_steps(len(actions))]:
        env.step(action)
    rates, ends = [], 0
    for k in range(repeats):
        if before_pass is not None:
            before_pass(k)
        start = time.perf_counter()
        for action in actions:
            _, _, term, trunc, _ = env.step(action)
            ends += int(np.count_nonzero(np.logical_or(term, trunc)))
        rates.append(num_envs * len(actions) / (time.perf_counter() - start))
    return rates, ends
