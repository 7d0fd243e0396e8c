"""Worlds of a multi-robot task in ONE ``mujoco.batch.Batch``, with the agents as one more axis.

The multi-robot counterpart of :class:`~spaceros_procgen_envs.vector.batch_slice.BatchSlice`,
on the same parts: worlds built by :func:`~spaceros_procgen_envs.world.build_worlds` (one
MjData layout), a :class:`~spaceros_procgen_envs.sim.batchview.BatchView` stepped at the agent
rate, per-world resets (``SimEnv.reset_state`` in the world's scratch MjData, then ``set_state``
and one ``forward``) and divergence from ``BatchView.step``'s mask. The task's batched methods
take and return ``(n_worlds, n_agents, ...)`` arrays (see ``tasks/rover_team/env.py``).

The per-world Python that remains is the reset (the task's seeded sampling).

Example::

    worlds = build_worlds("rover_team", assets, first_seed=0, num_agents=3)
    team = TeamSlice(worlds)
    team.reset(np.arange(team.n), [0] * team.n)
    terms, success, diverged = team.step(np.zeros((team.n, 3, 2), np.float32))
    obs = team.observe()        # key -> (n_worlds, 3, *shape) float32
"""

from __future__ import annotations

import numpy as np
import mujoco

from .sim.batchview import BatchView
from .world import SimEnv


class TeamSlice:
    """``len(worlds)`` worlds of one multi-robot task, stepped together.

    Args:
        worlds: the worlds (one MjData layout; their own MjData serve as scratch for resets and
            rendering), e.g. from ``build_worlds``.
        nthread: MuJoCo threads stepping the batch (1: the caller's thread only).
        persistent: keep one MjData per world in the batch (rendering reads whole worlds).

    Attributes:
        n (worlds), k (agents per world), task (world 0's: ids and addresses are the same in
        every world), view (the BatchView), prev_action ((n, k, action_dim) float32).
    """

    def __init__(self, worlds: list[SimEnv], nthread: int = 1, persistent: bool = False):
        self.worlds, self.n = list(worlds), len(worlds)
        self.task = self.worlds[0].task
        self.k = len(self.task.agents)
        self.view = BatchView([w.model for w in self.worlds], nthread, persistent)
        for i, world in enumerate(self.worlds):
            world.attach_batch(self.view, i)  # world.live reads its batch row
        self.prev_action = np.zeros((self.n, self.k, self.worlds[0].action_dim), np.float32)
        self._store_episodes(np.arange(self.n))  # zero episode state until the first reset

    def _store_episodes(self, ids: np.ndarray) -> None:
        rows = [self.worlds[i].task.episode_state(self.worlds[i].model, self.worlds[i].data)
                for i in ids]
        episode = self.view.episode
        for key in rows[0] if rows else ():
            values = np.stack([row[key] for row in rows])
            if key not in episode:
                episode[key] = np.zeros((self.n, *values.shape[1:]), values.dtype)
            episode[key][ids] = values

    def reset(self, ids: np.ndarray, seeds: list[int | None]) -> None:
        """New episodes in worlds ``ids``; ``seeds[j]`` re-seeds world ``ids[j]`` (None: its
        episode randomness goes on)."""
        ids = np.asarray(ids, np.int32)
        if len(ids) == 0:
            return
        for i, seed in zip(ids, seeds):
            world = self.worlds[i]
            world.reset_state(seed)
            self.view.set_state(int(i), world.data)
        self.view.forward(ids)
        self._store_episodes(ids)
        self.prev_action[ids] = 0.0

    def step(self, actions: np.ndarray, active: np.ndarray | None = None
             ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """One agent step of every world.

        Args:
            actions: (n, k, action_dim) float32, already checked and clipped (parked agents: 0).
            active: (n, k) bool, agents live in this step (None: all).

        Returns:
            (terms, success, diverged): the weighted reward terms in ``task.reward_names``
            order, (n, k) each; (n, k) bool goal reached; (n,) bool the world diverged, in which
            case its terms are 0, it is not a success and it has been reset already.
        """
        v, task = self.view, self.task
        task.control_batch(v, actions)
        diverged = v.step()
        terms = task.reward_terms_batch(v, actions, self.prev_action, active)
        success = task.success_batch(v) & ~diverged[:, None]
        self.prev_action[:] = actions
        if diverged.any():
            for term in terms:
                term[diverged] = 0.0
            self.reset(np.flatnonzero(diverged), [None] * int(diverged.sum()))
        return terms, success, diverged

    def observe(self) -> dict[str, np.ndarray]:
        """Every agent's observation keys, (n, k, *shape) float32, at the current state."""
        return self.task.observe_batch(self.view)

    def poses(self) -> tuple[np.ndarray, np.ndarray]:
        """Robot base positions (n, k, 3) m and quaternions (n, k, 4) wxyz, world frame."""
        return self.task.poses_batch(self.view)

    def data(self, i: int) -> mujoco.MjData:
        """World ``i``'s MjData at the current state (its scratch MjData, refreshed)."""
        return self.view.get_data(i, self.worlds[i].data)
