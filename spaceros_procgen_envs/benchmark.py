"""``benchmark.py``: env-steps/s per task, backend and batch size, side by side in one run.

Next to every backend it measures the *physics ceiling*: the single-thread rate of raw
``mj_step`` on the very same models (no Python task logic), times the usable cores.
Ratios against it are what the targets of SPEC 8 are stated in.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np

from .cli import BACKENDS, make_parser, positive_int, task_name
from .registry import list_tasks
from .sim.robots.base import CONTROL_HZ
from .vector.backends import available_cores


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def measure_backend(task: str, num_envs: int, backend: str, steps: int, repeats: int) -> dict:
    """Median env-steps/s and episodes/s of ``backend`` over ``repeats`` timed runs."""
    rss_before = _rss_mb()
    env = gym.make_vec(f"spaceros/{task}", num_envs=num_envs, vectorization_mode="vector_entry_point",
                       backend=backend, copy=False, progress=False)
    rss_per_env = (_rss_mb() - rss_before) / num_envs
    actions = np.random.default_rng(0).uniform(-1, 1, (steps, *env.action_space.shape))
    actions = actions.astype(np.float32)
    env.reset(seed=0)
    for action in actions[: max(5, steps // 10)]:  # warm-up
        env.step(action)
    rates, episode_rates = [], []
    for _ in range(repeats):
        episodes, start = 0, time.perf_counter()
        for action in actions:
            _, _, term, trunc, _ = env.step(action)
            episodes += int(np.count_nonzero(term | trunc))
        elapsed = time.perf_counter() - start
        rates.append(num_envs * steps / elapsed)
        episode_rates.append(episodes / elapsed)
    models = [(e.model, e.data, e.substeps) for e in env.unwrapped.envs]
    env.close()
    return {"task": task, "backend": backend, "num_envs": num_envs,
            "env_steps_per_s": statistics.median(rates),
            "episodes_per_s": statistics.median(episode_rates),
            "rss_mb_per_env": round(max(rss_per_env, 0.0), 2), "_models": models}


def physics_rate(models: list[tuple], steps: int) -> float:
    """Single-thread env-steps/s of raw ``mj_step`` (``substeps`` each) on these models."""
    start = time.perf_counter()
    for _ in range(steps):
        for model, data, substeps in models:
            mujoco.mj_step(model, data, nstep=substeps)
    return len(models) * steps / (time.perf_counter() - start)


def run(tasks: Sequence[str], sizes: Sequence[int], backends: Sequence[str], steps: int,
        repeats: int) -> dict:
    """Every measurement, as the JSON document of SPEC 8."""
    cores = available_cores()
    rows, ceiling = [], {}
    for task in tasks:
        for num_envs in sizes:
            for backend in backends:
                row = measure_backend(task, num_envs, backend, steps, repeats)
                models = row.pop("_models")
                rows.append(row)
                print(f"  {task:18s} N={num_envs:<3d} {backend:7s} "
                      f"{row['env_steps_per_s']:9.1f} env-steps/s", file=sys.stderr)
            if num_envs == max(sizes):
                rate = statistics.median(physics_rate(models, steps) for _ in range(repeats))
                ceiling[task] = cores * rate
    return {"cores": cores, "rows": rows, "ceiling": ceiling}


def markdown(result: dict) -> str:
    """The results as a markdown table with ratios to the ceiling and to real time."""
    lines = ["| task | backend | envs | env-steps/s | episodes/s | x ceiling | x real time "
             "| RSS MB/env |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        ceiling = result["ceiling"].get(row["task"])
        ratio = f"{row['env_steps_per_s'] / ceiling:.2f}" if ceiling else "-"
        realtime = row["env_steps_per_s"] / (row["num_envs"] * CONTROL_HZ)
        lines.append(f"| {row['task']} | {row['backend']} | {row['num_envs']} | "
                     f"{row['env_steps_per_s']:.0f} | {row['episodes_per_s']:.2f} | {ratio} | "
                     f"{realtime:.2f} | {row['rss_mb_per_env']:.1f} |")
    lines.append("")
    lines.append(f"Physics ceiling ({result['cores']} cores x single-thread raw mj_step): " +
                 ", ".join(f"{t} {v:.0f}" for t, v in result["ceiling"].items()) + " env-steps/s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("Measure env-steps/s per task, backend and number of envs, next to the "
                         "physics ceiling, and print a markdown table.", sim_flags=False)
    parser.add_argument("--tasks", nargs="+", type=task_name, default=list_tasks(),
                        help="tasks to measure")
    parser.add_argument("--num_envs", nargs="+", type=positive_int, default=[1, 16],
                        help="batch sizes")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--steps", type=positive_int, default=200, help="timed steps per repeat")
    parser.add_argument("--repeats", type=positive_int, default=3, help="timed repeats (median)")
    parser.add_argument("--quick", action="store_true",
                        help="a fast smoke run: 20 steps, 1 repeat, N=1 and 2")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.repeats, args.num_envs = 20, 1, [1, 2]
    result = run(args.tasks, args.num_envs, args.backends, args.steps, args.repeats)
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
