"""The agents of a team as one more batch axis for the robots' own batched methods.

Every rover of a team is the same robot under another name prefix, so its joints, dofs and
actuators sit in the same order in the model. :class:`AgentAxis` gathers each agent's columns of
``qpos``, ``qvel`` into agent 0's places, giving ``(n * k, ...)`` rows that agent 0's batched
methods (``observe_batch``, ``base_pose_batch``, ``control_batch``) read as n * k worlds of one
robot; controls written that way are scattered back to each agent's actuators. One call then
serves the whole team instead of one call per agent.

Example::

    axis = AgentAxis(model, ["robot0/", "robot1/"])
    rows = axis.rows(view)                       # row i * k + j: world i, agent j
    pos, quat = rover0.base_pose_batch(rows)     # (n * k, 3), (n * k, 4)
"""

from __future__ import annotations

import mujoco
import numpy as np

_QPOS = {int(mujoco.mjtJoint.mjJNT_FREE): 7, int(mujoco.mjtJoint.mjJNT_BALL): 4}
_DOF = {int(mujoco.mjtJoint.mjJNT_FREE): 6, int(mujoco.mjtJoint.mjJNT_BALL): 3}


class Rows:
    """n * k rows of agent 0's columns: ``qpos`` (n k, nq) and ``qvel`` (n k, nv) to read, or
    ``ctrl`` (n k, nu) for a controller to write; only agent 0's columns hold data."""

    def __init__(self, n: int, qpos: np.ndarray | None = None, qvel: np.ndarray | None = None,
                 ctrl: np.ndarray | None = None):
        self.n, self.qpos, self.qvel, self.ctrl = n, qpos, qvel, ctrl


def _columns(model: mujoco.MjModel, prefix: str) -> tuple[list[int], list[int], list[int]]:
    """qpos, dof and actuator indices of every joint and actuator named ``prefix...``."""
    qpos, dofs = [], []
    for j in range(model.njnt):
        if model.joint(j).name.startswith(prefix):
            kind = int(model.jnt_type[j])
            q, d = int(model.jnt_qposadr[j]), int(model.jnt_dofadr[j])
            qpos += range(q, q + _QPOS.get(kind, 1))
            dofs += range(d, d + _DOF.get(kind, 1))
    acts = [a for a in range(model.nu) if model.actuator(a).name.startswith(prefix)]
    return qpos, dofs, acts


class AgentAxis:
    """Column maps of ``k`` identical robots, one per name prefix (agent order).

    Raises:
        ValueError: the robots do not have the same numbers of joints and actuators.
    """

    def __init__(self, model: mujoco.MjModel, prefixes: list[str]):
        cols = [_columns(model, p) for p in prefixes]
        if len({tuple(map(len, c)) for c in cols}) != 1:
            raise ValueError(f"robots {prefixes}: expected identical robots, got (qpos, dof, "
                             f"actuator) counts {[tuple(map(len, c)) for c in cols]}")
        self.k = len(prefixes)
        self.qpos, self.qvel, self.ctrl = (np.array([c[i] for c in cols]) for i in range(3))
        self.shape = (model.nq, model.nv, model.nu)

    def rows(self, v) -> Rows:
        """The team of every world of BatchView ``v`` as ``n * k`` rows of agent 0."""
        n, (nq, nv, _) = v.n * self.k, self.shape
        qpos, qvel = np.zeros((n, nq)), np.zeros((n, nv))
        qpos[:, self.qpos[0]] = v.qpos[:, self.qpos].reshape(n, -1)
        qvel[:, self.qvel[0]] = v.qvel[:, self.qvel].reshape(n, -1)
        return Rows(n, qpos=qpos, qvel=qvel)

    def control_rows(self, v) -> Rows:
        """Empty ``n * k`` rows for a controller to write ``ctrl`` into (see :meth:`scatter_ctrl`)."""
        n = v.n * self.k
        return Rows(n, ctrl=np.zeros((n, self.shape[2])))

    def scatter_ctrl(self, v, rows: Rows) -> None:
        """Each agent's controls from ``rows`` (agent 0's columns) into its own actuators."""
        v.ctrl[:, self.ctrl] = rows.ctrl[:, self.ctrl[0]].reshape(v.n, self.k, -1)

    def split(self, array: np.ndarray) -> np.ndarray:
        """(n * k, ...) rows back to (n, k, ...)."""
        return array.reshape(-1, self.k, *array.shape[1:])
