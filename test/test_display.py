"""Rendering on a desktop: a real X display (Xvfb), DISPLAY set and MUJOCO_GL unset.

Offscreen pictures (camera observations, render(), --video) must go through EGL or OSMesa
whatever the display, so several render threads never make GLFW windows; a stale DISPLAY or a
missing EGL driver must pick another platform or fail in one line. Every case runs in a fresh
subprocess, because MuJoCo and PyOpenGL fix their GL platform when they are imported.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .conftest import ROOT, script_cmd

pytest.importorskip("rclpy", reason="ROS 2 (rclpy) is not installed")

from .teleop_helpers import NEEDS_X, domain_id, xvfb  # noqa: E402

NO_EGL_VENDOR = {"__EGL_VENDOR_LIBRARY_FILENAMES": "/nonexistent/egl_vendor.json"}  # glvnd: none

# Renders two _visual envs and prints "<platform> <pixel std of env 0's front camera>".
PROBE = """
import gymnasium, numpy as np
import spaceros_procgen_envs
from spaceros_procgen_envs.gl import offscreen_platform
env = gymnasium.make_vec("spaceros/perseverance_visual", num_envs=2, camera_resolution=(32, 32),
                         vectorization_mode="vector_entry_point", backend="thread")
obs, _ = env.reset(seed=0)
print(offscreen_platform(), float(obs["camera_front_rgb"][0].std()))
env.close()
"""


def desktop_env(display: str | None, **extra: str) -> dict:
    """os.environ as on a desktop: DISPLAY as given, MUJOCO_GL unset, a domain of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    env.pop("DISPLAY", None)
    if display is not None:
        env["DISPLAY"] = display
    env.update(ROS_DOMAIN_ID=str(domain_id()), PYTHONUNBUFFERED="1", **extra)
    return env


def run(cmd: list[str], env: dict, cwd: Path | None = None, timeout: float = 420):
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def mp4_frames(path: Path) -> np.ndarray:
    import imageio.v2 as imageio

    with imageio.get_reader(str(path), format="FFMPEG") as reader:
        return np.stack(list(reader.iter_data()))


def assert_pictures(frames: np.ndarray, what: str) -> None:
    """Real pictures: several frames, each with detail (not one flat colour)."""
    assert len(frames) >= 2, f"{what}: {len(frames)} frames"
    spread = [float(f.std()) for f in frames]
    assert min(spread) > 10.0, f"{what}: a blank frame (pixel std per frame {spread})"


def readme_block(needle: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    matching = [b for b in blocks if needle in b]
    assert len(matching) == 1, f"README has {len(matching)} python blocks with {needle!r}"
    return matching[0]


@NEEDS_X
def test_video_of_two_envs_with_a_display_draws_through_egl(tmp_path):
    """Item 1: --video with 2 envs crashed with DISPLAY set (GLFW contexts in render threads)."""
    video = tmp_path / "x.mp4"
    with xvfb() as display:
        done = run(script_cmd("agent_random.py", "--task", "sample_collection", "--num_envs", "2",
                              "--headless", "--video", str(video), "--steps", "30"),
                   desktop_env(display))
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stderr[-3000:]}"
    assert_pictures(mp4_frames(video), "--video with a display")


@NEEDS_X
def test_readme_batch_recorder_with_a_display_writes_real_frames(tmp_path):
    """Item 1: the README's BatchRecorder snippet aborted on a GLFW assertion with a display."""
    block = readme_block("BatchRecorder(")
    with xvfb() as display:
        done = run([sys.executable, "-c", block], desktop_env(display), cwd=tmp_path)
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stderr[-3000:]}"
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1, f"the snippet wrote {videos}"
    assert_pictures(mp4_frames(videos[0]), "BatchRecorder with a display")


@NEEDS_X
def test_camera_observations_with_a_live_display_use_egl():
    with xvfb() as display:
        done = run([sys.executable, "-c", PROBE], desktop_env(display))
    assert done.returncode == 0, done.stderr[-3000:]
    platform, spread = done.stdout.split()
    assert platform == "egl" and float(spread) > 5.0, done.stdout


def test_stale_display_renders_through_egl():
    """Item 6: DISPLAY naming a display that is gone (an IDE, a closed ssh -X) must not matter."""
    dead = f":{700 + os.getpid() % 200}"
    assert not Path(f"/tmp/.X11-unix/X{dead[1:]}").exists()
    done = run([sys.executable, "-c", PROBE], desktop_env(dead))
    assert done.returncode == 0, done.stderr[-3000:]
    platform, spread = done.stdout.split()
    assert platform == "egl" and float(spread) > 5.0, done.stdout


def test_no_egl_driver_falls_back_to_osmesa():
    """Item 6: without an EGL vendor library (glvnd finds none), OSMesa draws the same pictures."""
    from spaceros_procgen_envs.gl import osmesa_available

    if not osmesa_available():
        pytest.skip("libOSMesa is not installed (apt: libosmesa6), so there is nothing to fall "
                    "back to")
    with_egl = run([sys.executable, "-c", PROBE], desktop_env(None))
    without = run([sys.executable, "-c", PROBE], desktop_env(None, **NO_EGL_VENDOR))
    assert with_egl.returncode == 0 and without.returncode == 0, without.stderr[-3000:]
    (egl, egl_spread), (osmesa, osmesa_spread) = with_egl.stdout.split(), without.stdout.split()
    assert (egl, osmesa) == ("egl", "osmesa")
    # Both are Mesa's llvmpipe: the same picture (identical on Debian 12; 2 % leaves room for
    # other Mesa builds).
    assert float(osmesa_spread) > 5.0 and \
        abs(float(osmesa_spread) - float(egl_spread)) < 0.02 * float(egl_spread), \
        f"EGL and OSMesa pictures differ: pixel std {egl_spread} vs {osmesa_spread}"


def test_no_working_gl_is_one_line_naming_mujoco_gl_and_the_packages():
    """Item 6: the 60-line traceback becomes one line on stderr and a non-zero exit."""
    done = run(script_cmd("agent_random.py", "--task", "perseverance_visual", "--headless",
                          "--steps", "3"),
               desktop_env(None, MUJOCO_GL="egl", **NO_EGL_VENDOR), timeout=300)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, f"exit {done.returncode}:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, lines
    assert "MUJOCO_GL=egl" in errors[0] and "apt-get install libegl1" in errors[0], errors[0]
    assert "libosmesa6" in errors[0], errors[0]
