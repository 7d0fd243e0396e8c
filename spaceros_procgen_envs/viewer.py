"""A window on one env of a batch that never holds the batch back, and whose only keys are its own.

:class:`EnvViewer` opens a GLFW window on a thread of its own and draws env ``index`` of a list
of in-process :class:`~.world.SimEnv` worlds with MuJoCo's renderer. Keys: ``[`` / ``]`` (or
PageUp / PageDown) show the previous / next env, and that is all (:data:`VIEWER_KEYS`): the
teleop keys (W, S, K, ...) typed into the window do nothing here, unlike MuJoCo's own viewer, where
they also toggle wireframe (W), shadows (S), the skybox (K) and more. Mouse: left drag rotates,
right drag moves, the wheel or a middle drag zooms (shift: horizontal plane), as in MuJoCo.

Why stepping never waits for it:

* the window draws a *mirror* ``MjData`` of the shown env, refreshed from the live state (qpos,
  qvel, act, mocap, time) once per frame, at most ``fps`` frames a second; the stepping threads
  never take a lock for it, and nothing in the window can touch the live world;
* Mesa's llvmpipe (software GL) gets one thread (``LP_NUM_THREADS=1`` unless set).

Only the window is GLFW; every offscreen picture goes through :mod:`.gl` (EGL / OSMesa). Closing
takes one frame (at most ``1 / fps`` s) plus freeing the window. Importable without a display:
``glfw`` is only imported by :meth:`EnvViewer.start`.

Example::

    viewer = EnvViewer(vector_env.envs, fps=30)
    if viewer.start():          # False (and one line saying why) without a display
        ...                     # step the batch as usual
    viewer.close()
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys
import threading
from collections.abc import Callable, Sequence

import mujoco
import numpy as np

# GLFW key codes: '[' / PageUp show the previous env, ']' / PageDown the next one.
_KEY_PREV = {91, 266}
_KEY_NEXT = {93, 267}
VIEWER_KEYS = frozenset({"[", "]", "page_up", "page_down"})  # every key the window acts on
OPEN_TIMEOUT_S = 15.0   # a window that has not opened by then (no GL) is given up
DEFAULT_SCREEN_PX = (1440, 1080)  # without a monitor's video mode; the window takes 2/3 of it
_MOUSE_ZOOM_PER_NOTCH = 0.05  # scroll: fraction of the camera distance per wheel notch


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
        live, mirror = getattr(self.env, "live", self.env.data), self.data  # the batch's row
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


def software_gl(glfw) -> bool:
    """True when GLFW's OpenGL is drawn on the CPU (Mesa's llvmpipe / softpipe), asked through a
    hidden 1 x 1 window (call after ``glfw.init()``, on the thread that opens the viewer)."""
    glfw.window_hint(glfw.VISIBLE, glfw.FALSE)
    probe = glfw.create_window(1, 1, "probe", None, None)
    if not probe:
        return False
    try:
        glfw.make_context_current(probe)
        lib = ctypes.CDLL("libGL.so.1")
        lib.glGetString.restype = ctypes.c_char_p
        renderer = (lib.glGetString(0x1F01) or b"").decode(errors="replace").lower()  # RENDERER
    except OSError:
        renderer = ""
    finally:
        glfw.make_context_current(None)
        glfw.destroy_window(probe)
    return any(name in renderer for name in ("llvmpipe", "softpipe", "software", "swrast"))


def mouse_action(button: str, shift: bool) -> int:
    """MuJoCo's camera motion for a drag with ``button`` (``left``/``right``/``middle``)."""
    act = mujoco.mjtMouse
    if button == "right":
        return act.mjMOUSE_MOVE_H if shift else act.mjMOUSE_MOVE_V
    if button == "left":
        return act.mjMOUSE_ROTATE_H if shift else act.mjMOUSE_ROTATE_V
    return act.mjMOUSE_ZOOM


class _Scene:
    """What the window draws for one env: its mirror, scene, GPU copy and tracking camera."""

    def __init__(self, env):
        self.mirror = _Mirror(env)
        self.mirror.refresh()
        model = self.mirror.model
        self.scene = mujoco.MjvScene(model, maxgeom=max(1000, 2 * model.ngeom))
        self.option, self.camera = mujoco.MjvOption(), mujoco.MjvCamera()
        self.context = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150)
        robot = getattr(getattr(env, "task", None), "robot", None)
        body, distance = robot_view(model, self.mirror.data, getattr(robot, "prefix", "robot/"))
        cam = self.camera  # track the robot's root body: a 3/4 view from above
        cam.type, cam.trackbodyid = mujoco.mjtCamera.mjCAMERA_TRACKING, body
        cam.distance, cam.azimuth, cam.elevation = distance, 160.0, -25.0
        cam.lookat[:] = self.mirror.data.subtree_com[body]  # where tracking keeps it

    def draw(self, width: int, height: int) -> None:
        self.mirror.refresh()
        model, data = self.mirror.model, self.mirror.data
        mujoco.mjv_updateScene(model, data, self.option, None, self.camera,
                               mujoco.mjtCatBit.mjCAT_ALL, self.scene)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_WINDOW, self.context)
        mujoco.mjr_render(mujoco.MjrRect(0, 0, width, height), self.scene, self.context)

    def move(self, action: int, dx: float, dy: float) -> None:
        """Move the camera by a drag of (dx, dy) window heights."""
        mujoco.mjv_moveCamera(self.mirror.model, int(action), dx, dy, self.camera)

    def free(self) -> None:
        self.context.free()


