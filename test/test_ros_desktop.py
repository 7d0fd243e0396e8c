"""At the desk: teleop keeps episodes going and says every reset, terminal teleop shows a live
status line, real time falling behind is said once, and run_spaceros.py shows its status.

Real processes (teleop in a real pseudo-terminal, the node over real Fast DDS), each on its own
ROS_DOMAIN_ID; the unit tests feed hand-made arrays and times.
"""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import time

import numpy as np
import pytest

from .conftest import script_cmd

pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed")

from spaceros_procgen_envs.ros.node import NO_LIMIT_STEPS, episode_steps  # noqa: E402
from spaceros_procgen_envs.ros.status import Console, RateWatch, reset_line  # noqa: E402
from spaceros_procgen_envs.ros.topics import reset_reasons  # noqa: E402

from .ros_helpers import spawn, ros_domain  # noqa: E402,F401
from .teleop_helpers import (NEEDS_X, Output, Probe, domain_id, process,  # noqa: E402
                             stop_and_check, teleop_env, xdotool, xvfb)

STATUS = re.compile(r"cmd lin ([+-]\d\.\d\d) [+-]\d\.\d\d [+-]\d\.\d\d ang [^|]+\| env0 xyz "
                    r"[+-]\d+\.\d\d [+-]\d+\.\d\d [+-]\d+\.\d\d m, reward [+-]\d\.\d{3}, "
                    r"episode (\d+) \| (\d+\.\d)/(\d+) Hz")


# --- unit ------------------------------------------------------------------------------------
def test_reset_reasons_name_success_divergence_and_the_time_limit():
    terminated = np.array([True, True, False, False, False])
    truncated = np.array([False, False, True, True, False])
    info = {"is_success": np.array([True, False, False, False, False]),
            "diverged": np.array([False, False, False, True, False])}
    assert reset_reasons(terminated, truncated, info) == [
        (0, "success"), (1, "terminated"), (2, "time limit"), (3, "diverged")]
    line = reset_line({"resets": [{"env": 2, "reason": "time limit", "episode_s": 10.0},
                                  {"env": 3, "reason": "diverged", "episode_s": 4.32}]})
    assert line == "reset: env 2 (time limit, after 10.0 s); env 3 (diverged, after 4.3 s)"


def test_episode_s_maps_to_the_step_limit():
    assert episode_steps(0.0) is None  # the task's own
    assert episode_steps(-1.0) == NO_LIMIT_STEPS
    assert episode_steps(2.5) == 125  # 50 Hz


def test_rate_watch_warns_once_after_two_seconds_behind():
    watch = RateWatch(target_hz=50.0, num_envs=100)
    t, steps, said = 0.0, 0, []
    for _ in range(8):  # 1 s at full rate: no warning
        t, steps = t + 0.125, steps + 6.25
        said.append(watch.update(t, int(steps)))
    assert not any(said)
    for _ in range(15):  # 1.875 s at 1.8 Hz: not yet
        t, steps = t + 0.125, steps + 0.225
        assert watch.update(t, int(steps)) is None
    t, steps = t + 0.5, steps + 0.9
    message = watch.update(t, int(steps))
    assert message and "of the 50 Hz target" in message and "--lockstep" in message
    assert "fewer envs" in message and "without cameras" in message
    assert watch.update(t + 5, int(steps)) is None  # once


def test_rate_watch_forgives_a_short_stall():
    watch = RateWatch(target_hz=50.0, num_envs=1)
    t, steps = 0.0, 0
    for k in range(40):  # 1.5 s stalls between full-rate seconds: never 2 s behind
        t += 0.5
        steps += 0 if k % 5 < 3 else 50
        assert watch.update(t, steps) is None


def test_console_redraws_the_status_line_below_a_message():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    console = Console(out)
    console.status("status 1", now=0.0)
    console.log("reset: env 0 (reset service, after 1.0 s)")
    console.status("status 2", now=0.1)  # rate-limited: not drawn
    console.close()
    assert out.getvalue() == ("\r\x1b[2Kstatus 1\r\x1b[2Kreset: env 0 (reset service, after "
                              "1.0 s)\nstatus 1\n")


