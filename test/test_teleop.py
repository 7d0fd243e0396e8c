"""Keyboard teleop: the key scheme, both keyboard backends, and teleop.py driving real processes.

Integration tests run ``scripts/teleop.py`` as its own process on its own ROS_DOMAIN_ID and watch
it from a ROS client in this process: keys typed into a real pseudo-terminal, and real X key
events (xdotool) on a real X server (Xvfb) heard by pynput.
"""

from __future__ import annotations

import os
import pty
import subprocess
import termios
import time

import numpy as np
import pytest

from spaceros_procgen_envs.registry import all_tasks

from .conftest import script_cmd

pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed")

from spaceros_procgen_envs.ros.keyboard import EventKeys, TerminalKeys, _printable  # noqa: E402
from spaceros_procgen_envs.ros.teleop import (SCHEMES, axis_speeds, robot_twist_map,  # noqa: E402
                                              scheme_for, twist_from_keys)

from .teleop_helpers import (NEEDS_X, Output, Probe, domain_id, process, stop_and_check,  # noqa: E402
                             teleop_env, xdotool, xvfb)


# --- unit: the scheme ----------------------------------------------------------------------
@pytest.mark.parametrize("task", sorted(all_tasks()))
def test_every_task_has_a_scheme_that_moves_every_mapped_axis(task):
    spec = all_tasks()[task]
    tmap = robot_twist_map(task)
    scheme = scheme_for(spec.robot_kind, tmap.gripper_index is not None)
    speeds = axis_speeds(tmap, 0.5, 0.5)
    assert set(np.flatnonzero(speeds)) == set(tmap.twist_index)
    for b in scheme.bindings:  # every key moves its axis, at half the robot's max speed
        top = dict(zip(tmap.twist_index, tmap.max_speed))[b.axis]
        assert twist_from_keys(scheme, {b.plus}, speeds)[b.axis] == pytest.approx(0.5 * top)
        assert twist_from_keys(scheme, {b.minus}, speeds)[b.axis] == pytest.approx(-0.5 * top)
    assert not twist_from_keys(scheme, set(), speeds).any()
    assert (scheme.gripper_key == "k") == (spec.robot_kind == "manipulator")


def test_scheme_matches_the_spec():
    arm = {b.plus + b.minus: b.axis for b in SCHEMES["manipulator"].bindings}
    assert arm == {"ws": 0, "ad": 1, "qe": 2, "zx": 3, "tg": 4, "cv": 5}
    assert {b.plus + b.minus: b.axis for b in SCHEMES["rover"].bindings} == {"ws": 0, "ad": 5}
    heli = {b.plus + b.minus: b.axis for b in SCHEMES["multicopter"].bindings}
    assert heli == {"ws": 0, "ad": 1, "qe": 2, "cv": 5}
    speeds = np.ones(6)
    assert twist_from_keys(SCHEMES["rover"], {"w", "s"}, speeds)[0] == 0  # opposite keys cancel
    assert twist_from_keys(SCHEMES["rover"], {"a"}, speeds)[5] > 0  # A turns left (+z, REP 103)


# --- unit: key events (pynput) -------------------------------------------------------------
def test_released_key_stops_after_the_grace_but_x_auto_repeat_keeps_it_held():
    keys = EventKeys(release_grace_s=0.02)
    keys.press("w", now=1.0)
    for t in np.arange(1.5, 2.0, 0.033):  # X auto-repeat: release + press at the same instant
        keys.release("w", now=t)
        assert keys.held(t + 0.001) == {"w"}
        keys.press("w", now=t + 0.001)
    keys.release("w", now=2.0)
    assert keys.held(2.01) == {"w"} and keys.held(2.02) == set()
    assert keys.pop_pressed() == ["w"]  # one press: a toggle key would fire once
    keys.press("w", now=3.0)
    assert keys.pop_pressed() == ["w"]


# --- unit: terminal keys -------------------------------------------------------------------
def test_terminal_key_is_held_until_hold_time_after_its_last_byte():
    keys = TerminalKeys(fd=0, hold_s=0.15, toggle_gap_s=0.6)
    keys.feed(b"w", now=10.0)
    keys.feed(b"W", now=10.5)  # Shift does not matter
    assert keys.held(10.6) == {"w"} and keys.held(10.66) == set()
    assert keys.pop_pressed() == ["w"]  # 0.5 s of auto-repeat delay is one press, not two
    keys.feed(b"\x1b[Akk", now=20.0)  # an arrow key's escape sequence is skipped
    keys.feed(b"k", now=20.7)
    assert keys.pop_pressed() == ["k", "k"]
    assert _printable(b"a\x1b[5~b\x1bOPc\x03") == ["a", "b", "c"]


