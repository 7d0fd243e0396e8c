"""``benchmark.py``: env-steps/s per task, backend and batch size, side by side in one run.

Next to every backend it measures, on the same machine in the same run:

* the *physics ceiling*: MuJoCo's own ``mujoco.batch.Batch.step`` of the very same models,
  replaying the very same controls (recorded from a run of the task), on every core and on one
  core: what MuJoCo itself reaches without any task logic;
* Gymnasium's own ``AsyncVectorEnv`` (one subprocess per env) over our single env.

From those it reports the Python overhead per env step (the time a step takes beyond the
ceiling's, divided by the envs) and the physics share (ceiling time / step time). ``sync`` is
compared with the one-core ceiling, every other backend with the all-cores one. The ceiling
replays exactly the passes that were timed (same reset, warm-up and actions), and each timed
pass of a backend is paired with a replay of that pass just before it; share and overhead are
medians over those pairs, so a slow moment of a shared machine lands on both sides of a ratio.

Every figure is the median of ``--repeats`` timed runs after a warm-up. episodes/s is
env-steps/s over the mean episode length of the timed steps (episodes that ended, or the
time limit when none did). RSS per env is measured in a fresh interpreter, summed over it and
every process it started (workers, Ray actors and daemons), the memory a batch adds divided
by its size.

``--cameras`` adds, per task: the camera frames one env renders per second at 128 x 128 and
640 x 480 (one render thread, RGB and depth from one draw), and the env-steps/s of the
``<task>_visual`` batch beside the same batch without cameras (thread backend, the largest N;
the ``_visual`` batch also with each of ``--backends``).

After the table it says which targets of SPEC 8 the run met, on every task it measured
(:mod:`.benchmark_targets`; also ``"targets"`` in the JSON).

``--python`` splits each step's Python further: timed directly around ``Batch.step`` as it
runs, and again with the physics left out, on warm caches (:mod:`.benchmark_python`).

``--train`` measures instead, per task, N and backend (default perseverance, N = 32, thread):
``train.py``'s PPO throughput (env steps/s, updates included) against the batch's own stepping
rate, alternately in one run, and their ratio (see :mod:`.rl.bench`).
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
import numpy as np
from mujoco.batch import Batch

from .benchmark_passes import (backend_options, batch, random_actions, time_steps, timed_passes,
                               warmup_steps)
from .benchmark_plot import plot
from .benchmark_targets import targets_markdown, verdicts
from .cli import BACKENDS, make_parser, positive_int, task_name
from .registry import get_task, list_tasks
from .sim.robots.base import CONTROL_HZ
from .vector.backends import available_cores

_RSS_PROBE = """
import os, sys, gymnasium as gym, spaceros_procgen_envs
def rss():  # MB resident in this process and every process it started
    pids, kids = [os.getpid()], {{}}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                ppid = int(open(f'/proc/{{entry}}/stat').read().rsplit(')', 1)[1].split()[1])
            except OSError:
                continue
            kids.setdefault(ppid, []).append(int(entry))
    total, i = 0, 0
    while i < len(pids):
        try:
            total += int(open(f'/proc/{{pids[i]}}/statm').read().split()[1]) * 4096
        except OSError:
            pass
        pids += kids.get(pids[i], [])
        i += 1
    return total / 2**20
def make(n):
    return gym.make_vec('spaceros/{task}', num_envs=n, vectorization_mode='vector_entry_point',
                        backend='{backend}', progress=False, **{options!r})
