"""``SpaceRosEnv``: one procedural world as a ``gymnasium.Env`` (``gymnasium.make``)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from .assets.pipeline import generate_assets
from .registry import get_task
from .sim.core import SimEnv, check_action


class SpaceRosEnv(gym.Env):
    """One env of ``task``: ``gymnasium.make("spaceros/perseverance", domain="moon")``.

    Args:
        task: registered task name.
        seed: seed of the procedural world; ``reset(seed=...)`` seeds episodes.
        domain: domain name, or None for the task's default.
        render_mode: None or ``"rgb_array"`` (MuJoCo's CPU renderer; set ``MUJOCO_GL=egl``
            or ``osmesa`` without a display).
        width, height: rendered image size in pixels.
        task_options: forwarded to the task class.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, task: str = "perseverance", seed: int = 42, domain: str | None = None,
                 render_mode: str | None = None, width: int = 480, height: int = 360,
                 progress: bool | None = None, **task_options: Any):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        spec = get_task(task)
        assets, _ = generate_assets(spec, 1, seed, domain, workers=1, progress=progress)
        self.sim = SimEnv(spec.name, assets[0], seed, domain, **task_options)
        self.observation_space = self.sim.observation_space
        self.action_space = gym.spaces.Box(-1.0, 1.0, (spec.action_dim,), np.float32)
        self.render_mode = render_mode
        self._size = (width, height)
        self._renderer: mujoco.Renderer | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        return self.sim.reset(seed=seed)

    def step(self, action):
        obs, *rest = self.sim.step(check_action(action, self.action_space.shape[0]))
        for value in obs.values():  # NaN never reaches an observation
            np.nan_to_num(value, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return obs, *rest

    def render(self) -> np.ndarray | None:
        """An RGB image (height, width, 3) uint8 of the scene from the free camera."""
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            width, height = self._size
            self._renderer = mujoco.Renderer(self.sim.model, height=height, width=width)
        camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(self.sim.model, camera)
        camera.lookat[:] = self.sim.task.robot.base_pose(self.sim.model, self.sim.data)[0]
        camera.distance, camera.elevation, camera.azimuth = 4.0, -25.0, 135.0
        self._renderer.update_scene(self.sim.data, camera)
        return self._renderer.render()

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
