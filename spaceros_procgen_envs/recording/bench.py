"""``benchmark.py --record``: what recording costs (env-steps/s with and without it, MB/s).

Per task and backend, at one batch size: the batch stepped with random actions without
recording and through :class:`~.recorder.RecordingVectorEnv` (bag + dataset, episodes written
as they end), median of ``repeats`` runs after a warm-up. A run lasts at least 1.2 of the
task's episodes, so every env's first episode ends and is written to the dataset while the
batch steps: the rate is that of a long recording. Closing (the open episodes' rows, the
bag's index), once per recording, is reported on its own. MB/s is the bytes on disk per env
step times the recording rate.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ..benchmark_passes import batch, random_actions
from ..registry import get_task
from ..sim.robots.base import CONTROL_HZ
from .recorder import RecordingVectorEnv

WARMUP_STEPS = 10


def _timed(task: str, backend: str, num_envs: int, steps: int, where: Path | None
           ) -> tuple[float, int, float]:
    """(env-steps/s, bytes on disk, close s) of one run; ``where``: record there, None: plain."""
    with batch(task, num_envs, backend) as plain:
        env = plain if where is None else RecordingVectorEnv(plain, where)
        actions = random_actions(env, steps + WARMUP_STEPS)
        try:
            env.reset(seed=0)
            for k in range(WARMUP_STEPS):
                env.step(actions[k])
            start = time.perf_counter()
            for k in range(WARMUP_STEPS, WARMUP_STEPS + steps):
                env.step(actions[k])
            seconds = time.perf_counter() - start
            if where is not None:
                env.recorder.close()
            close_s = time.perf_counter() - start - seconds
        finally:
            env.close()  # the recording's too, should a step fail
    size = 0 if where is None else sum(f.stat().st_size for f in where.rglob("*") if f.is_file())
    return steps * num_envs / seconds, size, close_s


def measure_recording(result: dict, tasks: Sequence[str], num_envs: int,
                      backends: Sequence[str], steps: int, repeats: int,
                      cameras: bool = False) -> None:
    """Fill ``result["recording"]``: a row per task (and ``<task>_visual`` with ``cameras``)
    and backend."""
    rows = result.setdefault("recording", [])
    names = list(dict.fromkeys(tasks))
    names += [f"{t}_visual" for t in names if cameras and not t.endswith("_visual")]
    for task in names:
        n_steps = max(10, steps // 4) if task.endswith("_visual") else \
            max(steps, int(1.2 * get_task(task).time_limit_s * CONTROL_HZ))
        for backend in backends:
            rows.append(_measure(task, backend, num_envs, n_steps, repeats))


def _measure(task: str, backend: str, num_envs: int, steps: int, repeats: int) -> dict:
    plain, recorded, sizes, closing = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="spaceros_record_bench_") as tmp:
        for k in range(repeats):
            plain.append(_timed(task, backend, num_envs, steps, None)[0])
            where = Path(tmp) / f"run{k}"
            rate, size, close_s = _timed(task, backend, num_envs, steps, where)
            recorded.append(rate)
            sizes.append(size)
            closing.append(close_s)
            shutil.rmtree(where, ignore_errors=True)
    row = {"task": task, "backend": backend, "num_envs": num_envs, "steps": steps,
           "env_steps_per_s": statistics.median(plain),
           "recording_env_steps_per_s": statistics.median(recorded),
           "bytes_per_env_step": statistics.median(sizes) / (steps * num_envs),
           "close_s": statistics.median(closing)}
    row["ratio"] = row["recording_env_steps_per_s"] / row["env_steps_per_s"]
    row["x_real_time"] = row["recording_env_steps_per_s"] / (num_envs * CONTROL_HZ)
    row["mb_per_s"] = row["recording_env_steps_per_s"] * row["bytes_per_env_step"] / 1e6
    print(f"  record {task} N={num_envs} {backend:8s} {row['env_steps_per_s']:9.1f} -> "
          f"{row['recording_env_steps_per_s']:9.1f} env-steps/s, {row['mb_per_s']:.2f} MB/s",
          file=sys.stderr)
    return row


def recording_markdown(result: dict) -> str:
    """The ``recording`` rows as a markdown table."""
    lines = ["| task | backend | N | env-steps/s | recording | ratio | x real time | MB/s | "
             "bytes/env-step | close s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result.get("recording", []):
        lines.append(f"| {r['task']} | {r['backend']} | {r['num_envs']} | "
                     f"{r['env_steps_per_s']:.0f} | {r['recording_env_steps_per_s']:.0f} | "
                     f"{r['ratio']:.2f} | {r['x_real_time']:.1f} | {r['mb_per_s']:.2f} | "
                     f"{r['bytes_per_env_step']:.0f} | {r['close_s']:.2f} |")
    return "\n".join(lines)