# --- teleop in a real pty ----------------------------------------------------------------------
def test_terminal_teleop_status_line_and_a_line_per_reset():
    domain = domain_id()
    probe = Probe(domain, 1)
    master, slave = pty.openpty()
    try:
        cmd = script_cmd("teleop.py", "--task", "perseverance", "--headless", "--episode_s", "1")
        with process(cmd, stdin=slave, stdout=slave, stderr=slave, env=teleop_env(domain)) as proc:
            out = Output(master)
            out.wait_for("Ctrl-C  quit", 90, proc)
            assert "episodes end after 1 s (--episode_s)" in out.text
            out.wait_for("reset: env 0 (time limit, after 1.0 s)", 30, proc)
            probe.wait(lambda: STATUS.search(out.text), 10, "a status line")
            end = time.monotonic() + 3
            while time.monotonic() < end:  # hold W: the status shows the command
                os.write(master, b"w")
                time.sleep(0.03)
            moving = [m for m in STATUS.finditer(out.text) if float(m.group(1)) > 0]
            assert moving, f"no status line with W's command:\n{out.text[-2000:]}"
            assert int(moving[-1].group(4)) == 50
            episodes = [int(m.group(2)) for m in STATUS.finditer(out.text)]
            assert max(episodes) >= 2, "the episode count does not advance"
            os.write(master, b"l")
            out.wait_for("reset: env 0 (reset service", 10, proc)
            stop_and_check(proc, out)
    finally:
        probe.close()
        os.close(master)
        os.close(slave)


def test_teleop_keeps_the_episode_past_the_task_time_limit():
    domain = domain_id()
    probe = Probe(domain, 1, pose="robot/ee_pose")
    master, slave = pty.openpty()
    try:  # sample_collection ends episodes after 10 s; teleop must not, by default
        cmd = script_cmd("teleop.py", "--task", "sample_collection", "--headless",
                         "--realtime_factor", "4")
        with process(cmd, stdin=slave, stdout=slave, stderr=slave, env=teleop_env(domain)) as proc:
            out = Output(master)
            out.wait_for("Ctrl-C  quit", 90, proc)
            assert "no episode time limit (--episode_s S sets one)" in out.text
            probe.wait(lambda: probe.info.get("sim_time_s", 0) > 11.0, 120, "11 s of sim time")
            assert probe.info["episodes"] == [0], probe.info["episodes"]
            assert "reset:" not in out.text
            stop_and_check(proc, out)
    finally:
        probe.close()
        os.close(master)
        os.close(slave)


# --- real time and run_spaceros.py -----------------------------------------------------------
def test_falling_behind_real_time_is_said_once_and_run_spaceros_shows_its_status(spawn):
    # x1000 real time (50 kHz) is out of reach of any machine: the warning must come
    proc = spawn("run_spaceros.py", "--headless", "--realtime_factor", "1000", "--duration", "8")
    assert proc.wait(120) == 0, proc.stderr()
    err, out = proc.stderr(), proc.stdout()
    assert err.count("real time falls behind") == 1, err
    assert "of the 50000 Hz target" in err and "--lockstep" in err
    assert re.search(r"run_spaceros.py: step \d+ \| [0-9.]+ steps/s x 1 envs", out), out
    assert re.search(r"run_spaceros.py: done, \d+ steps x 1 envs", out), out


def test_keeping_up_says_nothing(spawn):
    proc = spawn("run_spaceros.py", "--headless", "--lockstep", "--duration", "4")
    assert proc.wait(120) == 0, proc.stderr()
    assert "falls behind" not in proc.stderr()  # lockstep has no real-time target


@NEEDS_X
def test_x_teleop_says_the_reset_of_l_and_keeps_episodes():
    domain = domain_id()
    probe = Probe(domain, 2)
    try:
        with xvfb() as display:
            cmd = script_cmd("teleop.py", "--task", "perseverance", "--num_envs", "2",
                             "--no_viewer")
            read_fd, write_fd = os.pipe()
            with process(cmd, stdin=subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
                         env=teleop_env(domain, DISPLAY=display)) as proc:
                os.close(write_fd)
                out = Output(read_fd)
                out.wait_for("Ctrl-C  quit", 90, proc)
                assert "keys from pynput" in out.text
                assert "no episode time limit" in out.text
                probe.wait(lambda: probe.twists and probe.info, 20, "teleop and node")
                end = time.monotonic() + 20  # pynput's listener starts after the key list
                while "reset: every env" not in out.text and time.monotonic() < end:
                    xdotool(display, "key", "l")
                    time.sleep(1.0)
                out.wait_for("reset: envs 0-1 (reset service, after", 10, proc)
                stop_and_check(proc, out)
            os.close(read_fd)
    finally:
        probe.close()
