"""``SpaceRosEnv``: one procedural world as a ``gymnasium.Env`` (``gymnasium.make``)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from .assets.pipeline import generate_assets
from .registry import get_task
from .sim.cameras import DEFAULT_RESOLUTION
from .sim.core import SimEnv, check_action


class SpaceRosEnv(gym.Env):
    """One env of ``task``: ``gymnasium.make("spaceros/perseverance", domain="moon")``.

    Args:
        task: registered task name; ``<task>_visual`` adds the robot's cameras (RGB
            ``camera_<name>_rgb`` uint8 and depth ``camera_<name>_depth`` float32 metres).
        seed: seed of the procedural world; ``reset(seed=...)`` seeds episodes.
        domain: domain name, or None for the task's default.
        render_mode: None or ``"rgb_array"`` (MuJoCo's CPU renderer; set ``MUJOCO_GL=egl``
            or ``osmesa`` without a display).
        width, height: rendered image size in pixels.
        camera_resolution: (width, height) of the camera observations of a ``_visual`` task.
        task_options: forwarded to the task class.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, task: str = "perseverance", seed: int = 42, domain: str | None = None,
                 render_mode: str | None = None, width: int = 480, height: int = 360,
                 progress: bool | None = None,
                 camera_resolution: tuple[int, int] = DEFAULT_RESOLUTION, **task_options: Any):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        spec = get_task(task)
        assets, _ = generate_assets(spec, 1, seed, domain, workers=1, progress=progress)
        self.sim = SimEnv(task, assets[0], seed, domain, camera_resolution=camera_resolution,
                          **task_options)
        self.observation_space = self.sim.observation_space
        self.action_space = gym.spaces.Box(-1.0, 1.0, (spec.action_dim,), np.float32)
        self.render_mode = render_mode
        self._size = (int(width), int(height))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        return self.sim.reset(seed=seed)

    def step(self, action):
        obs, *rest = self.sim.step(check_action(action, self.action_space.shape[0]))
        for value in obs.values():  # NaN never reaches an observation
            if value.dtype == np.float32:
                np.nan_to_num(value, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return obs, *rest

    def render(self) -> np.ndarray | None:
        """An RGB image (height, width, 3) uint8 from a free camera following the robot
        (shadows on)."""
        if self.render_mode != "rgb_array":
            return None
        return self.sim.view(*self._size)

    def close(self) -> None:
        self.sim.close()
