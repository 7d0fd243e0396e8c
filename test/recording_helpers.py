"""A small recording made once per test module, with what the env returned while it ran."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium
import numpy as np

import spaceros_procgen_envs  # noqa: F401  (registers the ids)

TASK, NUM_ENVS, WORLD_SEED, EPISODE_SEED, STEPS, EPISODE_STEPS, RESET_AT = \
    "perseverance", 3, 3, 7, 60, 25, 30


@dataclass
class Run:
    """What the env returned: observations by time, after a step and after a reset."""

    path: Path
    after_step: dict[int, dict] = field(default_factory=dict)
    after_reset: dict[int, dict] = field(default_factory=dict)
    actions: dict[int, np.ndarray] = field(default_factory=dict)  # by step number, clipped
    rewards: dict[int, np.ndarray] = field(default_factory=dict)
    terminated: dict[int, np.ndarray] = field(default_factory=dict)
    resets: list[tuple[int, list[int]]] = field(default_factory=list)  # (time, envs)


def record_run(path: Path, backend: str = "sync", task: str = TASK, steps: int = STEPS,
               wait_for_writer: bool = False, **recorder) -> Run:
    """Record ``steps`` random steps of NUM_ENVS envs (episodes of EPISODE_STEPS, env 1 reset
    by hand at time RESET_AT) into ``path``; actions partly outside [-1, 1] (clipped).
    ``wait_for_writer``: start stepping once the background dataset writer is up, so every
    episode goes through it."""
    from spaceros_procgen_envs.recording import RecordingVectorEnv

    env = gymnasium.make_vec(f"spaceros/{task}", num_envs=NUM_ENVS, backend=backend,
                             vectorization_mode="vector_entry_point", seed=WORLD_SEED,
                             max_episode_steps=EPISODE_STEPS)
    env = RecordingVectorEnv(env, path, **recorder)
    if wait_for_writer:
        worker, deadline = env.recorder.book.writer._worker, time.monotonic() + 120
        while not worker.ready():
            assert time.monotonic() < deadline, "the dataset writer process did not start"
            time.sleep(0.05)
    run, rng = Run(path), np.random.default_rng(0)
    try:
        obs, _ = env.reset(seed=EPISODE_SEED)
        run.after_reset[0], run.resets = obs, [(0, list(range(NUM_ENVS)))]
        for t in range(1, steps + 1):
            actions = rng.uniform(-1.3, 1.3, env.action_space.shape).astype(np.float32)
            obs, rewards, terminated, truncated, _ = env.step(actions)
            run.actions[t] = np.clip(actions, -1, 1)
            run.after_step[t], run.rewards[t], run.terminated[t] = obs, rewards, terminated
            if t == RESET_AT:
                mask = np.arange(NUM_ENVS) == 1
                run.after_reset[t], _ = env.reset(options={"reset_mask": mask})
                run.resets.append((t, [1]))
    finally:
        env.close()
    return run


def expected_obs(run: Run, meta: dict, k: int) -> dict:
    """Observation ``k`` of the episode described by ``meta``, as the env returned it."""
    i, t0 = int(meta["env"]), int(meta["t0"])
    source = run.after_reset[t0] if k == 0 and meta["started_by"] == "reset" \
        else run.after_step[t0 + k]
    return {key: value[i] for key, value in source.items()}
