"""``benchmark.py``: env-steps/s per task, backend and batch size, side by side in one run.

Next to every backend it measures, on the same machine in the same run:

* the *physics ceiling*: the single-thread rate of raw ``mj_step`` on the very same models
  (no Python task logic), times the usable cores;
* Gymnasium's own ``AsyncVectorEnv`` (one subprocess per env) over our single env.

Every figure is the median of ``--repeats`` timed runs after a warm-up. RSS per env is
measured in a fresh interpreter (the memory a batch adds, divided by its size).

``--cameras`` adds, per task: the camera frames one env renders per second at 128 x 128 and
640 x 480 (one render thread, RGB and depth from one draw), and the env-steps/s of the
``<task>_visual`` batch beside the same batch without cameras (thread backend, the largest N;
the ``_visual`` batch also with each of ``--backends``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np

from .benchmark_plot import plot
from .cli import BACKENDS, make_parser, positive_int, task_name
from .registry import list_tasks
from .sim.robots.base import CONTROL_HZ
from .vector.backends import available_cores

_RSS_PROBE = """
import sys, gymnasium as gym, spaceros_procgen_envs
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2**20
gym.make_vec('spaceros/{task}', num_envs=1, vectorization_mode='vector_entry_point',
             backend='sync', progress=False).close()  # imports, caches and lazy init done
before = rss()
env = gym.make_vec('spaceros/{task}', num_envs={n}, vectorization_mode='vector_entry_point',
                   backend='{backend}', progress=False)
env.reset(seed=0)
print((rss() - before) / {n})
"""


def time_steps(env, actions: np.ndarray, repeats: int) -> tuple[float, float]:
    """Median (env-steps/s, episodes/s) of stepping ``env`` through ``actions`` ``repeats`` times."""
    num_envs = actions.shape[1]
    env.reset(seed=0)
    for action in actions[: max(5, len(actions) // 10)]:  # warm-up
        env.step(action)
    rates, episode_rates = [], []
    for _ in range(repeats):
        episodes, start = 0, time.perf_counter()
        for action in actions:
            _, _, term, trunc, _ = env.step(action)
            episodes += int(np.count_nonzero(np.logical_or(term, trunc)))
        elapsed = time.perf_counter() - start
        rates.append(num_envs * len(actions) / elapsed)
        episode_rates.append(episodes / elapsed)
    return statistics.median(rates), statistics.median(episode_rates)


def random_actions(env, steps: int) -> np.ndarray:
    shape = (steps, *env.action_space.shape)
    return np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)


def rss_mb_per_env(task: str, num_envs: int, backend: str) -> float:
    """MB of resident memory one env adds, measured in a fresh interpreter."""
    code = _RSS_PROBE.format(task=task, n=num_envs, backend=backend)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 2)


def measure_backend(task: str, num_envs: int, backend: str, steps: int, repeats: int) -> dict:
    """One row of the table (and the models, for the physics ceiling)."""
    env = gym.make_vec(f"spaceros/{task}", num_envs=num_envs,
                       vectorization_mode="vector_entry_point", backend=backend, copy=False,
                       progress=False)
    rate, episodes = time_steps(env, random_actions(env, steps), repeats)
    models = [(e.model, e.data, e.substeps) for e in env.unwrapped.envs] \
        if backend in ("sync", "thread") else None
    env.close()
    return {"task": task, "backend": backend, "num_envs": num_envs, "env_steps_per_s": rate,
            "episodes_per_s": episodes, "rss_mb_per_env": None, "_models": models}


def measure_async(task: str, num_envs: int, steps: int, repeats: int) -> float:
    """env-steps/s of Gymnasium's AsyncVectorEnv over our single env."""
    env = gym.make_vec(f"spaceros/{task}", num_envs=num_envs, vectorization_mode="async",
                       progress=False)
    rate, _ = time_steps(env, random_actions(env, steps), repeats)
    env.close()
    return rate


