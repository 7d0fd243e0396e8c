"""``benchmark.py --train``: training throughput against the batch's own stepping rate.

Per task, batch size and backend, alternating in one run (A, B, A, B, ... ``repeats`` pairs, so
load on a shared machine hits both alike):

* A, the batch: ``gymnasium.make_vec`` stepped with random actions (as the main table does);
* B, training: ``train.py``'s own loop (:func:`~.training.train`, PPO with the task's
  :mod:`.defaults`) for :data:`ROLLOUTS` rollouts of ``n_steps x num_envs`` env steps into a
  temporary run folder, final evaluation off, CSV rows at the full run's cadence. Its rate is
  the env steps over the ``learn`` call (``progress.csv``'s last ``wall_s``: the start-up,
  reset and final save excluded), updates included, plus the checkpoints of a full run
  (policy save and learning-curve redraw, timed here once per pair) spread over the env
  steps between two of them.

The ratio is the median over the pairs of B / A: the figure the training target
(>= 0.5 x the batch's stepping rate) is read from.
"""

from __future__ import annotations

import io
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ..benchmark_passes import batch, random_actions, time_steps
from . import bundle
from .curves import CsvLog, LearningCurve, read_rows
from .defaults import algo_kwargs
from .training import TrainConfig, train

ROLLOUTS = 3  # PPO rollouts (and updates) per timed training run


def batch_rate(task: str, num_envs: int, backend: str, steps: int, seed: int) -> float:
    """env-steps/s of the batch alone, random actions, one timed run after a warm-up."""
    with batch(task, num_envs, backend, seed=seed) as env:
        return time_steps(env, random_actions(env, steps), 1)[0]


def checkpoint_seconds(run: Path, policy_dir: Path) -> float:
    """Seconds of one checkpoint as training writes it after the first: the policy saved
    (:func:`.bundle.save`) and the learning curve redrawn after the CSV grew a row."""
    policy = bundle.LoadedPolicy(policy_dir)
    normalizer = policy.normalizer  # unpickled without its env: what its pickling drops again
    normalizer.venv, normalizer.class_attributes, normalizer.returns = None, {}, None
    curve = LearningCurve(run / "learning_curve.png", "checkpoint timing")
    curve.update(run / "progress.csv")  # the first draw builds the figure
    log = CsvLog(run / "progress.csv", [])
    log.append({**log.last, "env_steps": log.last["env_steps"] + 1})
    start = time.perf_counter()
    bundle.save(run / "timed_checkpoint", policy.model, normalizer, policy.meta)
    curve.update(log.path)
    seconds = time.perf_counter() - start
    curve.close()
    return seconds


def train_rate(task: str, num_envs: int, backend: str, where: Path, seed: int) -> dict:
    """One timed training run (see the module's docstring): its env steps, learn seconds,
    checkpoint seconds and env-steps/s."""
    full = TrainConfig(task=task, num_envs=num_envs, backend=backend, seed=seed).resolved()
    steps = ROLLOUTS * algo_kwargs(task, "ppo", num_envs, full.steps)["n_steps"] * num_envs
    cfg = TrainConfig(task=task, num_envs=num_envs, steps=steps, seed=seed, run_dir=str(where),
                      backend=backend, eval_envs=0, log_every=full.log_every,
                      checkpoint_every=full.checkpoint_every)
    policy_dir, _ = train(cfg, stream=io.StringIO())
    last = read_rows(where / "progress.csv")[-1]
    learn_s, done = last["wall_s"], int(last["env_steps"])
    checkpoint_s = checkpoint_seconds(where, policy_dir)
    amortised = checkpoint_s * done / full.checkpoint_every if done < full.checkpoint_every \
        else 0.0  # a run this long had its checkpoints inside learn_s
    return {"env_steps": done, "learn_s": learn_s, "checkpoint_s": checkpoint_s,
            "checkpoint_every": full.checkpoint_every,
            "env_steps_per_s": done / (learn_s + amortised)}


def measure_training(result: dict, tasks: Sequence[str], sizes: Sequence[int],
                     backends: Sequence[str], steps: int, repeats: int, seed: int = 42) -> None:
    """Fill ``result["train"]``: a row per task, size and backend (see the module)."""
    rows = result.setdefault("train", [])
    for task in tasks:
        for num_envs in sizes:
            for backend in backends:
                rows.append(_pairs(task, num_envs, backend, steps, repeats, seed))


def _pairs(task: str, num_envs: int, backend: str, steps: int, repeats: int, seed: int) -> dict:
    batch, trained = [], []
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        for k in range(repeats):
            batch.append(batch_rate(task, num_envs, backend, steps, seed))
            _progress(f"{task} N={num_envs} {backend} batch", batch[-1])
            trained.append(train_rate(task, num_envs, backend, Path(tmp) / f"run{k}", seed))
            _progress(f"{task} N={num_envs} {backend} training", trained[-1]["env_steps_per_s"])
    ratios = [t["env_steps_per_s"] / b for t, b in zip(trained, batch)]
    return {"task": task, "num_envs": num_envs, "backend": backend, "algo": "ppo",
            "batch_env_steps_per_s": statistics.median(batch),
            "train_env_steps_per_s": statistics.median(t["env_steps_per_s"] for t in trained),
            "ratio": statistics.median(ratios), "ratios": ratios,
            "train_steps": trained[0]["env_steps"],
            "checkpoint_s": statistics.median(t["checkpoint_s"] for t in trained),
            "checkpoint_every": trained[0]["checkpoint_every"], "repeats": repeats}


def _progress(what: str, rate: float) -> None:
    print(f"  {what:45s} {rate:9.1f} env-steps/s", file=sys.stderr)


def training_markdown(result: dict) -> str:
    """The ``--train`` rows as a markdown table, with how they were measured."""
    lines = ["| task | envs | backend | batch env-steps/s | training env-steps/s | "
             "training / batch | pairs |", "|---|---:|---|---:|---:|---:|---|"]
    for row in result.get("train", []):
        pairs = " ".join(f"{r:.2f}" for r in row["ratios"])
        lines.append(f"| {row['task']} | {row['num_envs']} | {row['backend']} | "
                     f"{row['batch_env_steps_per_s']:.0f} | {row['train_env_steps_per_s']:.0f} | "
                     f"{row['ratio']:.2f} | {pairs} |")
    for row in result.get("train", [])[:1]:
        lines += ["", f"Training: train.py's PPO with the task's defaults, {ROLLOUTS} rollouts "
                  f"({row['train_steps']} env steps) timed over the learn call, updates included, "
                  f"plus a checkpoint ({row['checkpoint_s']:.2f} s) every "
                  f"{row['checkpoint_every']} env steps as in a full run. Batch: random actions. "
                  "Measured alternately in one run; the ratio is the median of the pairs'."]
    return "\n".join(lines)
