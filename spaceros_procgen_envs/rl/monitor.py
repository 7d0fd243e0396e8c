"""What ``train.py`` shows and writes while SB3 learns: progress bar, CSV rows, checkpoints.

:class:`TrainMonitor` is an SB3 callback. It reads the ``episode`` entries the adapter puts in
``infos`` (return, length, reward-term sums, success), keeps the most recent episodes, and
every ``log_every`` env steps appends a CSV row; every ``checkpoint_every`` it saves the policy.
The progress bar (env-steps/s, episodes/s, mean return, success) is rewritten in place on a
terminal at 4 Hz, and printed as a new line every 10 s otherwise.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from .curves import CsvLog

WINDOW = 100  # episodes in the running means (at least num_envs)


class ProgressBar:
    """``[####......] 45% 450k/1.0M env steps | 3,900 env-steps/s | ...`` on one line."""

    def __init__(self, label: str, total: int, stream=None, width: int = 20):
        self.label, self.total, self.width = label, max(1, int(total)), width
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.period_s = 0.25 if self.tty else 10.0
        self._last = -1e9

    def update(self, done: int, stats: str | Callable[[], str], force: bool = False) -> None:
        """Redraw if due (or ``force``); ``stats`` may be a callable, only called then."""
        now = time.monotonic()
        if not force and now - self._last < self.period_s:
            return
        self._last = now
        stats = stats() if callable(stats) else stats
        frac = min(1.0, done / self.total)
        bar = "#" * int(frac * self.width) + "." * (self.width - int(frac * self.width))
        text = (f"{self.label} [{bar}] {frac * 100:3.0f}% {_si(done)}/{_si(self.total)} "
                f"env steps | {stats}")
        self.stream.write(f"\r\x1b[2K{text}" if self.tty else f"{text}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _si(n: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"


class TrainMonitor(BaseCallback):
    """The SB3 callback of ``train.py``.

    Args:
        log: the CSV log (appended to; on ``--resume`` its last row gives the offsets).
        total_steps: the run's env-step budget (for the bar).
        log_every, checkpoint_every: env steps between CSV rows / checkpoints.
        save: ``save(env_steps)`` writes a checkpoint (and the curve).
        bar: the progress bar.
        wall_budget_s: stop training once the run's wall time (a resumed run's included)
            reaches this (None: only the step budget ends it).
    """

    def __init__(self, log: CsvLog, total_steps: int, log_every: int, checkpoint_every: int,
                 save: Callable[[int], None], bar: ProgressBar,
                 wall_budget_s: float | None = None):
        super().__init__()
        self.wall_budget_s = wall_budget_s
        self.log, self.total, self.save_fn, self.bar = log, total_steps, save, bar
        self.log_every, self.checkpoint_every = max(1, log_every), max(1, checkpoint_every)
        last = log.last or {}
        self.wall_offset = last.get("wall_s", 0.0)
        self.episodes = int(last.get("episodes", 0))
        self.recent: deque = deque(maxlen=WINDOW)
        self.terms = [c for c in log.columns if c.startswith(("reward/", "stage/"))]

    def _on_training_start(self) -> None:
        self.t0 = time.monotonic()
        self.recent = deque(maxlen=max(WINDOW, self.training_env.num_envs))
        self._mark = (self.t0, self.num_timesteps, self.episodes)
        self._start = (self.num_timesteps, self.episodes)
        self.next_log = (self.num_timesteps // self.log_every + 1) * self.log_every
        self.next_ckpt = (self.num_timesteps // self.checkpoint_every + 1) * self.checkpoint_every
        self.rates = (float("nan"), float("nan"))

    def _on_step(self) -> bool:
        infos = self.locals["infos"]
        for i in np.flatnonzero(self.locals["dones"]):  # only an ended env's info has "episode"
            episode = infos[i].get("episode")
            if episode is not None:
                self.episodes += 1
                self.recent.append((episode, bool(infos[i].get("is_success", False))))
        steps = self.num_timesteps
        self._measure_rates(steps)
        if steps >= self.next_log:
            self.log.append(self.row(steps))
            self.next_log += self.log_every * max(1, (steps - self.next_log) // self.log_every + 1)
        if steps >= self.next_ckpt:
            self.save_fn(steps)
            self.next_ckpt += self.checkpoint_every * max(
                1, (steps - self.next_ckpt) // self.checkpoint_every + 1)
        self.bar.update(steps, self.stats_text)
        return self.wall_budget_s is None or self.wall_s() < self.wall_budget_s

    def _measure_rates(self, steps: int) -> None:
        now = time.monotonic()
        t, s, e = self._mark
        if now - t >= 2.0:
            self.rates = ((steps - s) / (now - t), (self.episodes - e) / (now - t))
            self._mark = (now, steps, self.episodes)

    def wall_s(self) -> float:
        return self.wall_offset + time.monotonic() - self.t0

    def means(self) -> dict[str, float]:
        if not self.recent:
            nan = float("nan")
            return {"mean_return": nan, "success_rate": nan, "mean_length": nan}
        episodes = [e for e, _ in self.recent]
        out = {"mean_return": float(np.mean([e["r"] for e in episodes])),
               "success_rate": float(np.mean([s for _, s in self.recent])),
               "mean_length": float(np.mean([e["l"] for e in episodes]))}
        out.update({t: float(np.mean([e.get(t, np.nan) for e in episodes])) for t in self.terms})
        return out

    def row(self, steps: int) -> dict[str, float]:
        return {"env_steps": steps, "wall_s": round(self.wall_s(), 3), "episodes": self.episodes,
                **self.means(), "env_steps_per_s": self.rates[0], "episodes_per_s": self.rates[1]}

    def average_rates(self) -> tuple[float, float]:
        """(env-steps/s, episodes/s) since this training call started, updates included."""
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        return ((self.num_timesteps - self._start[0]) / elapsed,
                (self.episodes - self._start[1]) / elapsed)

    def stats_text(self) -> str:
        """Rates over the last 2 s (and since the start), means of the recent episodes."""
        m, (steps_avg, episodes_avg) = self.means(), self.average_rates()
        return (f"{self.rates[0]:,.0f} env-steps/s (avg {steps_avg:,.0f}) | "
                f"{episodes_avg:.2f} episodes/s | return {m['mean_return']:+.1f} | "
                f"success {m['success_rate']:.2f} | {self.wall_s():.0f} s")
