"""Gateway: the long station arm catches a free-floating truss payload and berths it.

The payload (a procedural truss, aluminium mass as in debris_capture) appears within
+-0.15 m of the station's ``workspace`` site, randomly oriented, at rest or nearly so
(0-0.01 m/s, 0-0.05 rad/s in orbit; in a domain with ground it is dropped there, at rest,
onto the module). The berth, where it must go, is a point 0.45 m above the module's +x end
(next to the docking port, 1.7-2.0 m ahead of the arm base, +-0.6 m aside), redrawn per reset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...sim import vecmath
from ...sim.robots.arm import gateway_arm_cfg
from ..base import F32, RewardCfg, box
from ..debris_capture.env import DebrisCaptureTask
from ..manipulation import kernel2, tanh_kernel2

BERTHED_M = 0.1  # success: payload centre this close to the berth


@dataclass(frozen=True)
class GatewayRewards(RewardCfg):
    """Weights of ``reach`` (TCP near the payload's surface, along
    :func:`~..debris_capture.env.grasp_path_distance`), ``close`` (closing the gripper there,
    as in debris_capture), ``grasp`` (both pads on it),
    ``transport`` (:func:`kernel2` of |payload - berth| over 1 m and 0.1 m, while grasped),
    ``success`` (the step the payload reaches the berth), ``disturb`` (its speed, m/s, while not
    held; as in debris_capture: do not knock it away) and ``action_rate``. The dense positive
    terms add up to at most 1 a step (see :func:`~..manipulation.reward_success`)."""

    reach: float = 0.1
    close: float = 0.1
    grasp: float = 0.3
    transport: float = 0.5
    success: float = 60.0
    disturb: float = -1.0
    approach: float = 2.0
    carry: float = 2.0
    action_rate: float = -0.001


TRANSPORT_M = (1.0, 0.1)  # coarse and fine scales of the transport kernel, m


def reward_transport(object_pos: np.ndarray, target_pos: np.ndarray, grasped: np.ndarray
                     ) -> np.ndarray:
    """(n,) while grasped: :func:`kernel2` of |payload centre - berth| over 1 m and 0.1 m; 0
    when not held."""
    return kernel2(vecmath.norm(target_pos - object_pos), *TRANSPORT_M) * grasped


TRANSPORTED_M = 0.5  # stage "transport": held with its centre this close to the berth


def stage_transport(object_pos: np.ndarray, target_pos: np.ndarray, grasped: np.ndarray
                    ) -> np.ndarray:
    """(n,) held with its centre within :data:`TRANSPORTED_M` of the berth."""
    return grasped & (vecmath.norm(target_pos - object_pos) < TRANSPORTED_M)


class GatewayTask(DebrisCaptureTask):
    """Success: the payload's centre within 0.1 m of the berth (held or not).

    Observations (besides the arm's, ManipulationTask's ``object_*`` keys for the payload and
    ``object_nearest_rel``): ``target_pos`` (the berth, world, m) and ``target_rel`` (berth minus
    payload centre, m).
    """

    REWARDS = GatewayRewards
    TERMS = {**DebrisCaptureTask.TERMS, "transport": reward_transport}
    STAGES = {**DebrisCaptureTask.STAGES, "transport": stage_transport}
    PROGRESS = {"approach_m": "approach_m", "carry_m": "carry_m"}
    PLATFORM = "station"
    SPAWN_SITE = "workspace"
    REACH_SCALE_M = 0.3  # the arm is 3x the size of the Panda-like one
    DRIFT_MPS = (0.0, 0.01)
    TUMBLE_RADPS = (0.0, 0.05)
    PLATFORM_Z_ON_GROUND_M = 0.0  # the module's top (the arm base) is 1.4 m up: reaches anyway

    def arm_cfg(self):
        return gateway_arm_cfg()

    def add_objects(self, spec):
        super().add_objects(spec)
        berth = spec.worldbody.add_body(name="berth", mocap=True, pos=[2.5, 0.0, 1.85])
        berth.add_site(name="berth", size=[BERTHED_M] * 3, rgba=[0.2, 0.8, 0.2, 0.3], group=2)

    def bind_objects(self, model):
        super().bind_objects(model)
        self._berth = int(model.body_mocapid[model.body("berth").id])

    def reset_objects(self, model, data, rng):
        super().reset_objects(model, data, rng)
        mount_x, mount_y, mount_z = self.platform.mount_pos
        data.mocap_pos[self._berth] = (mount_x + rng.uniform(1.7, 2.0),
                                       mount_y + rng.uniform(-0.6, 0.6), mount_z + 0.45)

    def spawn_point(self, rng) -> np.ndarray:
        """Within +-0.15 m of the workspace site in x, y and z."""
        return self._spawn + rng.uniform(-0.15, 0.15, 3)

    def drop_point(self, rng, quat) -> np.ndarray:
        """On ground the payload starts at rest at the same place and falls onto the module."""
        return self.spawn_point(rng)

    def target_pos(self, data) -> np.ndarray:
        return data.mocap_pos[self._berth]

    def target_distance(self, data) -> float:
        return float(np.linalg.norm(self.target_pos(data) - self.object_pos(data)))

    def task_observation_space(self):
        return {**super().task_observation_space(),
                "target_pos": box((3,)), "target_rel": box((3,))}

    def observe_task(self, model, data):
        target = self.target_pos(data)
        return {**super().observe_task(model, data), "target_pos": target.astype(F32),
                "target_rel": (target - self.object_pos(data)).astype(F32)}

    def reward_transport(self, model, data) -> float:
        """:func:`reward_transport` of this env."""
        return tanh_kernel2(self.target_distance(data), *TRANSPORT_M) * float(self.grasped(data))

    def success(self, model, data) -> bool:
        return self.target_distance(data) < BERTHED_M

    # --- the batch ------------------------------------------------------------------------
    def episode_state(self, model, data):
        return {**super().episode_state(model, data),
                "target_pos": data.mocap_pos[self._berth].copy()}

    def carry_m(self, data) -> float:
        """|payload centre - berth|, m."""
        return self.target_distance(data)

    def state_carry_m(self, v, s):
        return vecmath.norm(s["target_pos"] - s["object_pos"])

    def state_target_pos(self, v, s):
        return v.episode["target_pos"]

    def observe_task_batch(self, v):
        s = self.batch_state(v)
        return {**super().observe_task_batch(v), "target_pos": s["target_pos"].astype(F32),
                "target_rel": (s["target_pos"] - s["object_pos"]).astype(F32)}

    def success_batch(self, v):
        s = self.batch_state(v)
        return vecmath.norm(s["target_pos"] - s["object_pos"]) < BERTHED_M


TASK = GatewayTask
