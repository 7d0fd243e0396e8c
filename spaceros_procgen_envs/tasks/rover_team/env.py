"""Rover team: 2-4 rovers share one procedural terrain; each drives to its own waypoint.

World frame as everywhere (``sim/scene.py``): z up, origin at the centre of the flat work area.
Rover ``k`` is the agent ``robot{k}``, every name it adds starts with ``robot{k}/``.

* Spawn: on a ring of radius 3.25 m around the origin (the flat work area has radius 1.75 m; a
  rover is 2.8 m x 2.7 m), angles ``phase + 2 pi k / n`` with phase ~ U(0, 2 pi), facing outwards
  with yaw noise ~ U(-0.25, 0.25) rad, wheels on the highest terrain under the footprint.
* Waypoint ``k``: in its rover's sector, bearing = spawn angle + U(-0.5, 0.5) rad, distance from
  the origin ~ U(7, 12) m; reached within 1 m (planar).
* Rovers collide with each other: the package's rover collides only with ``GROUND | OBJECT``, so
  :meth:`RoverTeamTask.build_world` adds the bit :data:`TEAM` to every colliding rover geom here,
  and one MuJoCo ``contact`` sensor per pair of rovers counts their contacts (the ``bump`` term).
* A rover whose agent is done (reached its waypoint, or the episode ended) parks: zero action.

Batch first, agents as one more axis: the world (or several worlds of one layout) runs in a
:class:`~spaceros_procgen_envs.sim.batchview.BatchView`; the controllers, observations, reward
terms and success work on ``(n_worlds, n_agents, ...)`` arrays (the pure functions of
:mod:`.terms`); one call of the rover's own batched methods serves the whole team, the agents
folded into the world axis (:class:`~.axis.AgentAxis`). Resets are per world
(:meth:`RoverTeamTask.reset` in a scratch MjData, then ``set_state``), as for every task.
:mod:`spaceros_procgen_envs.multi_agent` drives it; the single-robot ``SimEnv`` builds it (so
listings and layout checks can) but refuses to drive it.
"""

from __future__ import annotations

import itertools
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
from . import terms as T
from .axis import AgentAxis