def test_terminal_keys_read_a_real_pty_in_cbreak_mode_and_restore_it():
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        keys = TerminalKeys(fd=slave, hold_s=0.15)
        keys.start()
        assert not termios.tcgetattr(slave)[3] & (termios.ICANON | termios.ECHO)
        os.write(master, b"d")  # no newline needed: cbreak
        deadline = time.monotonic() + 2
        while "d" not in keys.held() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert "d" in keys.held()
        time.sleep(0.2)
        assert keys.held() == set()
        keys.stop()
        assert termios.tcgetattr(slave)[3] == before[3]
    finally:
        os.close(master)
        os.close(slave)


# --- integration: terminal keys through a real pty ------------------------------------------
def assert_moves_then_stops(probe: Probe, num_envs: int, t_down: float, t_up: float,
                            stop_within_s: float) -> None:
    """Forward twist while held; zero within ``stop_within_s`` of release; every env moved."""
    time.sleep(max(0.0, t_up + 1.0 - time.monotonic()))
    held = probe.twists_between(t_down + 0.25, t_up)
    assert held and all(v[0] > 0 for _, v in held), "no forward twist while the key was held"
    after = probe.twists_between(t_up, t_up + 1.0)
    first_zero = next((t for t, v in after if not v.any()), None)
    assert first_zero is not None, "the twist never went back to zero after the release"
    assert first_zero - t_up <= stop_within_s, f"stopped {first_zero - t_up:.3f} s after release"
    print(f"twist zero {first_zero - t_up:.3f} s after the release")
    assert all(not v.any() for t, v in after if t > first_zero), "motion resumed after release"
    for i in range(num_envs):
        moved = np.linalg.norm(probe.position(i, t_up + 0.3)[:2] - probe.position(i, t_down)[:2])
        assert moved > 0.05, f"env {i} moved only {moved:.3f} m while W was held"
    probe.wait(lambda: probe.poses[0][-1][0] > t_up + 2.0, 5, "poses 2 s after release")
    for i in range(num_envs):  # the rover comes to rest: no drift a second after the release
        drift = np.linalg.norm(probe.position(i, t_up + 2.0)[:2] - probe.position(i, t_up + 1.2)[:2])
        assert drift < 0.05, f"env {i} still moving after release ({drift:.3f} m in 0.8 s)"


def test_terminal_teleop_moves_every_env_stops_after_the_last_byte_and_resets():
    domain, num_envs = domain_id(), 2
    probe = Probe(domain, num_envs)
    master, slave = pty.openpty()
    try:
        cmd = script_cmd("teleop.py", "--task", "perseverance", "--num_envs", str(num_envs),
                         "--headless")
        with process(cmd, stdin=slave, stdout=slave, stderr=slave,
                     env=teleop_env(domain)) as proc:
            out = Output(master)
            out.wait_for("Ctrl-C  quit", 90, proc)
            assert "keys from terminal" in out.text and "W / S" in out.text
            probe.wait(lambda: probe.twists and all(probe.poses), 20, "teleop and node talking")
            t_down = time.monotonic()
            while time.monotonic() - t_down < 1.2:  # a held key: auto-repeat every 30 ms
                os.write(master, b"w")
                t_up = time.monotonic()
                time.sleep(0.03)
            assert_moves_then_stops(probe, num_envs, t_down, t_up, stop_within_s=0.3)
            os.write(master, b"l")
            probe.wait(lambda: probe.info.get("resets") == num_envs, 5, "sim/reset from L")
            stop_and_check(proc, out)
        assert termios.tcgetattr(slave)[3] & termios.ECHO, "terminal left without echo"
    finally:
        probe.close()
        os.close(master)
        os.close(slave)


