"""Per-env episodes cut out of a batch, appended to a Minari dataset as they grow.

Times are batch steps: time ``t`` is the state after ``t`` steps of the batch (a reset
leaves the time where it is). An episode of env ``i`` that starts at time ``t0`` and has
``L`` transitions holds observations at ``t0 .. t0 + L`` and the actions, rewards and flags
of steps ``t0 + 1 .. t0 + L``. With NEXT_STEP autoreset, the step after an episode ends
returns the next episode's first observation (its action is ignored by the env and not
stored), so that episode starts at the time of that step.

Each episode is written when it ends (a few HDF5 datasets per episode: appending small chunks
costs far more). Open episodes are appended in chunks every :data:`FLUSH_BYTES` of batch data
or :data:`MAX_FLUSH_STEPS` steps (memory stays bounded for camera tasks) and on close, so an
interrupted run keeps every completed step.
Minari's episode ids are given in the order episodes first reach the disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .paths import DiskGuard

FLUSH_BYTES = 32 << 20  # batch data kept in memory before a chunk is appended
MAX_FLUSH_STEPS = 3000  # ... or this many steps (1 min of sim time), whichever comes first
EPISODE_OVERHEAD = 96 << 10  # bytes on disk a new episode costs beyond its data (HDF5), about


@dataclass
class Frame:
    """The batch at one time: observations and the step that produced them."""

    obs: dict[str, np.ndarray]   # (n, ...) each
    info: np.ndarray | None      # (n, K) float64 info columns; None after a reset
    actions: np.ndarray | None   # (n, dim) float32 as applied; None for the first reset
    rewards: np.ndarray          # (n,) float64
    terminated: np.ndarray       # (n,) bool
    truncated: np.ndarray        # (n,) bool

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.obs.values()) + \
            (0 if self.info is None else self.info.nbytes)


@dataclass
class Episode:
    """One env's episode while it is recorded (see the module doc for times)."""

    env: int
    t0: int
    started_by: str            # "reset" or "autoreset"
    episode_seed: int | None   # the seed of the last seeded reset of this env
    resets_since_seed: int     # episodes begun since that reset (0: the seeded one)
    length: int = 0            # transitions so far
    obs_written: int = 0       # observation rows already in the dataset
    id: int | None = None      # Minari episode id, once on disk
    success: bool = False      # is_success at some step
    end: str = "open"          # open, terminated, truncated, reset (cut by a reset), interrupted
    seed_attr: int | None = field(default=None, repr=False)  # Minari's "seed" (seeded resets)