make(1).close()  # imports, caches and lazy init done
before = rss()
env = make({n})
env.reset(seed=0)
env.step(env.action_space.sample())
print((rss() - before) / {n})
env.close()
"""
ASYNC_MAX_ENVS = 16  # AsyncVectorEnv starts a process per env: larger batches are not measured


def limit_steps(task: str) -> int:
    """Agent steps of one episode of ``task`` at its time limit."""
    return int(round(get_task(task).time_limit_s * CONTROL_HZ))


def rss_mb_per_env(task: str, num_envs: int, backend: str) -> float:
    """MB of resident memory one env adds (workers and actors included), in a fresh interpreter."""
    code = _RSS_PROBE.format(task=task, n=num_envs, backend=backend,
                             options=backend_options(backend))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 2)


def measure_backend(task: str, num_envs: int, backend: str, steps: int, repeats: int,
                    recording=None) -> dict:
    """One row of the table. With a :func:`record_controls` ``recording`` of the same task, N,
    steps and repeats, each timed pass is paired with the ceiling of that very pass, replayed
    just before it (on one core for ``sync``, else on every core): the row's physics share and
    Python overhead are the medians over the pairs, so a slow moment of a shared machine
    weighs on both sides of a ratio instead of on one."""
    with batch(task, num_envs, backend) as env:
        replay = None if recording is None else \
            Replay(recording, 1 if backend == "sync" else available_cores())
        ceilings: list[float] = []
        rates, ends = timed_passes(env, random_actions(env, steps), repeats,
                                   None if replay is None else
                                   lambda k: ceilings.append(replay.rate(k)))
    rate = statistics.median(rates)
    length = num_envs * steps * repeats / ends if ends else limit_steps(task)
    row = {"task": task, "backend": backend, "num_envs": num_envs, "env_steps_per_s": rate,
           "episodes_per_s": rate / length, "rss_mb_per_env": None}
    if ceilings:
        row.update(pairs=[{"env_steps_per_s": r, "ceiling_env_steps_per_s": c}
                          for r, c in zip(rates, ceilings)],
                   ceiling_env_steps_per_s=statistics.median(ceilings),
                   physics_share=statistics.median(r / c for r, c in zip(rates, ceilings)),
                   python_us_per_env_step=statistics.median(
                       max(0.0, 1e6 / r - 1e6 / c) for r, c in zip(rates, ceilings)))
    return row


def measure_async(task: str, num_envs: int, steps: int, repeats: int) -> float:
    """env-steps/s of Gymnasium's AsyncVectorEnv over our single env."""
    env = gym.make_vec(f"spaceros/{task}", num_envs=num_envs, vectorization_mode="async",
                       progress=False)
    rate, _ = time_steps(env, random_actions(env, steps), repeats)
    env.close()
    return rate


def record_controls(task: str, num_envs: int, steps: int, repeats: int):
    """What the physics of :func:`timed_passes` sees, step for step: the models, and for each of
    the ``repeats`` timed passes the batch state where the pass starts and the controls of its
    ``steps`` steps, (steps, n, nu). The same reset, warm-up and actions (sync backend, which
    every backend matches bit for bit), so the ceiling replays the very physics that was timed.
    """
    with batch(task, num_envs, "sync") as env:
        view = env.unwrapped.backend.slices[0].view  # the slice's one Batch
        actions = random_actions(env, steps)
        env.reset(seed=0)
        for action in actions[:warmup_steps(steps)]:
            env.step(action)
        passes = []
        for _ in range(repeats):
            state, recorded = view.batch.state.copy(), []
            for action in actions:
                env.step(action)
                recorded.append(view.ctrl.copy())
            passes.append((state, np.stack(recorded)))
        return list(view.models), passes, view.substeps


class Replay:
    """The physics ceiling of a :func:`record_controls` recording: ``Batch.step`` of its models
    on ``nthread`` threads, replaying one timed pass at a time from that pass's start state."""

    def __init__(self, recording, nthread: int):
        models, self.passes, self.substeps = recording
        self.batch = Batch(models[0], len(models), nthread=nthread)
        if len(models) > 1:
            self.batch.set_models(models)
        self.ctrl = self.batch.bind("ctrl")

    def rate(self, k: int) -> float:
        """env-steps/s of replaying pass ``k``."""
        state, controls = self.passes[k]
        self.batch.state[:] = state
        start = time.perf_counter()
        for step_ctrl in controls:
            self.ctrl[:] = step_ctrl
            self.batch.step(nstep=self.substeps)
        return controls.shape[0] * controls.shape[1] / (time.perf_counter() - start)


def physics_ceiling(recording, nthread: int) -> float:
    """env-steps/s of ``Batch.step`` replaying a :func:`record_controls` recording on
    ``nthread`` threads: each timed pass from its own start state (median of the passes)."""
    replay = Replay(recording, nthread)
    return statistics.median(replay.rate(k) for k in range(len(replay.passes)))


