"""Robot cameras (defined with the robots' mounting sites) and a CPU renderer for them.

Camera frames follow MuJoCo: the camera looks along its -z axis with +y up in the image.
Each robot kind gets the cameras users expect:

* rover: ``scene`` (chase view) and ``front`` (hazard camera on the chassis front);
* multicopter: ``scene`` (chase view) and ``bottom`` (looking straight down);
* manipulator: ``scene`` (overview of the work area), ``base`` (beside the arm's base,
  looking at the work area) and ``wrist`` (along the gripper's approach axis).

Images are RGB ``uint8`` (H, W, 3); depth is ``float32`` (H, W) in metres along the optical
axis, read from the same render as the colour; the sky reads :data:`~.scene.FAR_M` (200 m).
Observations switch shadows, reflections and multisampling off (about 4x faster on the CPU);
:meth:`EnvRenderer.view`, for people (the tiled video), keeps them.

OpenGL contexts belong to a thread. Every render therefore goes through a
:class:`RenderThread` (one per slice of envs, or per single env), which owns one GL context
in which each env has its own :class:`EnvRenderer` (MuJoCo's GPU-side copy of that env's
meshes and terrain). The caller's thread never holds a context, whichever thread it is (a
ROS executor, a Ray actor, a thread pool), and slices render in parallel.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import mujoco
import numpy as np

from ..gl import offscreen_context
from .scene import FAR_M

SCENE_FOVY_DEG = 60.0
DEFAULT_RESOLUTION = (128, 128)  # (width, height) of camera observations
# MuJoCo draws the skybox into the depth buffer 80 to 170 m away (a box around the camera, for
# our <= 90 deg cameras); every world is at most 30 m across. Farther than this is sky: FAR_M.
SKY_M = 60.0
# (multisamples, shadow map px, shadows drawn) of the two kinds of render context (see
# EnvRenderer): a 2048 shadow map costs about as much as 3072 here (the extra pass dominates) and
# looks as hard.
OBSERVATIONS, PEOPLE = (0, 1, False), (4, 2048, True)
GL_SURFACE_PX = (64, 64)  # the context's own surface: every draw goes to an env's offscreen buffer


def check_resolution(resolution) -> tuple[int, int]:
    """``camera_resolution`` as ``(width, height)`` ints, each 8..2048.

    Raises:
        ValueError: naming ``camera_resolution`` and what it must be.
    """
    try:
        width, height = (int(v) for v in resolution)
        ok = all(8 <= v <= 2048 for v in (width, height)) and \
            tuple(float(v) for v in resolution) == (width, height)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"camera_resolution must be (width, height) with integers 8..2048, got "
                         f"{resolution!r}; e.g. camera_resolution=(128, 128)")
    return width, height


def look_at_quat(eye, target, up=(0.0, 0.0, 1.0)) -> tuple[float, float, float, float]:
    """wxyz quaternion of a camera at ``eye`` looking at ``target`` (MuJoCo camera frame)."""
    forward = np.asarray(target, float) - np.asarray(eye, float)
    z = -forward / np.linalg.norm(forward)          # the camera looks along -z
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.column_stack([x, y, z]).ravel())
    return tuple(float(q) for q in quat)


def camera_names(robot, world_views=()) -> tuple[str, ...]:
    """Short names of a robot's cameras in observation order: ``scene``, the robot's own
    mounts, then the task's other fixed world cameras (``world_views``)."""
    return ("scene", *(m.name for m in robot.camera_mounts),
            *(name for name in world_views if name != "scene"))


def add_robot_cameras(spec: mujoco.MjSpec, robot, views: dict[str, tuple] | None = None
                      ) -> list[str]:
    """Add ``robot``'s cameras (its ``camera_mounts``, after a ``scene`` camera); returns their
    full names in order.

    Args:
        views: name -> (eye, target) fixed world cameras; ``scene`` here replaces the chase
            camera of robots with a ``chase_eye_m`` (manipulators must give it).
    """
    views, prefix = dict(views or {}), robot.prefix
    names = [f"{prefix}camera_scene"]
    if "scene" in views:
        _add_world_camera(spec, names[0], *views.pop("scene"))
    else:
        _add_chase_camera(spec, robot.chase_eye_m, names[0], spec.body(prefix + robot.root_body))
    for mount in robot.camera_mounts:
        if mount.camera is not None:
            names.append(prefix + mount.camera)
            continue
        site = spec.site(prefix + mount.site)
        half = np.radians(mount.pitch_deg) / 2
        quat = np.zeros(4)  # the site's frame, then a turn about the camera's x (right) axis
        mujoco.mju_mulQuat(quat, np.asarray(site.quat, float),
                           np.array([np.cos(half), np.sin(half), 0.0, 0.0]))
        site.parent.add_camera(name=f"{prefix}camera_{mount.name}", pos=list(site.pos),
                               quat=list(quat), fovy=mount.fovy_deg)
        names.append(f"{prefix}camera_{mount.name}")
    for name, (eye, target) in views.items():
        _add_world_camera(spec, f"{prefix}camera_{name}", eye, target)
        names.append(f"{prefix}camera_{name}")
    return names


