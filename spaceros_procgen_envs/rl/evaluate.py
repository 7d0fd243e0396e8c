"""Evaluate a saved policy on held-out worlds: success rate, mean return, episodes/s.

The episodes run exactly as ``agent_policy.py --lockstep`` runs them over ROS: the batch (NEXT_STEP
autoreset, the task's own time limit) starts as the node does, ``reset(seed=seed)``, then every
env is reset once more (the agent's ``sim/reset`` call, which gives it the first observation),
and the policy acts deterministically on every observation. So both take the same actions to
the bit, on the same seeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .bundle import LoadedPolicy
from .vec_env import make_native


@dataclass
class EvalResult:
    """What :func:`evaluate` measured (returns and successes in env order, then episode)."""

    task: str
    num_envs: int
    seed: int
    returns: np.ndarray      # (episodes,) undiscounted episode returns
    successes: np.ndarray    # (episodes,) bool, ``info["is_success"]`` at the episode's end
    steps: int               # batch steps taken
    seconds: float           # wall time of the stepping
    actions: np.ndarray | None = field(default=None, repr=False)  # (steps, n, action_dim)
    stages: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (episodes,) bool reached

    @property
    def stage_rates(self) -> dict[str, float]:
        """Share of the episodes that reached each of the task's stages (e.g. reach, grasp)."""
        return {name: float(flags.mean()) if flags.size else float("nan")
                for name, flags in self.stages.items()}

    @property
    def success_rate(self) -> float:
        return float(self.successes.mean()) if self.successes.size else float("nan")

    @property
    def mean_return(self) -> float:
        return float(self.returns.mean()) if self.returns.size else float("nan")

    @property
    def episodes_per_s(self) -> float:
        return self.returns.size / max(self.seconds, 1e-9)

    def summary(self, prefix: str = "eval") -> str:
        """One line: worlds, success rate (and each stage's), mean return, episodes/s."""
        last = self.seed + self.num_envs - 1
        stages = "".join(f" {name} {rate:.2f}," for name, rate in self.stage_rates.items())
        return (f"{prefix}: {self.task}, {self.returns.size} episodes on {self.num_envs} held-out "
                f"worlds (seeds {self.seed}..{last}): success {self.success_rate:.2f},"
                f"{' reached:' + stages if stages else ''} mean "
                f"return {self.mean_return:+.2f}, {self.episodes_per_s:.2f} episodes/s, "
                f"{self.steps * self.num_envs / max(self.seconds, 1e-9):.0f} env-steps/s")


def start_batch(vec, seed: int) -> dict[str, np.ndarray]:
    """Start the batch as the ROS node and the policy agent do: ``reset(seed)``, then a reset
    of every env (``sim/reset``); returns the first observations."""
    vec.reset(seed=seed)
    obs, _ = vec.reset(options={"reset_mask": np.ones(vec.num_envs, bool)})
    return obs


def evaluate(policy: LoadedPolicy, num_envs: int = 16, seed: int | None = None,
             episodes_per_env: int | None = 1, backend: str = "thread", domain: str | None = None,
             max_steps: int | None = None, record_actions: bool = False,
             video: str | None = None) -> EvalResult:
    """Run ``policy`` until every env finished ``episodes_per_env`` episodes or after
    ``max_steps`` batch steps, whichever comes first (``episodes_per_env=None``: exactly
    ``max_steps`` steps, counting every episode that ends).

    Args:
        policy: a :class:`LoadedPolicy`.
        num_envs: held-out worlds, env i from world seed ``seed + i``.
        seed: base world seed (None: the policy's held-out seed, never used in training).
        domain: None for the domain the policy was trained in.
        record_actions: keep every step's actions in :attr:`EvalResult.actions`.
        video: an mp4 path: every env filmed, tiled, every second step (25 fps = real time).
    """
    meta = policy.meta
    seed = meta.held_out_seed if seed is None else int(seed)
    vec = make_native(meta.task, num_envs, seed, backend, domain or meta.domain,
                      autoreset_mode="NextStep", render_mode="rgb_array" if video else None)
    recorder = _recorder(vec, video, seed)
    try:
        return _run(policy, vec, seed, episodes_per_env, max_steps, record_actions, recorder)
    finally:
        if recorder is not None:
            recorder.close()
        vec.close()


def _recorder(vec, video: str | None, seed: int):
    if not video:
        return None
    from ..video import BatchRecorder

    return BatchRecorder(vec, video, labels=[f"env {i}  seed {seed + i}"
                                             for i in range(vec.num_envs)])


def _run(policy, vec, seed, episodes_per_env, max_steps, record_actions, recorder) -> EvalResult:
    n = vec.num_envs
    if episodes_per_env is None and max_steps is None:
        raise ValueError("evaluate needs episodes_per_env or max_steps")
    episodes_per_env = episodes_per_env or np.iinfo(np.int64).max
    obs = start_batch(vec, seed)
    done_count, running = np.zeros(n, np.int64), np.zeros(n)
    returns, successes, actions_log = [[] for _ in range(n)], [[] for _ in range(n)], []
    stage_keys = [k for k in vec.backend.out.info_keys if k.startswith("stage/")]
    reached, stages = np.zeros((n, len(stage_keys)), bool), [[] for _ in range(n)]
    steps, t0 = 0, time.perf_counter()
    while (done_count < episodes_per_env).any() and (max_steps is None or steps < max_steps):
        actions = policy.act(obs)
        if record_actions:
            actions_log.append(actions)
        obs, rewards, terminated, truncated, info = vec.step(actions)
        steps += 1
        running += rewards
        for j, key in enumerate(stage_keys):
            reached[:, j] |= info[key]
        for i in np.flatnonzero(terminated | truncated):
            if done_count[i] < episodes_per_env:
                returns[i].append(running[i])
                successes[i].append(bool(info["is_success"][i]))
                stages[i].append(reached[i].copy())
                done_count[i] += 1
            running[i], reached[i] = 0.0, False
        if recorder is not None and steps % 2 == 0:
            recorder.capture()
    seconds = time.perf_counter() - t0
    flags = np.array(sum(stages, []), bool).reshape(-1, len(stage_keys)) if stage_keys \
        else np.zeros((0, 0), bool)
    return EvalResult(policy.meta.task, n, seed, np.array(sum(returns, []), np.float64),
                      np.array(sum(successes, []), bool), steps, seconds,
                      np.array(actions_log, np.float32) if record_actions else None,
                      {key[len("stage/"):]: flags[:, j] for j, key in enumerate(stage_keys)})
