"""Rover team: 2-4 rovers share one procedural terrain; each drives to its own waypoint.

World frame as everywhere (``sim/scene.py``): z up, origin at the centre of the flat work area.
Rover ``k`` is the agent ``robot{k}``, every name it adds starts with ``robot{k}/``.

* Spawn: on a ring of radius 3.25 m around the origin (the flat work area has radius 1.75 m; a
  rover is 2.8 m x 2.7 m), angles ``phase + 2 pi k / n`` with phase ~ U(0, 2 pi), facing outwards
  with yaw noise ~ U(-0.25, 0.25) rad, wheels on the highest terrain under the footprint.
* Waypoint ``k``: in its rover's sector, bearing = spawn angle + U(-0.5, 0.5) rad, distance from
  the origin ~ U(7, 12) m; reached within 1 m (planar).
* Rovers collide with each other: the package's rover collides only with ``GROUND | OBJECT``, so
  :meth:`RoverTeamTask.build_world` adds the bit :data:`TEAM` to every colliding rover geom here.
* A rover whose agent is done (reached its waypoint, or the episode ended) parks: zero action.

This class is driven by :mod:`spaceros_procgen_envs.multi_agent`; it subclasses :class:`Task` for
the world building (terrain, sun) and the reward-term machinery, one agent at a time. Driving it
through the single-robot :class:`~spaceros_procgen_envs.sim.core.SimEnv` is refused at the first
step (building it there works, so listings can read the per-agent observation space).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gymnasium as gym
import mujoco
import numpy as np

from ...assets.types import Heightmap
from ...errors import ProcgenError
from ...sim import scene
from ...sim.robots.rover import Rover, RoverCfg
from ..base import F32, RewardCfg, Task, box
from ..navigation import Waypoint

TEAM = 8                       # collision bit: rover parts against other rovers' parts
SPAWN_RING_M = 3.25            # spawn radius around the origin, m
FOOTPRINT_RADIUS_M = 1.95      # half the diagonal of the 2.8 m x 2.7 m rover footprint
WAYPOINT_RANGE_M = (7.0, 12.0)  # waypoint distance from the origin, m
WAYPOINT_SPREAD_RAD = 0.5      # waypoint bearing ~ spawn angle + U(-spread, spread)
YAW_NOISE_RAD = 0.25
MIN_AGENTS, MAX_AGENTS = 2, 4


@dataclass(frozen=True)
class RoverTeamRewards(RewardCfg):
    """Weights: ``progress`` (own approach speed, m/s), ``team_progress`` (mean approach speed
    of the team's active rovers, m/s: shared), ``heading`` (cos of the bearing error),
    ``upright`` (penalty ~ 1 - cos tilt), ``bump`` (1 while touching another rover),
    ``action_rate``."""

    progress: float = 1.0
    team_progress: float = 0.25
    heading: float = 0.05
    upright: float = -0.5
    bump: float = -1.0
    action_rate: float = -0.01


class RoverTeamTask(Task):
    """``num_agents`` rovers, agent ``robot{k}`` reaching waypoint ``k``.

    Args:
        spec, domain, assets, rewards: as :class:`Task`.
        num_agents: team size, 2 to 4.
    """

    REWARDS = RoverTeamRewards

    def __init__(self, spec, domain, assets, rewards: RoverTeamRewards | None = None,
                 num_agents: int = 3):
        if not (isinstance(num_agents, (int, np.integer))
                and MIN_AGENTS <= num_agents <= MAX_AGENTS):
            raise ValueError(f"num_agents must be an int from {MIN_AGENTS} to {MAX_AGENTS} "
                             f"for task '{spec.name}', got {num_agents!r}")
        super().__init__(spec, domain, assets, rewards)
        self.robots = [self.robot] + [Rover(RoverCfg(), prefix=f"robot{k}/")
                                      for k in range(1, int(num_agents))]
        self.agents = tuple(r.prefix.rstrip("/") for r in self.robots)
        self.terrain = assets.get("terrain")
        self._agent = 0

    def make_robot(self):
        """Agent 0's rover (the template every teammate copies)."""
        return Rover(RoverCfg(), prefix="robot0/")

    # --- world --------------------------------------------------------------------------
    def build_world(self, spec: mujoco.MjSpec) -> None:
        n = len(self.robots)
        for k, robot in enumerate(self.robots):
            angle = 2.0 * math.pi * k / n
            x, y = SPAWN_RING_M * math.cos(angle), SPAWN_RING_M * math.sin(angle)
            robot.attach(spec, spec.worldbody, (x, y, self.footprint_top(x, y)))
        prefixes = tuple(robot.prefix for robot in self.robots)
        for geom in spec.geoms:
            if geom.name.startswith(prefixes) and geom.contype & scene.ROBOT:
                geom.contype |= TEAM
                geom.conaffinity |= TEAM

    def boulder_ring_m(self, terrain: Heightmap) -> tuple[float, float]:
        """Boulders lie outside the spawn ring: radius ~ U(5.7 m, 0.45 x terrain size)."""
        return SPAWN_RING_M + FOOTPRINT_RADIUS_M + 0.5, 0.45 * min(terrain.size_m)

    def footprint_top(self, x: float, y: float) -> float:
        """Highest terrain (m) within the rover's footprint circle around (x, y)."""
        if not isinstance(self.terrain, Heightmap):
            return 0.0
        offsets = np.linspace(-FOOTPRINT_RADIUS_M, FOOTPRINT_RADIUS_M, 7)
        return max(self.terrain.height_at(x + dx, y + dy) for dx in offsets for dy in offsets
                   if dx * dx + dy * dy <= FOOTPRINT_RADIUS_M ** 2)

    def bind(self, model: mujoco.MjModel) -> None:
        self.model = model
        for robot in self.robots:
            robot.bind(model)
        self.waypoints = [Waypoint(self.terrain if isinstance(self.terrain, Heightmap) else None,
                                   WAYPOINT_RANGE_M, radius_m=1.0) for _ in self.robots]
        self.dt = model.opt.timestep * round(0.02 / model.opt.timestep)
        chassis = [model.body(f"{r.prefix}chassis").id for r in self.robots]
        root = model.body_rootid[model.geom_bodyid]         # geom -> its tree's root body
        self._owner = np.full(model.ngeom, -1)
        for k, body in enumerate(chassis):
            self._owner[root == body] = k
        n = len(self.robots)
        self._last, self.progress = np.zeros(n), np.zeros(n)
        self.bumped, self._active = np.zeros(n, bool), np.ones(n, bool)

    def reset(self, model, data, rng: np.random.Generator) -> None:
        """Home pose for every rover, then spawn, waypoints and sun for a new episode."""
        for robot in self.robots:
            robot.reset(model, data, rng)
        n, phase = len(self.robots), rng.uniform(0.0, 2.0 * np.pi)
        for k, (robot, waypoint) in enumerate(zip(self.robots, self.waypoints)):
            angle = phase + 2.0 * np.pi * k / n
            x, y = SPAWN_RING_M * np.cos(angle), SPAWN_RING_M * np.sin(angle)
            robot.place(data, x, y, self.footprint_top(x, y),
                        angle + rng.uniform(-YAW_NOISE_RAD, YAW_NOISE_RAD))
            bearing = angle + rng.uniform(-WAYPOINT_SPREAD_RAD, WAYPOINT_SPREAD_RAD)
            wx, wy = rng.uniform(*WAYPOINT_RANGE_M) * np.array([np.cos(bearing), np.sin(bearing)])
            waypoint.pos[:] = (wx, wy, waypoint.ground_height(wx, wy))
            self._last[k] = waypoint.distance(robot.base_pose(model, data)[0])
        self.progress[:], self.bumped[:], self._active[:] = 0.0, False, True
        scene.randomize_sun(model, self.domain, rng)

    # --- per-step team state (once per step, before the agents' reward terms) -----------------
    def update(self, model, data, active: np.ndarray) -> None:
        """Approach speed of every rover (m/s; 0 for parked ones) and inter-rover contacts.

        Args:
            active: (n,) bool, agents still live during this step.
        """
        self._active[:] = active
        for k, robot in enumerate(self.robots):
            dist = self.waypoints[k].distance(robot.base_pose(model, data)[0])
            self.progress[k] = (self._last[k] - dist) / self.dt if active[k] else 0.0
            self._last[k] = dist
        self.bumped[:] = False
        if data.ncon:
            a, b = self._owner[data.contact.geom1], self._owner[data.contact.geom2]
            hit = (a >= 0) & (b >= 0) & (a != b)
            self.bumped[a[hit]] = self.bumped[b[hit]] = True

    # --- one agent --------------------------------------------------------------------------
    def apply_agent_action(self, model, data, k: int, action: np.ndarray) -> None:
        self.robots[k].apply_action(model, data, action)

    def agent_observation_space(self):
        """Every agent's observation: its rover's own keys plus its target and teammates."""
        mates = 2 * (len(self.robots) - 1)
        return {**self.robot.observation_space(), "target_pos": box((3,)),
                "target_rel": box((2,)), "teammates_rel": box((mates,))}

    def observe_agent(self, model, data, k: int) -> dict[str, np.ndarray]:
        """Rover ``k``'s proprioception, its waypoint (world m, and heading-frame x/y m) and the
        other rovers' (x, y) in its heading frame, m, in agent order."""
        robot = self.robots[k]
        pos, quat = robot.base_pose(model, data)
        points = [self.waypoints[k].pos[:2]]
        points += [r.base_pose(model, data)[0][:2] for j, r in enumerate(self.robots) if j != k]
        rel = heading_frame_xy(pos, quat, np.array(points)).astype(F32)
        return {**robot.observe(model, data), "target_pos": self.waypoints[k].pos.astype(F32),
                "target_rel": rel[0], "teammates_rel": rel[1:].ravel()}

    def agent_reward_terms(self, model, data, k: int, action, prev_action) -> list[float]:
        """Agent ``k``'s weighted terms, in :attr:`reward_names` order (after :meth:`update`)."""
        self._agent = k
        return self.reward_terms(model, data, action, prev_action)

    def agent_success(self, model, data, k: int) -> bool:
        return self.waypoints[k].reached(self.robots[k].base_pose(model, data)[0])

    # --- reward terms (agent self._agent) -----------------------------------------------------
    def reward_progress(self, model, data) -> float:
        """Own approach speed towards the waypoint, m/s (negative when moving away)."""
        return float(self.progress[self._agent])

    def reward_team_progress(self, model, data) -> float:
        """Mean approach speed of the team's active rovers, m/s (the same for every agent)."""
        return float(self.progress[self._active].mean()) if self._active.any() else 0.0

    def reward_heading(self, model, data) -> float:
        """Cosine of the angle between the rover's heading and its waypoint's bearing."""
        pos, quat = self.robots[self._agent].base_pose(model, data)
        rel = self.waypoints[self._agent].relative_xy(pos, quat)
        return float(rel[0] / (np.linalg.norm(rel) + 1e-9))

    def reward_upright(self, model, data) -> float:
        """1 - cos(tilt): 0 when level, 1 when on its side."""
        _, (w, x, y, z) = self.robots[self._agent].base_pose(model, data)
        return float(2.0 * (x * x + y * y))

    def reward_bump(self, model, data) -> float:
        """1 while the rover touches another rover, else 0."""
        return float(self.bumped[self._agent])

    # --- the single-robot interface ----------------------------------------------------------
    def observation_space(self):
        """The per-agent observation space (identical for every agent)."""
        return gym.spaces.Dict(self.agent_observation_space())

    def observe(self, model, data):
        return self.observe_agent(model, data, 0)

    def apply_action(self, model, data, action):
        raise ProcgenError(f"task '{self.spec.name}' has several robots: drive it with "
                           f"spaceros_procgen_envs.parallel_env('{self.spec.name}') (PettingZoo)")


def heading_frame_xy(pos: np.ndarray, quat: np.ndarray, points: np.ndarray) -> np.ndarray:
    """World (x, y) ``points`` (m, shape (k, 2)) in the heading frame at ``pos`` with yaw from
    the wxyz ``quat`` (x forward, y left), m, shape (k, 2)."""
    w, x, y, z = quat
    yaw = math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    c, s = math.cos(yaw), math.sin(yaw)
    delta = points.reshape(-1, 2) - pos[:2]
    return np.stack([c * delta[:, 0] + s * delta[:, 1], -s * delta[:, 0] + c * delta[:, 1]], 1)


TASK = RoverTeamTask
