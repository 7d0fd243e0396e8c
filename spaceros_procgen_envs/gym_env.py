"""``SpaceRosEnv``: one procedural world as a ``gymnasium.Env`` (``gymnasium.make``)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from .registry import generate_assets, get_task
from .sim.cameras import DEFAULT_RESOLUTION
from .world import SimEnv, check_action
from .vector.batch import allocate
from .vector.batch_slice import make_slice


class SpaceRosEnv(gym.Env):
    """One env of ``task``: ``gymnasium.make("spaceros/perseverance", domain="moon")``.

    Args:
        task: registered task name; ``<task>_visual`` adds the robot's cameras (RGB
            ``camera_<name>_rgb`` uint8 and depth ``camera_<name>_depth`` float32 metres).
        seed: seed of the procedural world; ``reset(seed=...)`` seeds episodes.
        domain: domain name, or None for the task's default.
        render_mode: None or ``"rgb_array"`` (MuJoCo's renderer, offscreen through EGL or
            OSMesa, chosen by ``spaceros_procgen_envs.gl``; no display needed).
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
        # The same core as the vector env: a slice of one world (one Batch for batched tasks).
        self._slice = make_slice([self.sim])
        self._out = allocate(1, self.sim.observation_space, self.sim.batch_info_keys)
        self.observation_space = self.sim.observation_space
        self.action_space = gym.spaces.Box(-1.0, 1.0, (spec.action_dim,), np.float32)
        self.render_mode = render_mode
        self._size = (int(width), int(height))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._slice.reset(self._out, [seed])
        return self._observation(), {"env_seed": self.sim.env_seed}

    def step(self, action):
        action = check_action(action, self.action_space.shape[0])
        out = self._out
        self._slice.step(action[None], out)
        info = {key: float(value) for key, value in zip(out.info_keys, out.info_flat[0])}
        for key in ("is_success", "diverged", *self.sim.stage_keys):
            info[key] = bool(info[key])
        return (self._observation(), float(out.rewards[0]), bool(out.terminated[0]),
                bool(out.truncated[0]), info)

    def _observation(self) -> dict[str, np.ndarray]:
        flat = self._out.obs_flat
        if not np.isfinite(flat).all():  # NaN never reaches an observation
            np.nan_to_num(flat, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return {key: value[0].copy() for key, value in self._out.obs.items()}

    def render(self) -> np.ndarray | None:
        """An RGB image (height, width, 3) uint8 from a free camera following the robot
        (shadows on)."""
        if self.render_mode != "rgb_array":
            return None
        return self._slice.views(*self._size)[0]

    def close(self) -> None:
        self._slice.close()
        self.sim.close()
