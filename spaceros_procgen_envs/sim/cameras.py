"""Robot cameras (defined with the robots' mounting sites) and a CPU renderer for them.

Camera frames follow MuJoCo: the camera looks along its -z axis with +y up in the image.
Each robot kind gets the cameras users expect:

* rover: ``scene`` (chase view) and ``front`` (hazard camera on the chassis front);
* multicopter: ``scene`` and ``bottom`` (looking straight down);
* manipulator: ``scene`` (overview of the work area), ``base`` (on the platform, looking at
  the work area) and ``wrist`` (along the gripper's approach axis).

Images are RGB ``uint8`` (H, W, 3); depth is ``float32`` (H, W) in metres along the optical
axis (MuJoCo linearises the depth buffer with the model's near and far planes).
Shadows and reflections are off for observations (about 4x faster on the CPU).
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

SCENE_FOVY_DEG = 60.0


@dataclass(frozen=True)
class CameraMount:
    """A camera fixed to a robot site (or an existing camera) of the robot."""

    name: str
    site: str | None = None     # robot site (prefix-relative) to copy the pose from
    camera: str | None = None   # or an existing robot camera (prefix-relative)
    fovy_deg: float = 70.0


MOUNTS: dict[str, tuple[CameraMount, ...]] = {
    "rover": (CameraMount("front", site="camera_front", fovy_deg=90.0),),
    "multicopter": (CameraMount("bottom", site="camera_mount_bottom", fovy_deg=90.0),),
    "manipulator": (CameraMount("wrist", camera="camera_wrist"),),
}


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


def add_robot_cameras(spec: mujoco.MjSpec, kind: str, prefix: str, root_body: str,
                      extra: dict[str, tuple] | None = None) -> list[str]:
    """Add the cameras of a robot of ``kind``; returns their full names in order.

    Args:
        root_body: the robot's root body (the chase/scene camera tracks it).
        extra: name -> (eye, target) fixed world cameras (e.g. an arm's ``base`` camera).
    """
    names = [_add_scene_camera(spec, kind, prefix, root_body)]
    for mount in MOUNTS[kind]:
        if mount.camera is not None:
            names.append(prefix + mount.camera)
            continue
        site = spec.site(prefix + mount.site)
        site.parent.add_camera(name=f"{prefix}camera_{mount.name}", pos=list(site.pos),
                               quat=list(site.quat), fovy=mount.fovy_deg)
        names.append(f"{prefix}camera_{mount.name}")
    for name, (eye, target) in (extra or {}).items():
        spec.worldbody.add_camera(name=f"{prefix}camera_{name}", pos=list(eye),
                                  quat=list(look_at_quat(eye, target)), fovy=SCENE_FOVY_DEG)
        names.append(f"{prefix}camera_{name}")
    return names


def _add_scene_camera(spec: mujoco.MjSpec, kind: str, prefix: str, root_body: str) -> str:
    name = f"{prefix}camera_scene"
    if kind == "manipulator":  # a fixed overview of the platform and the work area
        eye, target = (2.4, -1.6, 1.5), (0.9, 0.0, 0.3)
        spec.worldbody.add_camera(name=name, pos=list(eye), quat=list(look_at_quat(eye, target)),
                                  fovy=SCENE_FOVY_DEG)
        return name
    # Mobile robots: a chase camera that follows the centre of mass, fixed orientation.
    eye = (-5.0, -3.0, 3.0) if kind == "rover" else (-3.0, -2.0, 1.6)
    body = spec.body(root_body)
    camera = body.add_camera(name=name, pos=list(eye), quat=list(look_at_quat(eye, (0, 0, 0))),
                             fovy=SCENE_FOVY_DEG)
    camera.mode = mujoco.mjtCamLight.mjCAMLIGHT_TRACKCOM
    return name


class CameraRenderer:
    """Renders a model's cameras to RGB and depth on the CPU (one GL context per instance).

    Args:
        model: the compiled model.
        cameras: full camera names.
        resolution: (width, height) in pixels.

    A renderer belongs to the thread that uses it: with threads, give each thread its own.
    """

    def __init__(self, model: mujoco.MjModel, cameras: list[str], resolution: tuple[int, int]):
        width, height = resolution
        self.cameras = [model.camera(name).id for name in cameras]
        self.rgb = mujoco.Renderer(model, height=height, width=width)
        self.depth = mujoco.Renderer(model, height=height, width=width)
        self.depth.enable_depth_rendering()
        for renderer in (self.rgb, self.depth):
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = 1

    def render(self, data: mujoco.MjData, rgb_out: list[np.ndarray],
               depth_out: list[np.ndarray]) -> None:
        """Render every camera into the given (H, W, 3) uint8 and (H, W) float32 arrays."""
        for cam, rgb, depth in zip(self.cameras, rgb_out, depth_out):
            self.rgb.update_scene(data, camera=cam)
            self.rgb.render(out=rgb)
            self.depth.update_scene(data, camera=cam)
            self.depth.render(out=depth)

    def close(self) -> None:
        self.rgb.close()
        self.depth.close()
