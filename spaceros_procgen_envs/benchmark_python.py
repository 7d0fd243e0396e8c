"""``benchmark.py --python``: a step's Python, timed as it runs and again on warm caches.

Per task and batch size, thread backend, random actions: every step's Python (the action
check, controllers, reward terms, flags, observations and info: all of a step but
``Batch.step``) is timed directly, as the time of the step less the time inside its
``Batch.step``. Then the very same steps run with the physics left out: the state stands
still, so the same Python runs on caches that no physics has just refilled. The difference is
what the Python pays for following MuJoCo on the same cores; the ceiling ratios of the main
table cannot show it apart from the Python itself. Passes alternate, and each figure is the
median over ``repeats`` pairs. Last, what a gap of idle Python just before a ``Batch.step``
costs it (:func:`idle_cost`): MuJoCo's pool spins a while after each step, so only a step's
Python longer than that pays for waking it.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np

from .benchmark_passes import batch, random_actions, warmup_steps


def split_python(task: str, num_envs: int, steps: int, repeats: int) -> dict:
    """One row: physics and Python us per step (after the physics, and warm) of ``task``."""
    with batch(task, num_envs, "thread") as env:
        view = env.unwrapped.backend.slices[0].view
        physics_step, inside = view.step, [0.0]

        def timed(ids=None):
            start = time.perf_counter()
            try:
                return physics_step(ids)
            finally:
                inside[0] += time.perf_counter() - start

        def left_out(ids=None):
            view.forget()  # as a step would: the next reads see "a new state"
            return np.zeros(view.n, bool)

        actions = random_actions(env, steps)
        physics, after, warm = [], [], []
        env.reset(seed=0)
        for action in actions[:warmup_steps(steps)]:
            env.step(action)
        for _ in range(repeats):
            for hook in (timed, left_out):  # the view's step, replaced for this batch alone
                view.step, inside[0] = hook, 0.0
                start = time.perf_counter()
                for action in actions:
                    env.step(action)
                total = time.perf_counter() - start
                if hook is timed:
                    physics.append(inside[0] / steps)
                    after.append((total - inside[0]) / steps)
                else:
                    warm.append(total / steps)
        idle = idle_cost(view, IDLE_GAPS_US, steps)  # steps the Batch itself, not view.step
    return {"task": task, "num_envs": num_envs, "backend": "thread",
            "physics_us_per_step": 1e6 * statistics.median(physics),
            "python_us_per_step": 1e6 * statistics.median(after),
            "python_warm_us_per_step": 1e6 * statistics.median(warm),
            "idle_cost_us": idle}


IDLE_GAPS_US = (20, 40, 60, 100)
"""Idle gaps before a ``Batch.step`` that :func:`idle_cost` measures, us: MuJoCo's pool keeps
its threads spinning for a while after a step, so a short gap costs nothing and a longer one
pays for waking them."""


def idle_cost(view, gaps_us: Sequence[float], rounds: int) -> dict[str, float]:
    """What each of ``gaps_us`` of busy Python just before a ``Batch.step`` adds to it, us.

    The slice's own batch steps (controls as they stand) ``rounds`` times per gap, the gaps and
    no gap taking turns step by step, so the state's drift weighs on every gap alike; each
    figure is the median step with that gap less the median step with none.
    """
    clock, batch_step = time.perf_counter, view.batch.step
    gaps = [0.0, *(g * 1e-6 for g in gaps_us)]
    times: list[list[float]] = [[] for _ in gaps]
    for k in range(rounds * len(gaps)):
        gap, taken = gaps[k % len(gaps)], times[k % len(gaps)]
        start = clock()
        while clock() - start < gap:  # Python running, as between two steps of a batch
            pass
        start = clock()
        batch_step(nstep=view.substeps)
        taken.append(clock() - start)
    view.forget()
    base = statistics.median(times[0])
    return {f"{g:g}": 1e6 * (statistics.median(t) - base) for g, t in zip(gaps_us, times[1:])}


def measure_python(result: dict, tasks: Sequence[str], sizes: Sequence[int], steps: int,
                   repeats: int) -> None:
    """Fill ``result["python_split"]`` with a :func:`split_python` row per task and size."""
    rows = result.setdefault("python_split", [])
    for task in tasks:
        for num_envs in sizes:
            row = split_python(task, num_envs, steps, repeats)
            rows.append(row)
            print(f"  {task} N={num_envs} Python {row['python_us_per_step']:.0f} us a step "
                  f"(warm {row['python_warm_us_per_step']:.0f})", file=sys.stderr)


def python_markdown(result: dict) -> str:
    """The ``python_split`` rows as a markdown table ('' when there are none)."""
    rows = result.get("python_split") or []
    if not rows:
        return ""
    gaps = " / ".join(str(g) for g in IDLE_GAPS_US)
    lines = ["| task | envs | physics us/step | Python us/step, after the physics | Python "
             "us/step, warm (physics left out) | Python us/env-step, after | warm | "
             f"Batch.step after {gaps} us idle, +us |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        n = row["num_envs"]
        after, warm = row["python_us_per_step"], row["python_warm_us_per_step"]
        idle = " / ".join(f"{v:+.0f}" for v in row.get("idle_cost_us", {}).values()) or "-"
        lines.append(f"| {row['task']} | {n} | {row['physics_us_per_step']:.0f} | {after:.0f} | "
                     f"{warm:.0f} | {after / n:.2f} | {warm / n:.2f} | {idle} |")
    lines.append("")
    lines.append("Python of a step (thread backend): everything but Batch.step, timed around "
                 "it; warm: the same steps once more with the physics left out. Idle: what "
                 "that much busy Python just before a Batch.step adds to it (MuJoCo's pool "
                 "spins a while after a step, then sleeps and must be woken).")
    return "\n".join(lines)
