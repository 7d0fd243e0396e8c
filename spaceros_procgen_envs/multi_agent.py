"""PettingZoo adapter: several robots in one procedural world, each an agent (``ParallelEnv``).

``pettingzoo`` is imported only when an env is made, so this module (and the package) imports
without it; a missing install is a :class:`PettingZooUnavailableError` that says what to run.

The same core as the single-robot tasks: the world is built by
:func:`~spaceros_procgen_envs.world.build_worlds` (one MjData layout per task) and runs as a
:class:`~spaceros_procgen_envs.team_slice.TeamSlice` of one world (a ``BatchView`` stepped at
the 50 Hz agent rate, reset through ``SimEnv.reset_state`` then ``set_state``/``forward``).
Agents are one more axis: the multi-robot task (``tasks/rover_team/env.py``) controls,
observes, rewards and judges success on ``(n_worlds, n_agents, ...)`` arrays; this adapter only
checks the actions and turns the arrays into per-agent dicts.

An agent that terminates (its goal reached) or truncates (time limit) leaves ``env.agents``
after the step that reports it, and its robot parks (zero action). A diverging simulation
(``BatchView.step``'s mask) truncates every live agent with ``info["diverged"] = True`` and
restarts the world, so no NaN leaks out.
"""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from .errors import ProcgenError, unknown_name
from .registry import generate_assets, get_task, list_tasks
from .sim.cameras import RenderThread
from .world import build_worlds, check_action
from .sim.robots.base import CONTROL_HZ
from .team_slice import TeamSlice

INSTALL_HINT = "pip install pettingzoo (or the extra: pip install 'spaceros_procgen_envs[pettingzoo]')"


class PettingZooUnavailableError(ProcgenError, ImportError):
    """``pettingzoo`` is not installed."""


def _pettingzoo_base() -> type:
    try:
        from pettingzoo import ParallelEnv
    except ImportError:
        raise PettingZooUnavailableError(
            f"spaceros_procgen_envs.parallel_env needs PettingZoo: {INSTALL_HINT}") from None
    return ParallelEnv