TEAM = 8                       # collision bit: rover parts against other rovers' parts
SPAWN_RING_M = 3.25            # spawn radius around the origin, m
FOOTPRINT_RADIUS_M = 1.95      # half the diagonal of the 2.8 m x 2.7 m rover footprint
WAYPOINT_RANGE_M = (7.0, 12.0)  # waypoint distance from the origin, m
WAYPOINT_SPREAD_RAD = 0.5      # waypoint bearing ~ spawn angle + U(-spread, spread)
WAYPOINT_RADIUS_M = 1.0        # success radius (planar), m
YAW_NOISE_RAD = 0.25
MIN_AGENTS, MAX_AGENTS = 2, 4
_FOUND = (1, 0, 1)             # contact sensor intprm: data "found" (count), no reduction, 1


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
    # The reward terms are the pure functions of :mod:`.terms` (Task looks them up by name).
    reward_progress = staticmethod(T.reward_progress)
    reward_team_progress = staticmethod(T.reward_team_progress)
    reward_heading = staticmethod(T.reward_heading)
    reward_upright = staticmethod(T.reward_upright)
    reward_bump = staticmethod(T.reward_bump)
    reward_action_rate = staticmethod(T.reward_action_rate)

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
        self.pairs = np.array(list(itertools.combinations(range(len(self.robots)), 2)))
        terrain = assets.get("terrain")
        self.terrain = terrain if isinstance(terrain, Heightmap) else None
        self.targets = np.zeros((len(self.robots), 3))   # this world's waypoints, m
        self.start_dist = np.zeros(len(self.robots))     # planar distance at reset, m

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
        for i, j in self.pairs:  # contacts between the two rovers' trees (last substep)
            spec.add_sensor(name=f"team/bump_{i}_{j}", type=mujoco.mjtSensor.mjSENS_CONTACT,
                            objtype=mujoco.mjtObj.mjOBJ_XBODY, objname=f"robot{i}/chassis",
                            reftype=mujoco.mjtObj.mjOBJ_XBODY, refname=f"robot{j}/chassis",
                            intprm=list(_FOUND))

    def boulder_ring_m(self, terrain: Heightmap) -> tuple[float, float]:
        """Boulders lie outside the spawn ring: radius ~ U(5.7 m, 0.45 x terrain size)."""
        return SPAWN_RING_M + FOOTPRINT_RADIUS_M + 0.5, 0.45 * min(terrain.size_m)

    def footprint_top(self, x: float, y: float) -> float:
        """Highest terrain (m) within the rover's footprint circle around (x, y)."""
        if self.terrain is None:
            return 0.0
        offsets = np.linspace(-FOOTPRINT_RADIUS_M, FOOTPRINT_RADIUS_M, 7)
        return max(self.terrain.height_at(x + dx, y + dy) for dx in offsets for dy in offsets
                   if dx * dx + dy * dy <= FOOTPRINT_RADIUS_M ** 2)

    def ground_height(self, x: float, y: float) -> float:
        return 0.0 if self.terrain is None else self.terrain.height_at(x, y)

    def bind(self, model: mujoco.MjModel) -> None:
        self.model = model
        for robot in self.robots:
            robot.bind(model)
        self.axis = AgentAxis(model, [robot.prefix for robot in self.robots])
        self._bump_adr = np.array([model.sensor(f"team/bump_{i}_{j}").adr[0]
                                   for i, j in self.pairs])

    # --- episodes (per world, in its scratch MjData) -------------------------------------
    def reset(self, model, data, rng: np.random.Generator) -> None:
        """Home pose for every rover, then spawn, waypoints and sun for a new episode."""
        for robot in self.robots:
            robot.reset(model, data, rng)
        n, phase = len(self.robots), rng.uniform(0.0, 2.0 * np.pi)
        for k, robot in enumerate(self.robots):
            angle = phase + 2.0 * np.pi * k / n
            x, y = SPAWN_RING_M * np.cos(angle), SPAWN_RING_M * np.sin(angle)
            robot.place(data, x, y, self.footprint_top(x, y),
                        angle + rng.uniform(-YAW_NOISE_RAD, YAW_NOISE_RAD))
            bearing = angle + rng.uniform(-WAYPOINT_SPREAD_RAD, WAYPOINT_SPREAD_RAD)
            wx, wy = rng.uniform(*WAYPOINT_RANGE_M) * np.array([np.cos(bearing), np.sin(bearing)])
            self.targets[k] = (wx, wy, self.ground_height(wx, wy))
            pos = robot.base_pose(model, data)[0]
            self.start_dist[k] = float(np.hypot(wx - pos[0], wy - pos[1]))
        scene.randomize_sun(model, self.domain, rng)

    def episode_state(self, model, data) -> dict[str, np.ndarray]:
        """``target`` (k, 3) m and ``prev_dist`` (k,) m: stacked into ``v.episode``."""
        return {"target": self.targets.copy(), "prev_dist": self.start_dist.copy()}

    # --- batched: (n worlds, k agents, ...) ------------------------------------------------
    def rows(self, v):
        """The team as ``n * k`` worlds of agent 0 (:meth:`AgentAxis.rows`), once per state."""
        return v.memo("team/rows", lambda: self.axis.rows(v))

    def poses_batch(self, v) -> tuple[np.ndarray, np.ndarray]:
        """Chassis positions (n, k, 3) m and quaternions (n, k, 4) wxyz, world frame."""
        pose = v.memo("team/pose", lambda: np.concatenate(
            [self.axis.split(a) for a in self.robot.base_pose_batch(self.rows(v))], axis=-1))
        return pose[..., :3], pose[..., 3:]

    def target_rel_batch(self, v) -> np.ndarray:
        """(n, k, 2) every waypoint in its rover's heading frame, m."""
        return v.memo("team/target_rel", lambda: T.target_rel(*self.poses_batch(v),
                                                              v.episode["target"]))

    def distance_batch(self, v) -> np.ndarray:
        """(n, k) planar distance of every rover to its waypoint, m."""
        return T.planar_distance(self.poses_batch(v)[0], v.episode["target"])

    def control_batch(self, v, actions: np.ndarray) -> None:
        """Every rover's Ackermann controller: ``actions`` (n, k, 2) in [-1, 1]."""
        rows = self.axis.control_rows(v)
        self.robot.control_batch(rows, actions.reshape(rows.n, -1))
        self.axis.scatter_ctrl(v, rows)

    def observe_batch(self, v) -> dict[str, np.ndarray]:
        """Every agent's observation keys, (n, k, *shape) float32: its rover's proprioception,
        its waypoint (world m, and heading-frame x/y m) and the other rovers' (x, y) in its
        heading frame, m, in agent order."""
        obs = {key: self.axis.split(value)
               for key, value in self.robot.observe_batch(self.rows(v)).items()}
        pos, quat = self.poses_batch(v)
        return {**obs, "target_pos": v.episode["target"].astype(F32),
                "target_rel": self.target_rel_batch(v).astype(F32),
                "teammates_rel": T.teammates_rel(pos, quat).astype(F32)}

    def terms_batch(self, v, actions, prev_actions, active=None) -> dict[str, np.ndarray]:
        """Unweighted terms by name, (n, k) each; ``active`` (n, k) bool: live in this step
        (None: every agent). Advances ``v.episode["prev_dist"]`` (every rover, parked too)."""
        if active is None:
            active = np.ones((v.n, len(self.robots)), bool)
        dist = self.distance_batch(v)
        progress = T.reward_progress(v.episode["prev_dist"], dist, active, v.dt)
        v.episode["prev_dist"][:] = dist
        found = v.sensordata[:, self._bump_adr]
        return {"progress": progress, "team_progress": T.reward_team_progress(progress, active),
                "heading": T.reward_heading(self.target_rel_batch(v)),
                "upright": T.reward_upright(self.poses_batch(v)[1]),
                "bump": T.reward_bump(T.bumped(found, self.pairs, len(self.robots))),
                "action_rate": T.reward_action_rate(actions, prev_actions)}

    def reward_terms_batch(self, v, actions, prev_actions, active=None) -> list[np.ndarray]:
        """Every weighted term, (n, k) each, in :attr:`reward_names` order."""
        terms = self.terms_batch(v, actions, prev_actions, active)
        return [getattr(self.rewards, name) * terms[name] for name in self.reward_names]

    def success_batch(self, v) -> np.ndarray:
        """(n, k) bool: the rover is within the success radius of its waypoint."""
        return self.distance_batch(v) < WAYPOINT_RADIUS_M

    # --- spaces ------------------------------------------------------------------------------
    def agent_observation_space(self) -> dict[str, gym.spaces.Box]:
        """Every agent's observation: its rover's own keys plus its target and teammates."""
        mates = 2 * (len(self.robots) - 1)
        return {**self.robot.observation_space(), "target_pos": box((3,)),
                "target_rel": box((2,)), "teammates_rel": box((mates,))}

    def observation_space(self):
        """The per-agent observation space (identical for every agent)."""
        return gym.spaces.Dict(self.agent_observation_space())

    # --- the single-robot interface: refused --------------------------------------------------
    def _refuse(self, *_args, **_kwargs):
        raise ProcgenError(f"task '{self.spec.name}' has several robots: drive it with "
                           f"spaceros_procgen_envs.parallel_env('{self.spec.name}') (PettingZoo)")

    observe = apply_action = reward_terms = _refuse


TASK = RoverTeamTask