def test_terminal_teleop_connects_to_a_running_node_and_drives_every_arm():
    """--connect: the arm scheme from the running node's task; K toggles, Q raises every TCP."""
    domain, num_envs = domain_id(), 2
    probe = Probe(domain, num_envs, pose="robot/ee_pose")
    master, slave = pty.openpty()
    node_out_r, node_out_w = os.pipe()
    try:
        node_cmd = script_cmd("run_spaceros.py", "--task", "sample_collection", "--num_envs",
                              str(num_envs))
        teleop_cmd = script_cmd("teleop.py", "--connect", "--headless", "--lin_speed", "0.8")
        with process(node_cmd, stdin=subprocess.DEVNULL, stdout=node_out_w, stderr=node_out_w,
                     env=teleop_env(domain)) as node, \
                process(teleop_cmd, stdin=slave, stdout=slave, stderr=slave,
                        env=teleop_env(domain)) as proc:
            os.close(node_out_w)
            node_out, out = Output(node_out_r), Output(master)  # (drains the node's output)
            out.wait_for("Ctrl-C  quit", 90, proc)
            assert "sample_collection (manipulator)" in out.text and "K       toggle" in out.text
            probe.wait(lambda: probe.twists and all(probe.poses), 20, "teleop and node talking")
            os.write(master, b"k")
            probe.wait(lambda: probe.grippers == [True], 5, "gripper closed by K")
            t_down = time.monotonic()
            while time.monotonic() - t_down < 1.0:
                os.write(master, b"q")
                t_up = time.monotonic()
                time.sleep(0.03)
            time.sleep(0.5)
            z_speed = 0.8 * robot_twist_map("sample_collection").max_speed[2]
            held = probe.twists_between(t_down + 0.2, t_up)
            assert held and all(v[2] == pytest.approx(z_speed) for _, v in held)
            for i in range(num_envs):
                rise = probe.position(i, t_up + 0.3)[2] - probe.position(i, t_down)[2]
                assert rise > 0.2 * z_speed, f"env {i} TCP rose only {rise:.3f} m"
            stop_and_check(proc, out)
            assert node.poll() is None, f"the node died with teleop:\n{node_out.text[-2000:]}"
    finally:
        probe.close()
        for fd in (master, slave, node_out_r):
            os.close(fd)


# --- integration: pynput on a real X server ---------------------------------------------------
@NEEDS_X
def test_x_teleop_hears_real_key_events_and_stops_on_release():
    domain, num_envs = domain_id(), 2
    probe = Probe(domain, num_envs)
    try:
        with xvfb() as display:
            cmd = script_cmd("teleop.py", "--task", "perseverance", "--num_envs", str(num_envs),
                             "--no_viewer")
            read_fd, write_fd = os.pipe()
            with process(cmd, stdin=subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
                         env=teleop_env(domain, DISPLAY=display)) as proc:
                os.close(write_fd)
                out = Output(read_fd)
                out.wait_for("Ctrl-C  quit", 90, proc)
                assert "keys from pynput" in out.text
                probe.wait(lambda: probe.twists and all(probe.poses), 20, "teleop and node")
                t_down = time.monotonic()
                xdotool(display, "keydown", "w")
                time.sleep(1.2)
                xdotool(display, "keyup", "w")
                t_up = time.monotonic()
                assert_moves_then_stops(probe, num_envs, t_down, t_up, stop_within_s=0.2)
                stop_and_check(proc, out)
            os.close(read_fd)
    finally:
        probe.close()


# --- the viewer ------------------------------------------------------------------------------
def test_viewer_without_a_display_says_so_once_and_stays_closed(monkeypatch):
    from spaceros_procgen_envs.viewer import EnvViewer, display_available

    monkeypatch.delenv("DISPLAY", raising=False)
    lines = []
    viewer = EnvViewer([object()], log=lines.append)
    assert viewer.start() is False and not viewer.running()
    assert lines == ["viewer: no X display; running without a viewer"]
    assert not display_available(":987")  # no server there


@NEEDS_X
def test_viewer_shows_one_env_switches_with_keys_and_keeps_real_time():
    domain, num_envs = domain_id(), 2
    probe = Probe(domain, num_envs)
    try:
        with xvfb() as display:
            cmd = script_cmd("teleop.py", "--task", "perseverance", "--num_envs", str(num_envs))
            read_fd, write_fd = os.pipe()
            with process(cmd, stdin=subprocess.DEVNULL, stdout=write_fd, stderr=write_fd,
                         env=teleop_env(domain, DISPLAY=display)) as proc:
                os.close(write_fd)
                out = Output(read_fd)
                out.wait_for("viewer: showing env 0 of 2", 90, proc)
                out.wait_for("Ctrl-C  quit", 30, proc)
                window = subprocess.run(["xdotool", "search", "--sync", "--name", "MuJoCo"],
                                        env={**os.environ, "DISPLAY": display}, timeout=10,
                                        capture_output=True, text=True).stdout.split()[0]
                xdotool(display, "windowfocus", "--sync", window)
                xdotool(display, "key", "bracketright")
                out.wait_for("viewer: showing env 1 of 2", 10, proc)
                xdotool(display, "key", "bracketright")  # wraps around
                probe.wait(lambda: out.text.count("showing env 0 of 2") == 2, 10, "env 0 again")
                time.sleep(3)  # the viewer draws at 30 fps meanwhile; stepping keeps real time
                achieved = probe.info["realtime_factor_achieved"]
                assert achieved > 0.9, f"stepping at {achieved:.2f} x real time with the viewer"
                stop_and_check(proc, out)
            os.close(read_fd)
    finally:
        probe.close()