class EpisodeBook:
    """Cuts the batch into per-env episodes and writes them through ``writer``.

    Args:
        num_envs: envs in the batch.
        writer: a :class:`~.dataset.DatasetWriter` (or None: keep nothing on disk).
        guard: stops before the disk is full.
        episode_meta: fields every episode carries (task, domain, package version).
        env_meta: fields of each env's episodes (world seed, asset keys).
    """

    def __init__(self, num_envs: int, writer, guard: DiskGuard, episode_meta: dict,
                 env_meta: list[dict]):
        self.num_envs, self.info_keys, self.bool_keys = num_envs, [], set()
        self.writer, self.guard = writer, guard
        self.meta, self.env_meta = dict(episode_meta), env_meta
        self.frames: list[Frame] = []
        self.base = 0  # time of frames[0]
        self.open: list[Episode | None] = [None] * num_envs
        self.closed: list[Episode] = []  # ended, some rows not yet on disk
        self.done = np.zeros(num_envs, bool)  # the env's last step ended its episode
        # the open episodes' length and success, kept here per step (Episode objects get them
        # when they end or are flushed: see _sync)
        self.lengths = np.zeros(num_envs, np.int64)
        self.successes = np.zeros(num_envs, bool)
        self.seeds: list[int | None] = [None] * num_envs
        self.resets = np.zeros(num_envs, np.int64)  # since the last seeded reset
        self.next_id, self.episodes_written, self._pending_bytes = 0, 0, 0
        self.time = -1

    # --- events -------------------------------------------------------------------------------
    def on_reset(self, time: int, obs: dict[str, np.ndarray], mask: np.ndarray,
                 seeds: list[int | None]) -> None:
        """Envs in ``mask`` were reset at ``time`` (``seeds[i]`` None: their RNG continues)."""
        rows = np.flatnonzero(mask)
        self._sync()
        cut = [i for i in rows if self.open[i] is not None and self.open[i].length > 0]
        for i in rows:
            self._end(i, "reset")
        if cut:  # their last rows are in the frame the reset overwrites: write them first
            self.flush(closed_only=True)
        if not self.frames:  # the first reset: a frame of its own
            self.frames.append(Frame({k: v.copy() for k, v in obs.items()}, None, None,
                                     np.zeros(self.num_envs), np.zeros(self.num_envs, bool),
                                     np.zeros(self.num_envs, bool)))
            self.base = self.time = time
        else:  # the time of the last step: the reset envs' rows become their reset state
            frame = self.frames[-1]
            for key, value in obs.items():
                frame.obs[key][rows] = value[rows]
            if frame.info is not None:
                frame.info[rows] = 0.0
        for i in rows:
            if seeds[i] is not None:
                self.seeds[i], self.resets[i] = int(seeds[i]), 0
            else:
                self.resets[i] += 1
            self._begin(i, time, "reset", seeds[i])
        self.done[rows] = False

    def on_step(self, time: int, actions: np.ndarray, obs: dict[str, np.ndarray],
                rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                info: dict) -> None:
        """The batch step that made ``time``; ``info`` is the step's info dict (its
        ``reward/<term>``, ``is_success`` and ``diverged`` arrays are kept)."""
        if not self.info_keys:
            self.info_keys = [k for k in info if k.startswith("reward/")] + \
                [k for k in ("is_success", "diverged") if k in info]
            self.bool_keys = {k for k in self.info_keys if np.asarray(info[k]).dtype == bool}
        info = np.column_stack([np.asarray(info[k], np.float64) for k in self.info_keys]) \
            if self.info_keys else np.zeros((self.num_envs, 0))
        frame = Frame({k: v.copy() for k, v in obs.items()}, info, actions, rewards.copy(),
                      terminated.copy(), truncated.copy())
        self.frames.append(frame)
        self.time = time
        success = info[:, self.info_keys.index("is_success")] > 0 \
            if "is_success" in self.info_keys else np.zeros(self.num_envs, bool)
        restarted, stepped = self.done, ~self.done  # NEXT_STEP: restarted envs took no step
        for i in np.flatnonzero(restarted):
            self.resets[i] += 1
            self._begin(i, time, "autoreset", None)
        self.lengths += stepped
        self.successes |= stepped & success
        ended = terminated | truncated
        for i in np.flatnonzero(stepped & ended):
            self._end(i, "terminated" if terminated[i] else "truncated")
        self.done = ended
        self._pending_bytes += frame.nbytes
        if self._pending_bytes >= FLUSH_BYTES or len(self.frames) > MAX_FLUSH_STEPS:
            self.flush()
        elif self.closed:  # whole episodes: one HDF5 dataset per key each, written once
            self.flush(closed_only=True)

    def _begin(self, i: int, time: int, how: str, seed: int | None) -> None:
        self.open[i] = Episode(int(i), time, how, self.seeds[i], int(self.resets[i]),
                               seed_attr=None if seed is None else int(seed))
        self.lengths[i], self.successes[i] = 0, False

    def _sync(self) -> None:
        """The open episodes' length and success from the per-step arrays."""
        for i, ep in enumerate(self.open):
            if ep is not None:
                ep.length, ep.success = int(self.lengths[i]), bool(self.successes[i])

    def _end(self, i: int, how: str) -> None:
        ep = self.open[i]
        self.open[i] = None
        if ep is not None:
            ep.length, ep.success = int(self.lengths[i]), bool(self.successes[i])
        if ep is not None and ep.length > 0:
            ep.end = how
            self.closed.append(ep)

    # --- writing ------------------------------------------------------------------------------
    @property
    def pending_bytes(self) -> int:
        """What writing the rows held in memory will take on disk, about: HDF5 stores a
        chunked dataset per key and episode (~64 KiB each new episode) and rounds chunks up."""
        new = sum(ep is not None and ep.id is None for ep in (*self.open, *self.closed))
        return 2 * self._pending_bytes + EPISODE_OVERHEAD * new

    def close(self) -> None:
        """End every open episode as ``interrupted`` (if it has a step) and write all (and wait
        for the writer to finish)."""
        for i in range(self.num_envs):
            self._end(i, "interrupted")
        try:
            self.flush()
        finally:
            if self.writer is not None:
                self.writer.close()

    def flush(self, closed_only: bool = False) -> None:
        """Append the rows not yet on disk of every episode (``closed_only``: of the episodes
        that ended); drop the frames no longer needed."""
        self._sync()
        eps = [ep for ep in (*self.closed, *(() if closed_only else self.open))
               if ep is not None and ep.length > 0 and ep.obs_written < ep.length + 1]
        if self.writer is not None and eps:
            blocks = self._blocks()
            chunks = [self._chunk(ep, blocks) for ep in eps]
            self.guard.count(sum(nbytes for _, nbytes in chunks))
            for ep in eps:
                if ep.id is None:
                    ep.id, self.next_id = self.next_id, self.next_id + 1
            self.writer.write([(ep, chunk) for ep, (chunk, _) in zip(eps, chunks)],
                              [self._meta(ep) for ep in eps])
        for ep in eps:
            ep.obs_written = ep.length + 1
        self.episodes_written += sum(ep.end != "open" for ep in self.closed)
        self.closed = []
        self._trim()

    def _blocks(self) -> dict:
        """Every frame in memory stacked per array: (frames, envs, ...) each."""
        frames, n = self.frames, self.num_envs
        ref = next(f.actions for f in frames if f.actions is not None)
        info0, act0 = np.zeros((n, len(self.info_keys))), np.zeros_like(ref)
        return {"obs": {key: np.stack([f.obs[key] for f in frames]) for key in frames[0].obs},
                "info": np.stack([info0 if f.info is None else f.info for f in frames]),
                "actions": np.stack([act0 if f.actions is None else f.actions for f in frames]),
                "rewards": np.stack([f.rewards for f in frames]),
                "terminations": np.stack([f.terminated for f in frames]),
                "truncations": np.stack([f.truncated for f in frames])}

    def _chunk(self, ep: Episode, blocks: dict) -> tuple[dict, int]:
        """The episode's unwritten rows: observations/infos from ``t0 + obs_written``,
        transitions from ``t0 + max(obs_written, 1)``, to ``t0 + length``."""
        i, stop = ep.env, ep.t0 + ep.length + 1 - self.base
        rows = slice(ep.t0 + ep.obs_written - self.base, stop)
        steps = slice(ep.t0 + max(ep.obs_written, 1) - self.base, stop)
        obs = {key: value[rows, i] for key, value in blocks["obs"].items()}
        info = blocks["info"][rows, i].copy()
        if ep.obs_written == 0:
            info[0] = 0.0  # the reset's row: no reward terms, no flags
        terms = {k[len("reward/"):]: info[:, c] for c, k in enumerate(self.info_keys)
                 if k.startswith("reward/")}
        infos = {"reward": terms, **{k: info[:, c] > 0 for c, k in enumerate(self.info_keys)
                                     if k in self.bool_keys}}
        chunk = {"observations": obs, "infos": infos,
                 **{key: blocks[key][steps, i] for key in
                    ("actions", "rewards", "terminations", "truncations")},
                 "seed": ep.seed_attr if ep.obs_written == 0 else None}
        nbytes = sum(v.nbytes for v in obs.values()) + info.nbytes + chunk["actions"].nbytes
        return chunk, nbytes

    def _meta(self, ep: Episode) -> dict:
        meta = {**self.meta, **self.env_meta[ep.env], "env": ep.env,
                "t0": ep.t0, "started_by": ep.started_by, "resets_since_seed": ep.resets_since_seed,
                "end": ep.end, "success": ep.success, "length": ep.length,
                "total_steps": ep.length}  # Minari sets it per chunk; the whole episode
        if ep.episode_seed is not None:
            meta["episode_seed"] = ep.episode_seed
        return meta

    def _trim(self) -> None:
        need = [ep.t0 + ep.obs_written for ep in self.open if ep is not None]
        keep_from = min([*need, self.time])
        drop = keep_from - self.base
        if drop > 0:
            del self.frames[:drop]
            self.base = keep_from
        self._pending_bytes = sum(f.nbytes for f in self.frames)
