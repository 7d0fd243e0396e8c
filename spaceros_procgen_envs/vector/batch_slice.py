"""A slice of envs as ONE ``mujoco.batch.Batch``: every step is a few whole-batch numpy
operations around one ``Batch.step`` on MuJoCo's own thread pool.

The per-env Python that remains: resets (an episode start per env: the task's seeded sampling,
``mj_forward``, then the state row is written into the batch), and rendering (each camera draws
one world). Autoreset follows Gymnasium's NEXT_STEP mode: the step after an env's episode
ends resets it and returns the first observation, reward 0, and neither flag set.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import numpy as np

from ..sim import vecmath
from ..sim.batchview import BatchView
from ..sim.cameras import RenderThread
from ..world import SimEnv
from .batch import split


def _stack(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    return {key: np.stack([np.asarray(row[key]) for row in rows]) for key in rows[0]}


def make_slice(envs: list[SimEnv], nthread: int = 1) -> BatchSlice:
    """The slice that runs ``envs``: one ``mujoco.batch.Batch`` on ``nthread`` MuJoCo threads.

    Raises:
        TypeError: when the task has no batched logic (``Task.BATCHED``).
    """
    if not envs[0].task.BATCHED:
        raise TypeError(f"task {envs[0].spec.name!r} has no batched logic (Task.BATCHED); "
                        "its worlds cannot run as one mujoco.batch.Batch")
    return BatchSlice(envs, nthread)


class BatchSlice:
    """Envs ``[start, start + len(envs))`` of a batch in one Batch, NEXT_STEP autoreset.

    Args:
        envs: the slice's worlds, in batch order (one MjData layout; their own MjData serve as
            scratch for resets and rendering).
        nthread: MuJoCo threads stepping the slice (1: the caller's thread only).
    """

    def __init__(self, envs: list[SimEnv], nthread: int = 1):
        self.envs, self.n = envs, len(envs)
        self.task = envs[0].task
        self.has_cameras = envs[0].cameras is not None
        self.view = BatchView([env.model for env in envs], nthread, persistent=self.has_cameras)
        self.view.const = _stack([env.task.batch_constants() for env in envs])
        for i, env in enumerate(envs):
            env.attach_batch(self.view, i)
        self.obs_keys, self.state_size = envs[0].obs_keys, envs[0].state_size
        self.max_steps = np.array([env.max_steps for env in envs])
        self.steps = np.zeros(self.n, np.int64)
        self.prev_action = np.zeros((self.n, envs[0].action_dim), np.float32)
        self.needs_reset = np.zeros(self.n, bool)
        self._stepping = np.ones(self.n, bool)
        self._diverged = np.zeros(self.n, bool)
        # Rendering: one GL context per render thread, ``nthread`` threads drawing contiguous
        # chunks of the slice's worlds in parallel (llvmpipe releases the GIL while drawing).
        self.chunks = split(self.n, nthread)
        self.render_threads = [RenderThread(name=f"spaceros-render{k}")
                               for k in range(len(self.chunks))]
        for (a, b), thread in zip(self.chunks, self.render_threads):
            for env in envs[a:b]:
                env.use_render_thread(thread)

    def __len__(self) -> int:
        return self.n

    # --- resets (per env: the task's seeded sampling) ---------------------------------------
    def _reset_envs(self, ids: np.ndarray, seeds: list[int | None]) -> None:
        rows = []
        for i, seed in zip(ids, seeds):
            env = self.envs[i]
            env.reset_state(seed)
            self.view.set_state(i, env.data)
            rows.append(env.task.episode_state(env.model, env.data))
        if len(ids) == 0:
            return
        self.view.forward(ids)
        episode = self.view.episode
        for key, values in _stack(rows).items():
            if key not in episode:
                episode[key] = np.zeros((self.n, *values.shape[1:]), values.dtype)
            episode[key][ids] = values
        self.steps[ids], self.prev_action[ids], self.needs_reset[ids] = 0, 0.0, False

    def _write_first(self, out, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        self._write_obs(out, ids)
        out.info_flat[ids] = 0.0
        out.rewards[ids], out.terminated[ids], out.truncated[ids] = 0.0, False, False

    def _write_obs(self, out, ids: np.ndarray | None = None) -> None:
        """The state observation (``obs_keys`` order, cast to float32) of every env, or of
        ``ids``, into ``out``."""
        obs = self.task.observe_batch(self.view)
        parts = [obs[key].reshape(self.n, -1) for key in self.obs_keys]
        if ids is None:
            np.concatenate(parts, axis=1, out=out.obs_flat[:, :self.state_size],
                           casting="same_kind")
        else:
            out.obs_flat[ids, :self.state_size] = np.concatenate(parts, axis=1)[ids]

    def reset(self, out, seeds: list[int | None], mask: np.ndarray | None = None) -> None:
        """Reset envs where ``mask`` (all when None), with per-env ``seeds``."""
        ids = np.arange(self.n) if mask is None else np.flatnonzero(mask)
        self._reset_envs(ids, [seeds[i] for i in ids])
        self._write_first(out, ids)
        self.render_wait(self.render(out))

    # --- a step: begin (controllers) -> physics (MuJoCo threads) -> finish (rewards, obs) ----
    def step(self, actions: np.ndarray, out) -> None:
        self.begin(actions)
        self.physics()
        self.finish(actions, out)
        self.render_wait(self.render(out))

    def begin(self, actions: np.ndarray) -> None:
        self._stepping = ~self.needs_reset
        self.task.control_batch(self.view, actions)

    def physics(self) -> None:
        stepping = self._stepping
        ids = None if stepping.all() else np.flatnonzero(stepping).astype(np.int32)
        self._diverged = self.view.step(ids) & stepping

    def finish(self, actions: np.ndarray, out) -> None:
        """Rewards, flags and observations of every env into ``out``; autoreset as NEXT_STEP."""
        stepping, diverged = self._stepping, self._diverged
        terms = self.task.reward_terms_batch(self.view, actions, self.prev_action)
        success = self.task.success_once(self.view)
        self.prev_action[:] = actions
        self.steps += 1
        info, count = out.info_flat, len(terms)
        columns = [*terms, success, diverged]
        if info.shape[1] > count + 2:  # the task's stage flags (see SimEnv.batch_info_keys)
            columns += self.task.stages_batch(self.view)
        np.stack(columns, axis=1, out=info, casting="unsafe")  # bools as 0.0 / 1.0
        np.sum(info[:, :count], axis=1, out=out.rewards)
        out.terminated[:] = success
        np.logical_or(diverged, self.steps >= self.max_steps, out=out.truncated)
        if diverged.any():
            # A diverged world is reset at once (MuJoCo already reset its data) and reports the
            # first observation of its next episode, flagged and truncated, with no reward.
            info[diverged, :count + 1] = 0.0
            info[diverged, count + 2:] = 0.0
            out.rewards[diverged], out.terminated[diverged] = 0.0, False
            ids = np.flatnonzero(diverged)
            self._reset_envs(ids, [None] * len(ids))
        self._write_obs(out)
        if not stepping.all():  # the envs whose episode ended last step start a new one
            restart = np.flatnonzero(~stepping)
            self._reset_envs(restart, [None] * len(restart))
            self._write_first(out, restart)
        self.needs_reset = stepping & (out.terminated | out.truncated)

    # --- rendering (per world, in the slice's render thread) ---------------------------------
    def render(self, out) -> list[Future] | None:
        """Every world's cameras into ``out`` (``_visual`` tasks), in the render threads; wait
        with :meth:`render_wait`."""
        if not self.has_cameras:
            return None
        return [thread.submit(self._render_chunk, a, b, out.obs_flat, out.images)
                for (a, b), thread in zip(self.chunks, self.render_threads)]

    @staticmethod
    def render_wait(pending: list[Future] | None) -> None:
        for future in pending or ():
            future.result()

    def _render_chunk(self, start: int, stop: int, obs: np.ndarray, images: np.ndarray) -> None:
        for i in range(start, stop):
            self.view.get_data(i, self.envs[i].data)  # the world as its last substep left it
            self.envs[i].render_into(obs[i], images[i])

    def views(self, width: int, height: int) -> list[np.ndarray]:
        return self.views_async(width, height).result()

    def views_async(self, width: int, height: int) -> Future:
        """One picture per world for people (video), drawn in the render threads."""
        def chunk(start: int, stop: int) -> list[np.ndarray]:
            frames = []
            for i in range(start, stop):
                self.view.get_data(i, self.envs[i].data)
                frames.append(self.envs[i].view_now(width, height))
            return frames

        pending = [thread.submit(chunk, a, b)
                   for (a, b), thread in zip(self.chunks, self.render_threads)]
        return _Gathered(pending)

    # --- ROS ------------------------------------------------------------------------------
    def robot_state_arrays(self, ee: bool = True) -> dict[str, Any]:
        """Every env's robot joints and base pose as ``(n, ...)`` arrays
        (:func:`~.protocol.states_per_env` has the keys; ``ee``: with a manipulator's
        end-effector pose)."""
        robot, v = self.task.robot, self.view
        position, velocity, effort = (np.array(a) for a in robot.joint_state_batch(v))
        base_xyz, base_wxyz = (np.array(a) for a in robot.base_pose_batch(v))
        states = {"joint_names": tuple(robot.joint_names), "prefix": robot.prefix,
                  "position": position, "velocity": velocity, "effort": effort,
                  "base_xyz": base_xyz, "base_wxyz": base_wxyz, "sim_time_s": v.time.copy()}
        site = getattr(robot, "ee_site", None)
        if site is not None and ee:
            sid = v.model.site(site).id
            states["ee_xyz"] = v.site_xpos[:, sid].copy()
            states["ee_wxyz"] = vecmath.mat_to_quat(v.site_xmat[:, sid])
        return states

    def close(self) -> None:
        for thread in self.render_threads:
            thread.close()
        self.envs.clear()


class _Gathered:
    """The frames of several render threads' futures, in order, behind ``result()``."""

    def __init__(self, pending: list[Future]):
        self.pending = pending

    def result(self) -> list[np.ndarray]:
        return [frame for future in self.pending for frame in future.result()]
