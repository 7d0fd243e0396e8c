"""What the ROS scripts show while they run: the live status line, the rate watch, teleop's
console.

* :class:`StatusLine`: steps/s, episodes and mean reward (agents, ``run_spaceros.py``);
  rewritten in place on a terminal (4 Hz), one line every 2 s otherwise.
* :class:`RateWatch`: real time falling behind (under 90 % of the target rate for 2 s) is
  said once, with the figure and what to do.
* :class:`Console`: teleop's messages and its status line (command, env 0's pose and reward,
  episode, rate) on one terminal without tearing each other.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

BEHIND_FRACTION = 0.9  # of the target rate
BEHIND_FOR_S = 2.0  # s under that fraction before the warning


class RewardStats:
    """Rewards and finished episodes seen on the ``env{i}/...`` topics (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.episodes, self.total, self.count = 0, 0.0, 0
        self._window = [0.0, 0]

    def add_rewards(self, values) -> None:
        """One step's rewards, one per env."""
        values = np.asarray(values, np.float64)
        with self._lock:
            self.total += float(values.sum())
            self.count += values.size
            self._window[0] += float(values.sum())
            self._window[1] += values.size

    def add_dones(self, flags: bytes) -> None:
        """One step's terminated (or truncated) flags, one byte per env."""
        ended = sum(1 for flag in flags if flag)
        if ended:
            with self._lock:
                self.episodes += ended

    def take_window_mean(self) -> float:
        """Mean reward per env-step since the last call (NaN when none arrived)."""
        with self._lock:
            total, n = self._window
            self._window = [0.0, 0]
        return total / n if n else float("nan")


class StatusLine:
    """The live status: rewritten in place on a TTY (4 Hz), a new line every 2 s otherwise."""

    def __init__(self, prog: str, num_envs: int, stream=None):
        self.prog, self.num_envs, self.stream = prog, num_envs, stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.period_s = 0.25 if self.tty else 2.0
        self._last = (time.monotonic(), 0)

    def update(self, steps: int, stats: RewardStats, force: bool = False) -> None:
        now = time.monotonic()
        last_t, last_steps = self._last
        if not force and now - last_t < self.period_s:
            return
        rate = (steps - last_steps) / max(now - last_t, 1e-9)
        self._last = (now, steps)
        text = (f"{self.prog}: step {steps} | {rate:.1f} steps/s x {self.num_envs} envs = "
                f"{rate * self.num_envs:.0f} env-steps/s | episodes {stats.episodes} | "
                f"mean reward {stats.take_window_mean():+.4f}")
        self.stream.write(f"\r\x1b[2K{text}" if self.tty else f"{text}\n")
        self.stream.flush()

    def finish(self, steps: int, seconds: float, stats: RewardStats) -> None:
        mean = stats.total / stats.count if stats.count else float("nan")
        text = (f"{self.prog}: done, {steps} steps x {self.num_envs} envs in {seconds:.1f} s "
                f"({steps / max(seconds, 1e-9):.1f} steps/s), episodes {stats.episodes}, "
                f"mean reward {mean:+.4f}")
        self.stream.write(f"\r\x1b[2K{text}\n" if self.tty else f"{text}\n")
        self.stream.flush()


class RateWatch:
    """Says once when the achieved step rate stays under 90 % of the target for 2 s.

    Feed it ``update(now_s, steps)`` (wall seconds, steps taken so far) every 0.25 s or more;
    it returns the warning the first time the rate has been behind for ``for_s``, else None.

    >>> watch = RateWatch(target_hz=50.0, num_envs=100)
    >>> [watch.update(t, int(t * 20)) is not None for t in (0.0, 1.0, 2.0, 3.0, 4.0)]
    [False, False, True, False, False]
    """

    def __init__(self, target_hz: float, num_envs: int, fraction: float = BEHIND_FRACTION,
                 for_s: float = BEHIND_FOR_S):
        self.target_hz, self.num_envs = target_hz, num_envs
        self.fraction, self.for_s = fraction, for_s
        self._last: tuple[float, int] | None = None
        self._behind_since: float | None = None
        self.warned = False

    def update(self, now_s: float, steps: int) -> str | None:
        last, self._last = self._last, (now_s, steps)
        if last is None or self.warned or now_s <= last[0]:
            return None
        rate = (steps - last[1]) / (now_s - last[0])
        if rate >= self.fraction * self.target_hz:
            self._behind_since = None
            return None
        if self._behind_since is None:
            self._behind_since = last[0]
        if now_s - self._behind_since < self.for_s:
            return None
        self.warned = True
        return self.message(rate)

    def message(self, rate: float) -> str:
        return (f"real time falls behind: {rate:.1f} steps/s of the {self.target_hz:g} Hz "
                f"target ({100 * rate / self.target_hz:.0f} %, {rate * self.num_envs:.0f} "
                f"env-steps/s for {self.num_envs} envs) for {self.for_s:g} s; sim time runs "
                "slower than the wall clock. Run fewer envs (--num_envs), a task without "
                "cameras (not <task>_visual), no --video, or --lockstep to step as fast as "
                "the agent sends actions")


class Console:
    """Teleop's output: message lines, and a status line kept at the bottom of a terminal.

    Args:
        stream: where to write (default stdout).
        period_s: status refresh period on a terminal (elsewhere one line every 2 s).
    """

    def __init__(self, stream=None, period_s: float = 0.25):
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.period_s = period_s if self.tty else 2.0
        self._lock = threading.Lock()
        self._last_status, self._shown = float("-inf"), ""

    def log(self, line: str) -> None:
        """One message line (the status line, if shown, is redrawn below it)."""
        with self._lock:
            if self.tty and self._shown:
                self.stream.write(f"\r\x1b[2K{line}\n{self._shown}")
            else:
                self.stream.write(f"{line}\n")
            self.stream.flush()

    def status(self, text: str, now: float | None = None) -> None:
        """Show ``text`` as the status line (rate-limited to ``period_s``)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if now - self._last_status < self.period_s:
                return
            self._last_status = now
            if self.tty:
                self._shown = text
                self.stream.write(f"\r\x1b[2K{text}")
            else:
                self.stream.write(f"{text}\n")
            self.stream.flush()

    def close(self) -> None:
        """End the status line so the shell prompt starts on a line of its own."""
        with self._lock:
            if self.tty and self._shown:
                self.stream.write("\n")
                self.stream.flush()
            self._shown = ""


def teleop_status(twist: np.ndarray, gripper: bool | None, pose, reward, episode,
                  rate_hz, target_hz) -> str:
    """Teleop's status line: the command sent, env 0's pose (m) and reward, the episode,
    the achieved step rate.

    >>> teleop_status(np.array([0.5, 0, 0, 0, 0, -0.25]), None, (1.0, 2.0, 0.5), -0.01, 3,
    ...               49.9, 50.0).split(" | ")  # doctest: +NORMALIZE_WHITESPACE
    ['cmd lin +0.50 +0.00 +0.00 ang +0.00 +0.00 -0.25',
     'env0 xyz +1.00 +2.00 +0.50 m, reward -0.010, episode 3', '49.9/50 Hz']
    """
    lin = " ".join(f"{v:+.2f}" for v in twist[:3])
    ang = " ".join(f"{v:+.2f}" for v in twist[3:])
    text = f"cmd lin {lin} ang {ang}"
    if gripper is not None:
        text += f" grip {'closed' if gripper else 'open'}"
    xyz = "?" if pose is None else " ".join(f"{v:+.2f}" for v in pose) + " m"
    rew = "?" if reward is None else f"{reward:+.3f}"
    ep = "?" if episode is None else str(episode)
    rate = "?" if rate_hz is None else f"{rate_hz:.1f}"
    target = "lockstep" if target_hz is None else "?" if target_hz != target_hz \
        else f"{target_hz:g} Hz"  # NaN: no envs/info yet
    return f"{text} | env0 xyz {xyz}, reward {rew}, episode {ep} | {rate}/{target}"


def reset_line(event: dict) -> str:
    """One ``envs/resets`` message as a line: which envs reset, why, after how long.

    >>> reset_line({"step": 500, "resets": [{"env": 0, "reason": "time limit", "episode_s": 10.0},
    ...            {"env": 1, "reason": "time limit", "episode_s": 10.0}]})
    'reset: envs 0-1 (time limit, after 10.0 s)'
    """
    groups: dict[str, list] = {}
    for item in event["resets"]:
        groups.setdefault(item["reason"], []).append(item)
    parts = []
    for reason, items in groups.items():
        envs = [item["env"] for item in items]
        label = f"env {envs[0]}" if len(envs) == 1 else f"envs {index_ranges(envs)}"
        lengths = {round(item["episode_s"], 1) for item in items}
        after = f", after {lengths.pop():.1f} s" if len(lengths) == 1 else ""
        parts.append(f"{label} ({reason}{after})")
    return "reset: " + "; ".join(parts)


def index_ranges(indices: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    out, start = [], None
    for i, value in enumerate(indices):
        if start is None:
            start = value
        if i + 1 == len(indices) or indices[i + 1] != value + 1:
            out.append(str(start) if start == value else f"{start}-{value}")
            start = None
    return ", ".join(out)