def physics_rate(models: list[tuple], steps: int) -> float:
    """Single-thread env-steps/s of raw ``mj_step`` (``substeps`` each) on these models."""
    start = time.perf_counter()
    for _ in range(steps):
        for model, data, substeps in models:
            mujoco.mj_step(model, data, nstep=substeps)
    return len(models) * steps / (time.perf_counter() - start)


def measure_ros(result: dict, tasks: Sequence[str], sizes: Sequence[int], steps: int,
                realtime_s: float) -> None:
    """Lockstep env-steps/s over ROS (node and agent in two processes) for every task and size,
    and the real-time mode's achieved rate at the largest size, into ``result``."""
    from .ros.bench import measure_lockstep, measure_realtime

    domain_id = 60 + os.getpid() % 40
    for task in tasks:
        for num_envs in sizes:
            rate = measure_lockstep(task, num_envs, steps, domain_id)
            result["ros_lockstep"].setdefault(task, {})[str(num_envs)] = rate
            _progress(f"{task} N={num_envs} ROS lockstep", rate)
        hz = measure_realtime(task, max(sizes), realtime_s, domain_id)
        result["ros_realtime_hz"][task] = hz
        print(f"  {task} N={max(sizes)} ROS real time: {hz:.1f} Hz (target 50)", file=sys.stderr)


def run(tasks: Sequence[str], sizes: Sequence[int], backends: Sequence[str], steps: int,
        repeats: int, with_async: bool = True, with_rss: bool = True) -> dict:
    """Every measurement, as the JSON document of SPEC 8."""
    cores = available_cores()
    result = {"cores": cores, "rows": [], "ceiling": {}, "gymnasium_async": {},
              "ros_lockstep": {}, "ros_realtime_hz": {}}
    for task in tasks:
        for num_envs in sizes:
            models = None
            for backend in backends:
                row = measure_backend(task, num_envs, backend, steps, repeats)
                models = row.pop("_models") or models
                if with_rss and num_envs == max(sizes):
                    row["rss_mb_per_env"] = rss_mb_per_env(task, num_envs, backend)
                result["rows"].append(row)
                _progress(f"{task} N={num_envs} {backend}", row["env_steps_per_s"])
            if with_async:
                rate = measure_async(task, num_envs, steps, repeats)
                result["gymnasium_async"].setdefault(task, {})[str(num_envs)] = rate
                _progress(f"{task} N={num_envs} gymnasium-async", rate)
            if num_envs == max(sizes) and models:
                rate = statistics.median(physics_rate(models, steps) for _ in range(repeats))
                result["ceiling"][task] = cores * rate
    return result


def camera_frames_per_s(task: str, resolution: tuple[int, int], renders: int) -> float:
    """Camera frames (RGB + depth of one camera) one env renders per second, median of 3."""
    from .assets.pipeline import generate_assets
    from .sim.core import SimEnv

    assets, _ = generate_assets(task, 1, 0, None, workers=1, progress=False)
    env = SimEnv(f"{task}_visual", assets[0], 0, camera_resolution=resolution)
    env.reset(seed=0)
    cameras = len(env.cameras.ids)
    env.render_cameras()  # warm-up: the GL context and the model's GPU copy
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(renders):
            env.render_cameras()
        rates.append(cameras * renders / (time.perf_counter() - start))
    env.close()
    return statistics.median(rates)


