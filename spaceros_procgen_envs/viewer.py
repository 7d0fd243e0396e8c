"""A MuJoCo viewer on one env of a batch that never holds the batch back.

:class:`EnvViewer` opens MuJoCo's passive viewer (``mujoco.viewer.launch_passive``) on its own
thread and shows env ``index`` of a list of in-process :class:`~.sim.core.SimEnv` worlds;
``[`` / ``]`` (or PageUp / PageDown) in the viewer window switch to the previous / next env.

Why stepping never waits for it:

* the viewer draws a *mirror* ``MjData`` of the shown env, refreshed from the live state (qpos,
  qvel, act, mocap, time) at most ``fps`` times a second; the stepping threads never take a lock
  for it, and the viewer's own UI (reset key, mouse perturbations) can never touch the live world;
* MuJoCo's render loop draws as fast as the GPU allows (unbounded on software GL such as Mesa's
  llvmpipe, which then takes every core); the viewer thread holds the viewer's lock between
  frames, so the render loop draws at most ``fps`` frames a second, and Mesa gets one thread
  (``LP_NUM_THREADS=1`` unless set).

Keys typed into the viewer window also reach MuJoCo's own display shortcuts (``C`` contact points,
``W`` wireframe, ...), which overlap the teleop keys; the visualisation flags are put back every
frame, the few render flags (wireframe, shadow, skybox, fog) cannot be. With pynput the teleop
listens to the whole X display, so keep the keyboard focus on the terminal while driving.

Importable without a display: ``mujoco.viewer`` (GLFW) is only imported by :meth:`EnvViewer.start`.

Example::

    viewer = EnvViewer(vector_env.envs, fps=30)
    if viewer.start():          # False (and one line saying why) without a display
        ...                     # step the batch as usual
    viewer.close()
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence

import mujoco
import numpy as np

# GLFW key codes (MuJoCo's key callback receives these).
_KEY_PREV = {91, 266}   # '[' and PageUp
_KEY_NEXT = {93, 267}   # ']' and PageDown
OPEN_TIMEOUT_S = 15.0   # a viewer that has not opened by then (no GL) is given up


def display_available(display: str | None = None, timeout_s: float = 1.0) -> bool:
    """True when the X display ``display`` (default ``$DISPLAY``) accepts connections.

    Checks the X server's socket (``/tmp/.X11-unix/X<n>`` for ``:n``, TCP port ``6000 + n`` for
    ``host:n``) without loading any X library.
    """
    display = os.environ.get("DISPLAY") if display is None else display
    if not display:
        return False
    host, _, rest = display.rpartition(":")
    number = rest.split(".", 1)[0]
    if not number.isdigit():
        return False
    try:
        if host in ("", "unix"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout_s)
                sock.connect(f"/tmp/.X11-unix/X{number}")
        else:
            socket.create_connection((host, 6000 + int(number)), timeout=timeout_s).close()
    except OSError:
        return False
    return True


class _Mirror:
    """A private ``MjData`` of one env, refreshed from the live one for drawing."""

    def __init__(self, env):
        self.env, self.model = env, env.model
        self.data = mujoco.MjData(self.model)

    def refresh(self) -> None:
        live, mirror = self.env.data, self.data
        # Copies race with the stepping threads at worst by one step (a torn frame, never a crash:
        # the arrays have fixed sizes); mj_forward rebuilds every derived quantity.
        mirror.time = live.time
        for name in ("qpos", "qvel", "act", "mocap_pos", "mocap_quat"):
            np.copyto(getattr(mirror, name), getattr(live, name))
        mujoco.mj_forward(self.model, mirror)


def robot_view(model: mujoco.MjModel, data: mujoco.MjData, prefix: str = "robot/"
               ) -> tuple[int, float]:
    """(root body id, camera distance m) framing the robot whose bodies are named ``prefix*``.

    The distance is 3x the robot's radius (its geoms around the root body), clamped to 2-15 m;
    without such bodies: the world body and the model's extent.
    """
    bodies = [b for b in range(1, model.nbody) if model.body(b).name.startswith(prefix)]
    if not bodies:
        return 0, float(model.stat.extent)
    root = min(bodies)
    geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] in set(bodies)]
    reach = max((np.linalg.norm(data.geom_xpos[g] - data.xpos[root]) + model.geom_rbound[g]
                 for g in geoms), default=1.0)
    return root, float(np.clip(3.0 * reach, 2.0, 15.0))


class EnvViewer:
    """MuJoCo's passive viewer on one env of ``envs``, on its own thread, at most ``fps`` frames/s.

    Args:
        envs: the in-process worlds (``SpaceRosVectorEnv.envs``); each has ``model`` and ``data``.
        fps: upper bound on frames per second (state refreshes and draws).
        index: env shown first.
        log: where the one-line notes go (default: print to stderr).
    """

    def __init__(self, envs: Sequence, fps: float = 30.0, index: int = 0,
                 log: Callable[[str], None] | None = None):
        if not envs:
            raise ValueError("EnvViewer needs at least one env, got none")
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.envs, self.period_s = list(envs), 1.0 / fps
        self._index = self._wanted = index % len(self.envs)
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._mirrors: dict[int, _Mirror] = {}
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread: threading.Thread | None = None
        self._render_thread: threading.Thread | None = None
        self.frames = 0

    @property
    def index(self) -> int:
        """The env shown now."""
        return self._index

    def select(self, index: int) -> None:
        """Show env ``index`` (modulo the number of envs) from the next frame on."""
        self._wanted = index % len(self.envs)

    def start(self, display: str | None = None) -> bool:
        """Open the window; False (saying why, once) when there is no display or no OpenGL."""
        if not display_available(display):
            self._log("viewer: no X display; running without a viewer")
            return False
        os.environ.setdefault("LP_NUM_THREADS", "1")  # Mesa llvmpipe: one render thread
        self._thread = threading.Thread(target=self._run, name="spaceros-viewer", daemon=True)
        self._thread.start()
        if not self._opened.wait(OPEN_TIMEOUT_S) or self._stop.is_set():
            self._log("viewer: could not open a window (no OpenGL?); running without a viewer")
            self._stop.set()
            return False
        return True

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def close(self) -> None:
        """Close the window and wait for the viewer threads (at most ~2 s)."""
        self._stop.set()
        for thread in (self._thread, self._render_thread):
            if thread is not None and thread is not threading.current_thread():
                thread.join(2.0)

    def _mirror(self, index: int) -> _Mirror:
        if index not in self._mirrors:
            self._mirrors[index] = _Mirror(self.envs[index])
        return self._mirrors[index]

    def _title(self, index: int) -> str:
        env = self.envs[index]
        return f"env {index} of {len(self.envs)} (seed {getattr(env, 'env_seed', '?')})"

    def _on_key(self, key: int) -> None:  # MuJoCo's render thread
        if key in _KEY_PREV:
            self.select(self._wanted - 1)
        elif key in _KEY_NEXT:
            self.select(self._wanted + 1)

    def _run(self) -> None:
        try:
            handle = self._open()
        except Exception as exc:  # noqa: BLE001 - any GL/GLFW failure only disables the viewer
            self._log(f"viewer: could not open ({type(exc).__name__}: {exc}); running without it")
            self._stop.set()
            self._opened.set()
            return
        self._opened.set()
        try:
            self._loop(handle)
            if not self._stop.is_set():
                self._log("viewer: window closed; the simulation goes on")
        finally:
            handle.close()

    def _open(self):
        import mujoco.viewer  # GLFW: only where a window is really wanted

        mirror = self._mirror(self._index)
        mirror.refresh()
        before = set(threading.enumerate())
        handle = mujoco.viewer.launch_passive(mirror.model, mirror.data, key_callback=self._on_key,
                                              show_left_ui=False, show_right_ui=False)
        started = [t for t in threading.enumerate() if t not in before]
        self._render_thread = started[0] if started else None
        self._flags = handle.opt.flags.copy()
        self._show(handle, self._index, load=False)
        return handle

    def _show(self, handle, index: int, load: bool = True) -> None:
        mirror = self._mirror(index)
        mirror.refresh()
        if load:
            handle._get_sim().load(mirror.model, mirror.data, self._title(index))
        robot = getattr(getattr(self.envs[index], "task", None), "robot", None)
        body, distance = robot_view(mirror.model, mirror.data, getattr(robot, "prefix", "robot/"))
        with handle.lock():  # track the robot's root body: a 3/4 view from above
            cam = handle.cam
            cam.type, cam.trackbodyid = mujoco.mjtCamera.mjCAMERA_TRACKING, body
            cam.distance, cam.azimuth, cam.elevation = distance, 160.0, -25.0
            cam.lookat[:] = mirror.data.xpos[body]
        self._index = index
        self._log(f"viewer: showing {self._title(index)}; [ / ] switch env")

    def _loop(self, handle) -> None:
        next_frame = time.monotonic()
        while not self._stop.is_set() and handle.is_running():
            if self._wanted != self._index:
                self._show(handle, self._wanted)
            self._mirror(self._index).refresh()
            handle.sync()
            self.frames += 1
            next_frame = max(next_frame + self.period_s, time.monotonic())
            time.sleep(0.003)  # the render loop takes the lock now and draws this frame
            with handle.lock():  # ... and waits here until the next one is due
                handle.opt.flags[:] = self._flags
                self._stop.wait(max(0.0, next_frame - time.monotonic()))