class MultiRobotEnv:
    """The multi-robot world with the PettingZoo parallel API (without the pettingzoo base
    class; :func:`parallel_env` returns a :class:`ParallelRobotEnv`, which adds it).

    Args: as :func:`parallel_env`.

    Attributes:
        team: the :class:`TeamSlice` of this one world (``team.view`` its BatchView);
        model: its MjModel; data: its MjData at the current state (read from the batch on
        each access).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": int(CONTROL_HZ),
                "is_parallelizable": True}

    def __init__(self, task: str = "rover_team", num_agents: int = 3, seed: int = 42,
                 domain: str | None = None, render_mode: str | None = None,
                 time_limit_s: float | None = None, width: int = 480, height: int = 360,
                 progress: bool | None = None, **options: Any):
        spec = get_task(task)
        if not spec.multi_agent:
            raise unknown_name("multi-robot task", task, list_tasks(multi_agent=True))
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        assets, _ = generate_assets(spec, 1, seed, domain, workers=1, progress=progress)
        self.world = build_worlds(spec.name, assets, seed, domain, num_agents=num_agents,
                                  **options)[0]
        self.spec, self.env_seed, self.domain = spec, self.world.env_seed, self.world.domain
        self.task, self.model = self.world.task, self.world.model
        self.team = TeamSlice([self.world], nthread=1, persistent=render_mode is not None)
        limit_s = spec.time_limit_s if time_limit_s is None else float(time_limit_s)
        self.max_steps = max(1, int(round(limit_s * CONTROL_HZ)))
        self.metadata = {**self.metadata, "name": f"{spec.name}_v0"}
        self.render_mode, self._size, self._renderer = render_mode, (width, height), None
        self._init_agents()

    def _init_agents(self) -> None:
        self.possible_agents = list(self.task.agents)
        self.agents: list[str] = []
        self._index = {agent: k for k, agent in enumerate(self.possible_agents)}
        per_agent = self.task.agent_observation_space()
        # One space object per agent, the same object on every call (PettingZoo's API test).
        self.observation_spaces = {a: gym.spaces.Dict(per_agent) for a in self.possible_agents}
        self.action_spaces = {a: gym.spaces.Box(-1.0, 1.0, (self.spec.action_dim,), np.float32)
                              for a in self.possible_agents}
        self.obs_keys = tuple(per_agent)
        n = len(self.possible_agents)
        self.state_space = gym.spaces.Box(-np.inf, np.inf, (n * gym.spaces.flatdim(
            self.observation_spaces[self.possible_agents[0]]),), np.float32)
        self.info_keys = tuple(f"reward/{name}" for name in self.task.reward_names)
        # (worlds = 1, agents, ...): this step's actions (parked: 0) and who is live
        self._actions = np.zeros((1, n, self.spec.action_dim), np.float32)
        self._live = np.zeros((1, n), bool)
        self.steps = 0

    @property
    def dt(self) -> float:
        """Seconds of sim time per step (1 / 50 Hz)."""
        return self.team.view.dt

    @property
    def rng(self) -> np.random.Generator:
        """The episode randomness (spawn, waypoints, sun)."""
        return self.world.rng

    @property
    def data(self) -> mujoco.MjData:
        """The world's MjData at the current state (copied out of the batch on each access)."""
        return self.team.data(0)

    def observation_space(self, agent: str) -> gym.spaces.Dict:
        """``agent``'s observation space: a Dict of float32 Boxes (the same object every call)."""
        return self.observation_spaces[self._check_agent(agent)]

    def action_space(self, agent: str) -> gym.spaces.Box:
        """``agent``'s action space: Box(-1, 1, (action_dim,)) (the same object every call)."""
        return self.action_spaces[self._check_agent(agent)]

    def _check_agent(self, agent: str) -> str:
        if agent not in self._index:
            raise unknown_name("agent", str(agent), self.possible_agents)
        return agent

    # --- episode ----------------------------------------------------------------------------
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode with every agent live; ``seed`` re-seeds the episode randomness
        (the world itself is fixed by the constructor's ``seed``)."""
        self._restart(seed)
        self.agents = list(self.possible_agents)
        infos = {a: {"env_seed": self.env_seed} for a in self.agents}
        return self._observe(self.agents), infos

    def _restart(self, seed: int | None = None) -> None:
        """A new episode: the world's own reset (scratch MjData), written into the batch."""
        self.team.reset(np.zeros(1, np.int32), [seed])
        self.steps = 0

    def step(self, actions: dict[str, np.ndarray]):
        """One 50 Hz step of every live agent; returns per-agent dicts (obs, reward,
        terminated, truncated, info) for the agents live before the step.

        Raises:
            ValueError: an action for an agent that is not live, a live agent without one, a
                wrong shape or a NaN/inf value (naming the agent).
        """
        live = list(self.agents)
        self._set_actions(actions, live)
        terms, success, diverged = self.team.step(self._actions, self._live)
        self.steps += 1
        if diverged[0]:  # the world has been restarted already (a new episode)
            return self._diverged(live)
        terms, success = [t[0] for t in terms], success[0]
        rewards, terminated, infos = {}, {}, {}
        for agent in live:
            k = self._index[agent]
            values = [float(t[k]) for t in terms]
            rewards[agent] = float(sum(values))
            terminated[agent] = bool(success[k])
            infos[agent] = {**dict(zip(self.info_keys, values)),
                            "is_success": terminated[agent], "diverged": False}
        truncated = dict.fromkeys(live, self.steps >= self.max_steps)
        observations = self._observe(live)
        self.agents = [a for a in live if not (terminated[a] or truncated[a])]
        return observations, rewards, terminated, truncated, infos

    def _set_actions(self, actions: dict[str, np.ndarray], live: list[str]) -> None:
        """Check and store the actions (clipped to [-1, 1]); parked robots get zeros."""
        extra, missing = set(actions) - set(live), set(live) - set(actions)
        if extra or missing:
            raise ValueError(f"actions must be given for exactly the live agents {live}; "
                             + (f"not live: {sorted(extra)}" if extra else "")
                             + ("; " if extra and missing else "")
                             + (f"missing: {sorted(missing)}" if missing else ""))
        checked = np.zeros_like(self._actions[0])
        for agent in live:
            try:
                checked[self._index[agent]] = check_action(actions[agent], self.spec.action_dim)
            except ValueError as exc:
                raise ValueError(f"agent '{agent}': {exc}") from None
        self._actions[0] = checked
        self._live[0] = [a in live for a in self.possible_agents]

    def _diverged(self, live: list[str]):
        """The state blew up (the team restarted the world): truncate every live agent."""
        self.steps = 0
        zero = [0.0] * len(self.info_keys)
        infos = {a: {**dict(zip(self.info_keys, zero)), "is_success": False, "diverged": True}
                 for a in live}
        self.agents = []
        return (self._observe(live), dict.fromkeys(live, 0.0), dict.fromkeys(live, False),
                dict.fromkeys(live, True), infos)

    def _observe(self, agents: list[str]) -> dict[str, dict[str, np.ndarray]]:
        obs = self.team.observe()
        return {a: {key: obs[key][0, self._index[a]] for key in self.obs_keys} for a in agents}

    def state(self) -> np.ndarray:
        """Global state for centralised critics: every agent's observation (parked ones too),
        flattened in ``possible_agents`` order, float32."""
        obs = self.team.observe()
        return np.concatenate([obs[key][0].reshape(len(self.possible_agents), -1)
                               for key in self.obs_keys], axis=1).ravel().astype(np.float32)

    # --- rendering --------------------------------------------------------------------------
    def render(self) -> np.ndarray | None:
        """An RGB image (height, width, 3) uint8 looking at the team from above and behind."""
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:  # one EGL/OSMesa context in a thread of its own
            self._renderer = RenderThread(name="spaceros-render-team")
        camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(self.model, camera)
        camera.lookat[:] = self.team.poses()[0][0].mean(axis=0)
        camera.distance, camera.elevation, camera.azimuth = 16.0, -40.0, 135.0
        return self._renderer.call(self._view, self.data, camera, *self._size)

    def _view(self, data: mujoco.MjData, camera: mujoco.MjvCamera, width: int,
              height: int) -> np.ndarray:
        """The picture of ``data`` from ``camera`` (in the render thread)."""
        renderer = self._renderer.renderer(id(self), self.model, True, (width, height))
        return renderer.view(data, camera, width, height)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


@functools.cache
def _parallel_class() -> type:
    cls = type("ParallelRobotEnv", (MultiRobotEnv, _pettingzoo_base()),
               {"__module__": __name__, "__doc__": MultiRobotEnv.__doc__})
    cls.__qualname__ = "ParallelRobotEnv"
    return cls


def __getattr__(name: str):  # ``ParallelRobotEnv`` is made on first use (imports pettingzoo)
    if name == "ParallelRobotEnv":
        return _parallel_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parallel_env(task: str = "rover_team", num_agents: int = 3, seed: int = 42,
                 domain: str | None = None, render_mode: str | None = None, **options: Any):
    """A PettingZoo ``ParallelEnv`` of a multi-robot task (``list_tasks(multi_agent=True)``).

    Args:
        task: registered multi-robot task name.
        num_agents: robots in the world (rover_team: 2 to 4); agents are ``robot0``,
            ``robot1``, ...
        seed: seed of the procedural world (its assets); ``reset(seed=...)`` seeds episodes.
        domain: domain name, or None for the task's default.
        render_mode: None or ``"rgb_array"``.
        **options: ``time_limit_s`` (episode length, s of sim time), ``width``/``height``
            (render size, px), ``progress`` (asset progress bar), the rest go to the task
            class (e.g. ``rewards=RoverTeamRewards(bump=-2.0)``).

    Returns:
        A ``pettingzoo.ParallelEnv``: per agent a Dict of float32 Boxes observation and a
        Box(-1, 1) action.

    Raises:
        PettingZooUnavailableError: pettingzoo is not installed.
        UnknownNameError: ``task`` is not a registered multi-robot task.

    Example::

        env = spaceros_procgen_envs.parallel_env("rover_team", num_agents=3, seed=0)
        obs, infos = env.reset(seed=0)
        while env.agents:
            actions = {a: env.action_space(a).sample() for a in env.agents}
            obs, rewards, terminated, truncated, infos = env.step(actions)
    """
    return _parallel_class()(task, num_agents, seed, domain, render_mode, **options)


__all__ = ["MultiRobotEnv", "PettingZooUnavailableError", "parallel_env"]