def rgb_key(camera: str) -> str:
    """Observation key of camera ``camera``'s colour image (``camera_front_rgb``)."""
    return f"camera_{camera}_rgb"


def depth_key(camera: str) -> str:
    """Observation key of camera ``camera``'s depth image (``camera_front_depth``)."""
    return f"camera_{camera}_depth"


def short_name(camera: str) -> str:
    """``robot/camera_front`` -> ``front`` (the name in observation keys and topics)."""
    return camera.rpartition("/")[2].removeprefix("camera_")


def _add_world_camera(spec: mujoco.MjSpec, name: str, eye, target) -> None:
    spec.worldbody.add_camera(name=name, pos=list(eye), quat=list(look_at_quat(eye, target)),
                              fovy=SCENE_FOVY_DEG)


def _add_chase_camera(spec: mujoco.MjSpec, eye, name: str, body: mujoco.MjsBody) -> None:
    """A camera that follows the robot's centre of mass from ``eye`` (m, fixed world offset)."""
    camera = body.add_camera(name=name, pos=list(eye), quat=list(look_at_quat(eye, (0, 0, 0))),
                             fovy=SCENE_FOVY_DEG)
    camera.mode = mujoco.mjtCamLight.mjCAMLIGHT_TRACKCOM


# --------------------------------------------------------------------------- rendering
_contexts_made = 0  # GL contexts this process has made (see gl_started)


def gl_started() -> bool:
    """True once this process has made a GL context here: the GL driver's native threads
    (llvmpipe's) do not survive ``fork``, so a forked child that renders would hang."""
    return _contexts_made > 0


class RenderThread:
    """One thread that owns one OpenGL context; every render of its envs runs in it.

    Args:
        name: thread name (shows in debuggers and ``py-spy``).
    """

    def __init__(self, name: str = "spaceros-render"):
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._context = None
        self.renderers: dict[tuple[int, bool], EnvRenderer] = {}  # (id(SimEnv), for_people) ->

    def submit(self, fn: Callable[..., Any], *args) -> Future:
        """Run ``fn(*args)`` in the render thread with its context current."""
        return self._executor.submit(self._call, fn, args)

    def call(self, fn: Callable[..., Any], *args) -> Any:
        """:meth:`submit` and wait for the result."""
        return self.submit(fn, *args).result()

    def _call(self, fn, args):
        if self._context is None:
            global _contexts_made
            self._context = offscreen_context(*GL_SURFACE_PX)  # EGL / OSMesa, never GLFW
            _contexts_made += 1
        self._context.make_current()
        return fn(*args)

    def renderer(self, key: int, model: mujoco.MjModel, for_people: bool = False,
                 size: tuple[int, int] | None = None) -> EnvRenderer:
        """The renderer of env ``key`` for observations of at most ``size`` pixels, or
        ``for_people`` (made on first use); call inside the render thread."""
        renderer = self.renderers.get((key, for_people))
        if renderer is None:
            renderer = self.renderers[(key, for_people)] = \
                EnvRenderer(model, *(PEOPLE if for_people else OBSERVATIONS), size=size)
        return renderer

    def close(self) -> None:
        """Free every renderer and the context (in the thread that owns them); idempotent."""
        if self._executor is None:
            return
        if self._context is not None:
            self._executor.submit(self._free).result()
        self._executor.shutdown(wait=True)
        self._executor = None

    def _free(self) -> None:
        self._context.make_current()
        for renderer in self.renderers.values():
            renderer.free()
        self.renderers.clear()
        self._context.free()
        self._context = None