def add_overheads(result: dict) -> None:
    """Python us per env step and physics share of every row measured without its own paired
    ceilings, against the task's ceiling at its N."""
    for row in result["rows"]:
        ceiling = result["ceiling_by_n"].get(row["task"], {}).get(str(row["num_envs"]))
        if not ceiling or "physics_share" in row:
            continue
        reference = ceiling["one_core"] if row["backend"] == "sync" else ceiling["all_cores"]
        rate = row["env_steps_per_s"]
        row["ceiling_env_steps_per_s"] = reference
        row["python_us_per_env_step"] = max(0.0, 1e6 / rate - 1e6 / reference)
        row["physics_share"] = rate / reference


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
    """Every measurement, as the JSON document of SPEC 8 (plus ``ceiling_by_n`` and the
    per-row overhead columns)."""
    cores = available_cores()
    result = {"cores": cores, "rows": [], "ceiling": {}, "ceiling_by_n": {},
              "gymnasium_async": {}, "ros_lockstep": {}, "ros_realtime_hz": {}}
    for task in tasks:
        for num_envs in sizes:
            recording = record_controls(task, num_envs, steps, repeats)
            ceiling = {"all_cores": physics_ceiling(recording, cores),
                       "one_core": physics_ceiling(recording, 1)}
            result["ceiling_by_n"].setdefault(task, {})[str(num_envs)] = ceiling
            result["ceiling"][task] = ceiling["all_cores"]  # the largest N, as SPEC 8 has it
            _progress(f"{task} N={num_envs} ceiling (all cores)", ceiling["all_cores"])
            for backend in backends:
                row = measure_backend(task, num_envs, backend, steps, repeats, recording)
                if with_rss and num_envs == max(sizes):
                    row["rss_mb_per_env"] = rss_mb_per_env(task, num_envs, backend)
                result["rows"].append(row)
                _progress(f"{task} N={num_envs} {backend}", row["env_steps_per_s"],
                          row["physics_share"])
            del recording
            if with_async and num_envs <= ASYNC_MAX_ENVS:
                rate = measure_async(task, num_envs, steps, repeats)
                result["gymnasium_async"].setdefault(task, {})[str(num_envs)] = rate
                _progress(f"{task} N={num_envs} gymnasium-async", rate)
    add_overheads(result)
    return result


def camera_frames_per_s(task: str, resolution: tuple[int, int], renders: int) -> float:
    """Camera frames (RGB + depth of one camera) one env renders per second, median of 3."""
    from .registry import generate_assets
    from .world import SimEnv

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
    with batch(task, num_envs, backend) as env:
        rate = time_steps(env, random_actions(env, steps), repeats)[0]
    _progress(f"{task} N={num_envs} {backend}", rate)
    return rate


def _progress(what: str, rate: float, share: float | None = None) -> None:
    tail = "" if share is None else f"  (physics share {share:.2f})"
    print(f"  {what:45s} {rate:9.1f} env-steps/s{tail}", file=sys.stderr)