def measure_cameras(result: dict, tasks: Sequence[str], num_envs: int, steps: int,
                    repeats: int, backends: Sequence[str] = ("thread",)) -> None:
    """Fill ``result["cameras"]``: rendering rates, and the _visual batch against the plain one
    with the thread backend (and with each of ``backends`` in ``visual_by_backend``)."""
    rows = result.setdefault("cameras", [])
    for task in dict.fromkeys(name.removesuffix("_visual") for name in tasks):
        row = {"task": task, "num_envs": num_envs,
               "frames_per_s_128x128": camera_frames_per_s(task, (128, 128), 20),
               "frames_per_s_640x480": camera_frames_per_s(task, (640, 480), 5),
               "plain_env_steps_per_s": _batch_rate(task, "thread", num_envs, steps, repeats),
               "visual_by_backend": {}}
        for backend in dict.fromkeys(["thread", *backends]):
            row["visual_by_backend"][backend] = _batch_rate(f"{task}_visual", backend, num_envs,
                                                            steps, repeats)
        row["visual_env_steps_per_s"] = row["visual_by_backend"]["thread"]
        rows.append(row)


def _batch_rate(task: str, backend: str, num_envs: int, steps: int, repeats: int) -> float:
    env = gym.make_vec(f"spaceros/{task}", num_envs=num_envs, backend=backend,
                       vectorization_mode="vector_entry_point", copy=False, progress=False)
    try:
        rate = time_steps(env, random_actions(env, steps), repeats)[0]
    finally:
        env.close()
    _progress(f"{task} N={num_envs} {backend}", rate)
    return rate


def _progress(what: str, rate: float) -> None:
    print(f"  {what:45s} {rate:9.1f} env-steps/s", file=sys.stderr)


def markdown(result: dict) -> str:
    """The results as a markdown table with ratios to the ceiling, AsyncVectorEnv and real time."""
    lines = ["| task | backend | envs | env-steps/s | episodes/s | x ceiling | x async "
             "| x real time | RSS MB/env |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        ceiling = result["ceiling"].get(row["task"])
        gym_async = result["gymnasium_async"].get(row["task"], {}).get(str(row["num_envs"]))
        rate = row["env_steps_per_s"]
        rss = row["rss_mb_per_env"]
        lines.append(
            f"| {row['task']} | {row['backend']} | {row['num_envs']} | {rate:.0f} | "
            f"{row['episodes_per_s']:.2f} | {_ratio(rate, ceiling)} | {_ratio(rate, gym_async)} | "
            f"{rate / (row['num_envs'] * CONTROL_HZ):.1f} | {'-' if rss is None else f'{rss:.1f}'} |")
    lines.append("")
    lines.append(f"Physics ceiling ({result['cores']} cores x single-thread raw mj_step), "
                 "env-steps/s: " + ", ".join(f"{t} {v:.0f}" for t, v in result["ceiling"].items()))
    for task, by_size in result["gymnasium_async"].items():
        lines.append(f"Gymnasium AsyncVectorEnv, {task}: " +
                     ", ".join(f"N={n} {v:.0f}" for n, v in by_size.items()) + " env-steps/s")
    for task, by_size in result["ros_lockstep"].items():
        python = {str(r["num_envs"]): r["env_steps_per_s"] for r in result["rows"]
                  if r["task"] == task and r["backend"] == "thread"}
        lines.append(f"ROS lockstep, {task}: " + ", ".join(
            f"N={n} {v:.0f} ({_ratio(v, python.get(n))} x Python API)" for n, v in by_size.items())
            + f" env-steps/s; real time: {result['ros_realtime_hz'].get(task, 0):.1f} Hz")
    if result.get("cameras"):
        lines += ["", "| task | camera frames/s per env, 128x128 | 640x480 | envs | env-steps/s, "
                  "no cameras | with cameras | ratio |", "|---|---:|---:|---:|---:|---:|---:|"]
        for row in result["cameras"]:
            plain, visual = row["plain_env_steps_per_s"], row["visual_env_steps_per_s"]
            lines.append(f"| {row['task']} | {row['frames_per_s_128x128']:.0f} | "
                         f"{row['frames_per_s_640x480']:.1f} | {row['num_envs']} | {plain:.0f} | "
                         f"{visual:.0f} | {_ratio(visual, plain)} |")
        by_backend = [row for row in result["cameras"] if len(row["visual_by_backend"]) > 1]
        lines += [""] if by_backend else []
        for row in by_backend:
            lines.append(f"{row['task']}_visual, N={row['num_envs']}: " + ", ".join(
                f"{backend} {rate:.0f}" for backend, rate in row["visual_by_backend"].items())
                + " env-steps/s")
    return "\n".join(lines)


def _ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:.2f}" if reference else "-"