class EnvViewer:
    """A GLFW window on one env of ``envs``, on its own thread, at most ``fps`` frames/s.

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
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread: threading.Thread | None = None
        self._cursor: tuple[float, float] | None = None  # last pointer position, window px
        self._dragging = False  # a mouse button is held
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
        """Close the window and wait for the viewer thread (one frame plus the window's cleanup;
        at most 2 s)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)

    def _title(self, index: int) -> str:
        env = self.envs[index]
        return f"env {index} of {len(self.envs)} (seed {getattr(env, 'env_seed', '?')})"

    # --- the viewer thread ------------------------------------------------------------------------
    def _run(self) -> None:
        import glfw  # only where a window is really wanted

        try:
            window = self._open(glfw)
        except Exception as exc:  # noqa: BLE001 - any GL/GLFW failure only disables the viewer
            self._log(f"viewer: could not open ({type(exc).__name__}: {exc}); running without it")
            self._stop.set()
            self._opened.set()
            glfw.terminate()
            return
        self._opened.set()
        try:
            self._loop(glfw, window)
            if not self._stop.is_set():
                self._log("viewer: window closed; the simulation goes on")
        except Exception as exc:  # noqa: BLE001 - a failing window never stops the simulation
            self._log(f"viewer: stopped ({type(exc).__name__}: {exc}); the simulation goes on")
        finally:
            self._scene.free()
            glfw.destroy_window(window)
            glfw.terminate()

    def _open(self, glfw):
        if not glfw.init():
            raise RuntimeError("glfwInit failed")
        monitor = glfw.get_primary_monitor()
        mode = glfw.get_video_mode(monitor) if monitor else None
        width, height = (mode.size.width, mode.size.height) if mode else DEFAULT_SCREEN_PX
        # 4x multisampling is free on a GPU but costs 2.5x per frame on a CPU (llvmpipe).
        glfw.window_hint(glfw.SAMPLES, 0 if software_gl(glfw) else 4)
        glfw.window_hint(glfw.VISIBLE, glfw.TRUE)
        window = glfw.create_window(2 * width // 3, 2 * height // 3, "MuJoCo", None, None)
        if not window:
            glfw.terminate()
            raise RuntimeError("GLFW could not create a window")
        glfw.make_context_current(window)
        glfw.swap_interval(0)  # the frame cap below paces drawing, not the monitor
        glfw.set_key_callback(window, lambda _w, key, _s, act, _m: self._on_key(glfw, key, act))
        glfw.set_mouse_button_callback(window, lambda w, *_: self._on_button(glfw, w))
        glfw.set_cursor_pos_callback(window, lambda w, x, y: self._on_cursor(glfw, w, x, y))
        glfw.set_scroll_callback(window, lambda w, _x, y: self._on_scroll(glfw, w, y))
        self._scene = None
        self._show(glfw, window, self._index)
        return window

    def _show(self, glfw, window, index: int) -> None:
        if self._scene is not None:
            self._scene.free()
        self._scene, self._index = _Scene(self.envs[index]), index
        glfw.set_window_title(window, f"MuJoCo: {self._title(index)}")
        self._log(f"viewer: showing {self._title(index)}; [ / ] switch env")

    def _loop(self, glfw, window) -> None:
        next_frame = 0.0
        while not self._stop.is_set() and not glfw.window_should_close(window):
            if self._wanted != self._index:
                self._show(glfw, window, self._wanted)
            width, height = glfw.get_framebuffer_size(window)
            self._scene.draw(width, height)
            glfw.swap_buffers(window)
            glfw.poll_events()
            self.frames += 1
            now = glfw.get_time()
            next_frame = max(next_frame + self.period_s, now)
            self._stop.wait(next_frame - now)

    # --- input (GLFW callbacks, run inside poll_events on the viewer thread) ----------------------
    def _on_key(self, glfw, key: int, act: int) -> None:
        if act == glfw.RELEASE:
            return
        if key in _KEY_PREV:
            self.select(self._wanted - 1)
        elif key in _KEY_NEXT:
            self.select(self._wanted + 1)

    def _on_button(self, glfw, window) -> None:
        self._dragging = any(glfw.get_mouse_button(window, b) == glfw.PRESS for b in range(3))

    def _on_cursor(self, glfw, window, x: float, y: float) -> None:
        # The position of the previous motion event, not glfw.get_cursor_pos (the pointer now,
        # already past the events still queued).
        (x0, y0), self._cursor = self._cursor or (x, y), (x, y)
        if not self._dragging:
            return
        height = max(1, glfw.get_window_size(window)[1])
        button = "right" if glfw.get_mouse_button(window, glfw.MOUSE_BUTTON_RIGHT) else \
            "left" if glfw.get_mouse_button(window, glfw.MOUSE_BUTTON_LEFT) else "middle"
        shift = any(glfw.get_key(window, k) == glfw.PRESS
                    for k in (glfw.KEY_LEFT_SHIFT, glfw.KEY_RIGHT_SHIFT))
        self._scene.move(mouse_action(button, shift), (x - x0) / height, (y - y0) / height)

    def _on_scroll(self, glfw, window, notches: float) -> None:
        self._scene.move(mujoco.mjtMouse.mjMOUSE_ZOOM, 0.0, -_MOUSE_ZOOM_PER_NOTCH * notches)