def markdown(result: dict) -> str:
    """The results as a markdown table with ratios to the ceiling, AsyncVectorEnv and real time."""
    lines = ["| task | backend | envs | env-steps/s | episodes/s | ceiling | physics share "
             "| Python us/env-step | x async | x real time | RSS MB/env |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        gym_async = result["gymnasium_async"].get(row["task"], {}).get(str(row["num_envs"]))
        rate, rss = row["env_steps_per_s"], row["rss_mb_per_env"]
        ceiling, share = row.get("ceiling_env_steps_per_s"), row.get("physics_share")
        python = row.get("python_us_per_env_step")
        lines.append(
            f"| {row['task']} | {row['backend']} | {row['num_envs']} | {rate:.0f} | "
            f"{row['episodes_per_s']:.2f} | {'-' if ceiling is None else f'{ceiling:.0f}'} | "
            f"{'-' if share is None else f'{share:.2f}'} | "
            f"{'-' if python is None else f'{python:.1f}'} | "
            f"{_ratio(rate, gym_async)} | {rate / (row['num_envs'] * CONTROL_HZ):.1f} | "
            f"{'-' if rss is None else f'{rss:.1f}'} |")
    lines.append("")
    lines.append("Ceiling: MuJoCo's Batch.step of the same models replaying the same controls, "
                 f"on {result['cores']} cores (on one core for sync), each timed pass paired with "
                 "its own replay; physics share: the median over the pairs of env-steps/s / "
                 "ceiling.")
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
        # With cameras a batch runs 70 to 220 x slower than without here: the table gives how many
        # times real time it still runs, and that slowdown, rather than a ratio reading 0.00.
        lines += ["", "| task | camera frames/s per env, 128x128 | 640x480 | envs | env-steps/s, "
                  "no cameras | with cameras | x real time, with cameras | slowdown |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for row in result["cameras"]:
            plain, visual = row["plain_env_steps_per_s"], row["visual_env_steps_per_s"]
            lines.append(f"| {row['task']} | {row['frames_per_s_128x128']:.0f} | "
                         f"{row['frames_per_s_640x480']:.1f} | {row['num_envs']} | {plain:.0f} | "
                         f"{visual:.0f} | {visual / (row['num_envs'] * CONTROL_HZ):.2f} | "
                         f"{plain / visual:.0f} x |")
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
# --train (about 1.5 min on 2 cores): training against the batch's stepping at one size
TRAIN = {"tasks": ["perseverance"], "num_envs": [32], "backends": ["thread"], "steps": 200,
         "repeats": 3}


def _fill_defaults(args):
    """Each flag left out takes its FULL, QUICK or TRAIN default (every task for a full run)."""
    defaults = TRAIN if getattr(args, "train", False) else QUICK if args.quick else FULL
    for name, value in defaults.items():
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
    parser.add_argument("--python", action="store_true",
                        help="also time each step's Python directly (all of a step but "
                             "Batch.step; thread backend, every task and --num_envs), then the "
                             "same steps with the physics left out, on warm caches: what the "
                             "Python pays for following the physics on the same cores; and what "
                             "20 to 100 us of Python before a Batch.step add to it (waking "
                             "MuJoCo's pool)")
    parser.add_argument("--train", action="store_true",
                        help="measure only training: train.py's PPO env-steps/s (updates "
                             "included) against the batch's own stepping rate, alternately, and "
                             f"their ratio (default: {_words(TRAIN['tasks'])}, N = "
                             f"{_words(TRAIN['num_envs'])}, {_words(TRAIN['backends'])}, "
                             f"{TRAIN['repeats']} pairs; needs the rl extra)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run of about 20 s: fewer tasks, backends, sizes, steps and "
                             "repeats (see each flag's default); flags given explicitly win")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--plot", type=Path,
                        help="write a PNG of the scaling here (a panel per task) and beside it "
                             "<name>_share.png: each backend's physics share against N, with "
                             "the targets marked")
    args = _fill_defaults(parser.parse_args(argv))
    if args.train:
        return _train_main(parser, args)
    result = run(args.tasks, args.num_envs, args.backends, args.steps, args.repeats,
                 with_async=not args.no_async)
    if args.ros:
        measure_ros(result, args.tasks, args.num_envs, args.steps, 2.0 if args.quick else 5.0)
    if args.cameras:
        measure_cameras(result, args.tasks, max(args.num_envs), max(10, args.steps // 4),
                        args.repeats, args.backends)
    if args.python:  # benchmark_python: a step's Python, after the physics and warm
        from .benchmark_python import measure_python, python_markdown

        measure_python(result, args.tasks, args.num_envs, args.steps, args.repeats)
    if args.record:  # recording.bench: the batch with and without a recorder
        from .recording.bench import measure_recording, recording_markdown

        measure_recording(result, args.tasks, max(args.num_envs), args.backends, args.steps,
                          args.repeats, cameras=args.cameras)
    result["targets"] = verdicts(result)
    print(markdown(result))
    if result["targets"]:
        print("\n" + targets_markdown(result["targets"]))
    if args.python:
        print("\n" + python_markdown(result))
    if args.record:
        print(recording_markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
    if args.plot:
        for path in plot(result, args.plot):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _train_main(parser, args) -> int:
    """``--train``: the training table (and its JSON) only."""
    from .rl.deps import MissingRLDependency, ensure_rl

    try:
        ensure_rl(None)
    except MissingRLDependency as exc:
        parser.error(str(exc))
    from .rl.bench import measure_training, training_markdown

    result = {"cores": available_cores()}
    measure_training(result, args.tasks, args.num_envs, args.backends, args.steps, args.repeats)
    print(training_markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