# Defaults of the flags left out, for a full run and for --quick (a smoke run, ~20 s on 2 cores).
FULL = {"tasks": None, "num_envs": [1, 16], "backends": list(BACKENDS), "steps": 200, "repeats": 3}
QUICK = {"tasks": ["perseverance"], "num_envs": [1, 2], "backends": ["sync", "thread"],
         "steps": 20, "repeats": 1}


def _fill_defaults(args):
    """Each flag left out takes its FULL or QUICK default (every task for a full run)."""
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, list_tasks() if value is None else value)
    return args


def _words(values) -> str:
    return " ".join(str(v) for v in values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("Measure env-steps/s per task, backend and number of envs, next to the "
                         "physics ceiling and Gymnasium's AsyncVectorEnv; print a markdown table.",
                         sim_flags=False)
    parser.add_argument("--tasks", nargs="+", type=task_name, default=None,
                        help="tasks to measure (default: every task; --quick: "
                             f"{_words(QUICK['tasks'])})")
    parser.add_argument("--num_envs", nargs="+", type=positive_int, default=None,
                        help=f"batch sizes (default: {_words(FULL['num_envs'])}; --quick: "
                             f"{_words(QUICK['num_envs'])})")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=None,
                        metavar="BACKEND",
                        help=f"backends to measure, any of: {_words(BACKENDS)} (default: all; "
                             f"--quick: {_words(QUICK['backends'])})")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help=f"timed steps per repeat (default: {FULL['steps']}; --quick: "
                             f"{QUICK['steps']})")
    parser.add_argument("--repeats", type=positive_int, default=None,
                        help="timed repeats, the median is reported (default: "
                             f"{FULL['repeats']}; --quick: {QUICK['repeats']})")
    parser.add_argument("--no_async", action="store_true", help="skip Gymnasium's AsyncVectorEnv")
    parser.add_argument("--ros", action="store_true",
                        help="also measure over ROS 2: lockstep env-steps/s against the Python API, "
                             "and the real-time mode's achieved rate")
    parser.add_argument("--cameras", action="store_true",
                        help="also measure camera rendering (frames/s per env at 128x128 and "
                             "640x480) and each task's _visual batch against the plain one at "
                             "the largest --num_envs (thread backend; the _visual batch also "
                             "with each of --backends)")
    parser.add_argument("--record", action="store_true",
                        help="also measure recording (--record): env-steps/s with and without it "
                             "and the MB/s written, at the largest --num_envs for each of "
                             "--backends (and the _visual tasks with --cameras)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of about 20 s: fewer tasks, backends, sizes, steps and "
                             "repeats (see each flag's default); flags given explicitly win")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--plot", type=Path,
                        help="write a PNG of the scaling here (a panel per task)")
    args = _fill_defaults(parser.parse_args(argv))
    result = run(args.tasks, args.num_envs, args.backends, args.steps, args.repeats,
                 with_async=not args.no_async)
    if args.ros:
        measure_ros(result, args.tasks, args.num_envs, args.steps, 2.0 if args.quick else 5.0)
    if args.cameras:
        measure_cameras(result, args.tasks, max(args.num_envs), max(10, args.steps // 4),
                        args.repeats, args.backends)
    if args.record:  # recording.bench: the batch with and without a recorder
        from .recording.bench import measure_recording, recording_markdown

        measure_recording(result, args.tasks, max(args.num_envs), args.backends, args.steps,
                          args.repeats, cameras=args.cameras)
    print(markdown(result))
    if args.record:
        print(recording_markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
    if args.plot:
        plot(result, args.plot)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0