class EnvRenderer:
    """MuJoCo's render state for one env's model: its GPU copy, a scene and a viewport.

    Args:
        model: the env's model.
        samples: multisampling. 0 for observations: every pixel is the surface at its centre,
            so depth is exact (multisampled depth mixes sample positions: ~1 % off on ground
            seen at a grazing angle) and drawing is cheaper; 4 smooths pictures for people.
        shadow_px: side of the shadow map (observations draw no shadows: the smallest).
        shadows: draw shadows and reflections (pictures for people) or not (observations).
        size: (width, height) of the offscreen buffer, None for the model's (1280 x 960); the
            camera resolution for observations halves the memory of a context (~14 MB less).

    Create, use and free it inside a :class:`RenderThread`.
    """

    def __init__(self, model: mujoco.MjModel, samples: int = 0, shadow_px: int = 1,
                 shadows: bool = False, size: tuple[int, int] | None = None):
        self.model = model
        self.scene = mujoco.MjvScene(model, maxgeom=max(1000, 2 * model.ngeom))
        self.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = shadows
        self.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = shadows
        self.option = mujoco.MjvOption()
        quality, buffer = model.vis.quality, model.vis.global_
        defaults = (int(quality.offsamples), int(quality.shadowsize), int(buffer.offwidth),
                    int(buffer.offheight))
        quality.offsamples, quality.shadowsize = samples, shadow_px  # read when made, only
        if size is not None:
            buffer.offwidth, buffer.offheight = size
        try:
            self.context = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_150)
        finally:
            (quality.offsamples, quality.shadowsize, buffer.offwidth,
             buffer.offheight) = defaults
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self.context)
        self.context.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR  # reversed z: precise far
        extent = model.stat.extent
        self.near, self.far = model.vis.map.znear * extent, model.vis.map.zfar * extent
        self.perturb = mujoco.MjvPerturb()
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._raw: dict[tuple[int, int], np.ndarray] = {}

    def cameras_into(self, data: mujoco.MjData, cameras: list[int], rgb: list[np.ndarray],
                     depth: list[np.ndarray]) -> None:
        """Render each fixed camera once into its (H, W, 3) uint8 and (H, W) float32 arrays."""
        for cam, rgb_out, depth_out in zip(cameras, rgb, depth):
            self._camera.fixedcamid = cam
            self._render(data, self._camera, rgb_out, depth_out)

    def view(self, data: mujoco.MjData, camera: mujoco.MjvCamera, width: int, height: int
             ) -> np.ndarray:
        """An RGB picture from the free ``camera``."""
        if width > self.context.offWidth or height > self.context.offHeight:
            raise ValueError(f"a {width} x {height} picture does not fit this env's "
                             f"{self.context.offWidth} x {self.context.offHeight} render buffer, "
                             "made by its first picture; ask for at most that size")
        rgb = np.empty((height, width, 3), np.uint8)
        self._render(data, camera, rgb, None)
        return rgb

    def _render(self, data, camera, rgb: np.ndarray, depth: np.ndarray | None) -> None:
        height, width = rgb.shape[:2]
        rect = mujoco.MjrRect(0, 0, width, height)
        mujoco.mjv_updateScene(self.model, data, self.option, self.perturb, camera,
                               mujoco.mjtCatBit.mjCAT_ALL, self.scene)
        # Several envs share the GL context: bind this env's framebuffer before drawing.
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self.context)
        mujoco.mjr_render(rect, self.scene, self.context)
        if depth is None:
            mujoco.mjr_readPixels(rgb, None, rect, self.context)
            rgb[:] = rgb[::-1]  # OpenGL rows run bottom-up
            return
        raw = self._raw.get((height, width))
        if raw is None:
            raw = self._raw[(height, width)] = np.empty((height, width), np.float32)
        mujoco.mjr_readPixels(rgb, raw, rect, self.context)
        rgb[:] = rgb[::-1]
        # Reversed z: 1 at the near plane, 0 at the far plane, hyperbolic in between.
        near, far = self.near, self.far
        depth[:] = near * far / (near + raw[::-1].astype(np.float64) * (far - near))
        depth[depth > SKY_M] = FAR_M

    def free(self) -> None:
        self.context.free()


class CameraRig:
    """The cameras of one env: their ids, observation keys and spaces, and where each image
    sits in the env's rows of the batch buffers.

    Args:
        model: the env's compiled model.
        cameras: full camera names (from :func:`add_robot_cameras`).
        resolution: (width, height).
    """

    def __init__(self, model: mujoco.MjModel, cameras: list[str], resolution: tuple[int, int]):
        self.names = [short_name(name) for name in cameras]
        self.ids = [model.camera(name).id for name in cameras]
        self.resolution = resolution
        self.fovy_deg = [float(model.cam_fovy[i]) for i in self.ids]
        self.far_m = FAR_M

    @property
    def rgb_keys(self) -> list[str]:
        return [rgb_key(name) for name in self.names]

    @property
    def depth_keys(self) -> list[str]:
        return [depth_key(name) for name in self.names]

    def spaces(self) -> dict:
        """Observation boxes: RGB uint8 (H, W, 3) and depth float32 (H, W) metres per camera."""
        import gymnasium as gym

        width, height = self.resolution
        spaces = {}
        for rgb, depth in zip(self.rgb_keys, self.depth_keys):
            spaces[rgb] = gym.spaces.Box(0, 255, (height, width, 3), np.uint8)
            spaces[depth] = gym.spaces.Box(0.0, self.far_m, (height, width), np.float32)
        return spaces

    def split(self, depth_row: np.ndarray, rgb_row: np.ndarray
              ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per-camera (H, W, 3) views of a flat uint8 row and (H, W) views of a flat float32
        row (images in camera order, each camera's depth after the previous one's)."""
        width, height = self.resolution
        size = width * height
        rgb = [rgb_row[k * 3 * size:(k + 1) * 3 * size].reshape(height, width, 3)
               for k in range(len(self.ids))]
        depth = [depth_row[k * size:(k + 1) * size].reshape(height, width)
                 for k in range(len(self.ids))]
        return rgb, depth


def follow_camera(model: mujoco.MjModel, lookat, distance: float = 4.0, elevation: float = -25.0,
                  azimuth: float = 135.0) -> mujoco.MjvCamera:
    """A free camera looking at ``lookat`` from ``distance`` m (degrees as in MuJoCo's viewer)."""
    camera = mujoco.MjvCamera()
    mujoco.mjv_defaultFreeCamera(model, camera)
    camera.lookat[:] = lookat
    camera.distance, camera.elevation, camera.azimuth = distance, elevation, azimuth
    return camera
