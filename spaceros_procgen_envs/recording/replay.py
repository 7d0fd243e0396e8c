"""``replay.py PATH``: re-run a recording from its seeds and compare every observation.

The env is rebuilt from the manifest (task, number of envs, world seed, domain, episode
length, camera size), reset with the recorded seeds at the recorded times, and stepped with
the recorded actions. Every observation key, reward and flag of every env at every step must
match bit for bit (``float32``/``float64`` compared as bytes, so ``-0.0 != 0.0`` and NaNs
count too); the first difference is reported with its env, step and key. Exit 0: identical;
1: a mismatch; 2: no recording at PATH.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from .dataset import load_dataset
from .manifest import read_manifest
from .paths import RecordingError


@dataclass(frozen=True)
class Mismatch:
    """Where a replay first differed: env, step (batch time), key, and both values."""

    env: int
    step: int
    key: str
    recorded: np.ndarray
    replayed: np.ndarray

    def __str__(self) -> str:
        rec, rep = np.asarray(self.recorded), np.asarray(self.replayed)
        diff = ""
        if rec.shape == rep.shape and rec.dtype.kind == "f":
            diff = f", max |difference| {float(np.max(np.abs(rec.astype(float) - rep))):.3g}"
        return (f"env {self.env}, step {self.step}, key {self.key!r}: recorded "
                f"{np.array2string(rec.ravel()[:6], precision=6)}, replayed "
                f"{np.array2string(rep.ravel()[:6], precision=6)}{diff}")


@dataclass
class ReplayResult:
    """``mismatch`` is None when everything matched."""

    steps: int
    num_envs: int
    episodes: int
    compared: int  # observations compared
    seconds: float
    mismatch: Mismatch | None = None


def same_bits(a, b) -> bool:
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


class Schedule:
    """The recording's episodes indexed by (env, time): what to feed and what to expect."""

    def __init__(self, episodes: list, metas: list[dict]):
        self.action, self.after_step, self.after_reset = {}, {}, {}
        self.steps = 0
        for ep, meta in zip(episodes, metas):
            i, t0, n = int(meta["env"]), int(meta["t0"]), len(ep.actions)
            for k in range(n):
                self.action[i, t0 + k] = (ep, k)  # applied by step t0 + k + 1
                self.after_step[i, t0 + k + 1] = (ep, k + 1)
            (self.after_reset if meta["started_by"] == "reset" else self.after_step)[i, t0] = \
                (ep, 0)
            self.steps = max(self.steps, t0 + n)


def _compare(env_index: int, step: int, source, obs: dict, extra: dict | None = None):
    ep, k = source
    for key, values in ep.observations.items():
        if not same_bits(values[k], obs[key][env_index]):
            return Mismatch(env_index, step, key, values[k], obs[key][env_index])
    for key, (recorded, replayed) in (extra or {}).items():
        if not same_bits(recorded, replayed):
            return Mismatch(env_index, step, key, recorded, replayed)
    return None


def replay(path, backend: str | None = None, progress=None) -> ReplayResult:
    """Replay the recording at ``path`` (see the module doc).

    Args:
        path: the recording directory.
        backend: the backend to replay on (default: the recorded one); any gives the same bits.
        progress: called with (step, steps) now and then, or None.

    Raises:
        RecordingError: not a recording, or its dataset is missing.
    """
    start = time.perf_counter()
    manifest = read_manifest(path)
    dataset = load_dataset(path, manifest["task"])
    episodes = list(dataset.iterate_episodes())
    metas = list(dataset.storage.get_episode_metadata([ep.id for ep in episodes]))
    plan = Schedule(episodes, metas)
    n, resets = manifest["num_envs"], manifest["resets"]
    env = gym.make_vec(f"spaceros/{manifest['task']}", num_envs=n,
                       vectorization_mode="vector_entry_point",
                       backend=backend or manifest.get("backend") or "sync",
                       **manifest["make_kwargs"])
    result = ReplayResult(plan.steps, n, len(episodes), 0, 0.0)
    try:
        result.mismatch = _run(env, plan, resets, result, progress)
    finally:
        env.close()
    result.seconds = time.perf_counter() - start
    return result


def _run(env, plan: Schedule, resets: list[dict], result: ReplayResult, progress):
    n, dim = env.num_envs, env.single_action_space.shape[0]
    by_time: dict[int, list[dict]] = {}
    for event in resets:
        by_time.setdefault(int(event["time"]), []).append(event)
    for t in range(plan.steps + 1):
        for event in by_time.get(t, ()):
            seeds, mask = [None] * n, np.zeros(n, bool)
            for i, seed in zip(event["envs"], event["seeds"]):
                seeds[i], mask[i] = seed, True
            obs, _ = env.reset(seed=seeds, options=None if mask.all() else {"reset_mask": mask})
            for i in event["envs"]:
                if (i, t) in plan.after_reset:
                    result.compared += 1
                    if (bad := _compare(i, t, plan.after_reset[i, t], obs)) is not None:
                        return bad
        if t == plan.steps:
            return None
        actions = np.zeros((n, dim), np.float32)
        for i in range(n):
            if (i, t) in plan.action:
                ep, k = plan.action[i, t]
                actions[i] = ep.actions[k]
        obs, rewards, terminated, truncated, _ = env.step(actions)
        for i in range(n):
            if (i, t + 1) not in plan.after_step:
                continue
            ep, k = plan.after_step[i, t + 1]
            extra = None if (i, t) not in plan.action else {
                "reward": (ep.rewards[k - 1], rewards[i]),
                "terminated": (ep.terminations[k - 1], terminated[i]),
                "truncated": (ep.truncations[k - 1], truncated[i])}
            result.compared += 1
            if (bad := _compare(i, t + 1, (ep, k), obs, extra)) is not None:
                return bad
        if progress is not None and (t + 1) % 100 == 0:
            progress(t + 1, plan.steps)
    return None


def _recording_dir(text: str) -> str:
    try:
        read_manifest(text)
    except RecordingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """``replay.py PATH [--backend B]``: exit 0 identical, 1 mismatch, 2 bad input."""
    from ..cli import OneLineParser, backend_name

    parser = OneLineParser(prog="replay.py", description=(
        "Re-run a recording (the directory given to --record) from its seeds and recorded "
        "actions; every observation, reward and flag must match bit for bit."))
    parser.add_argument("path", type=_recording_dir, metavar="PATH")
    parser.add_argument("--backend", type=backend_name, default=None,
                        help="backend to replay on (default: the recorded one)")
    args = parser.parse_args(argv)
    result = replay(args.path, args.backend)
    what = (f"{result.steps} steps x {result.num_envs} envs, {result.episodes} episodes, "
            f"{result.compared} observations in {result.seconds:.1f} s")
    if result.mismatch is None:
        print(f"replay: identical, bit for bit ({what})")
        return 0
    print(f"replay: MISMATCH at {result.mismatch} ({what}, stopped at the first)",
          file=sys.stderr)
    return 1
