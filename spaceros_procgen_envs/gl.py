"""OpenGL for offscreen pictures: EGL (or OSMesa) always, GLFW only for the viewer's window.

MuJoCo's Python package picks one GL platform for every context from ``MUJOCO_GL`` when it is
imported, GLFW when the variable is unset. A GLFW context is a hidden window: it needs a
reachable X display, and X windows made from several threads at once crash (``BadWindow``,
a GLFW mutex assertion). Camera observations, ``render()`` and ``--video`` draw in render
threads, so they make their contexts here, through ``mujoco.egl`` or ``mujoco.osmesa``, whatever
``MUJOCO_GL`` says and whether or not a display exists; only :mod:`.viewer` opens a GLFW window.

Which platform (:func:`offscreen_platform`):

* ``MUJOCO_GL=egl`` or ``osmesa``: that one;
* otherwise (unset, ``glfw``, ...): EGL when ``libEGL`` offers a rendering device (Mesa's
  software device counts: no GPU or display needed), else OSMesa when ``libOSMesa`` loads;
* ``PYOPENGL_PLATFORM`` set to ``egl`` or ``osmesa`` (PyOpenGL serves one platform per process)
  wins over both.

No usable platform is a :class:`GLUnavailableError`: one line naming ``MUJOCO_GL`` and the
Debian/Ubuntu packages to install.

Example::

    context = offscreen_context(64, 64)   # in the thread that will draw
    context.make_current()
    ...                                   # mujoco.MjrContext, mjr_render, mjr_readPixels
    context.free()
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib
import os
import sys

from .errors import ProcgenError

PLATFORMS = ("egl", "osmesa")
# Debian / Ubuntu packages that provide each platform on the CPU (Mesa's llvmpipe).
APT_PACKAGES = {"egl": "libegl1 libegl-mesa0 libgl1-mesa-dri", "osmesa": "libosmesa6"}


class GLUnavailableError(ProcgenError, RuntimeError):
    """No OpenGL platform for offscreen rendering (EGL or OSMesa) works in this process."""


def _hint(problem: str) -> str:
    asked = os.environ.get("MUJOCO_GL") or "unset"
    return (f"{problem} (MUJOCO_GL={asked}); offscreen rendering needs EGL (apt-get install "
            f"{APT_PACKAGES['egl']}) or OSMesa (apt-get install {APT_PACKAGES['osmesa']}, then "
            "MUJOCO_GL=osmesa)")


def egl_devices() -> int:
    """How many EGL rendering devices ``libEGL`` offers (0 without libEGL or its extension)."""
    try:
        lib = ctypes.CDLL("libEGL.so.1")
    except OSError:
        return 0
    lib.eglGetProcAddress.restype = ctypes.c_void_p
    lib.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    address = lib.eglGetProcAddress(b"eglQueryDevicesEXT")
    if not address:
        return 0
    query = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_int, ctypes.c_void_p,
                             ctypes.POINTER(ctypes.c_int))(address)
    count = ctypes.c_int(0)
    return count.value if query(0, None, ctypes.byref(count)) else 0


def osmesa_available() -> bool:
    """True when ``libOSMesa`` can be loaded."""
    name = ctypes.util.find_library("OSMesa") or "libOSMesa.so.8"
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def _pyopengl_platform() -> str | None:
    """The platform PyOpenGL is bound to in this process, if already decided."""
    asked = os.environ.get("PYOPENGL_PLATFORM", "").strip().lower()
    if asked:
        return asked
    loaded = sys.modules.get("OpenGL.platform")
    name = type(getattr(loaded, "PLATFORM", None)).__name__.lower()
    return next((p for p in PLATFORMS if name.startswith(p)), "other" if loaded else None)


@functools.cache
def offscreen_platform() -> str:
    """``"egl"`` or ``"osmesa"``: the platform offscreen contexts use in this process.

    Raises:
        GLUnavailableError: neither works (the message says what to install).
    """
    bound = _pyopengl_platform()
    if bound is not None and bound not in PLATFORMS:
        raise GLUnavailableError(
            f"PyOpenGL is bound to the '{bound}' platform (PYOPENGL_PLATFORM), which cannot "
            "render offscreen from threads; unset PYOPENGL_PLATFORM or set it to egl or osmesa")
    asked = os.environ.get("MUJOCO_GL", "").strip().lower()
    choice = bound or (asked if asked in PLATFORMS else None)
    if choice == "egl" or (choice is None and egl_devices() > 0):
        return "egl"
    if choice == "osmesa" or (choice is None and osmesa_available()):
        if not osmesa_available():
            raise GLUnavailableError(_hint("MUJOCO_GL=osmesa but libOSMesa is not installed"))
        return "osmesa"
    raise GLUnavailableError(_hint("no EGL device and no libOSMesa found"))


def offscreen_context(width: int, height: int):
    """A new offscreen GL context (``mujoco.egl`` or ``mujoco.osmesa`` ``GLContext``).

    Call it in the thread that will draw with it; it is made current there.

    Args:
        width, height: size of the context's own surface in pixels (OSMesa allocates it; EGL
            draws only into framebuffers, so MuJoCo's offscreen buffer sets the picture size).

    Returns:
        The context, with ``make_current()`` and ``free()``.

    Raises:
        GLUnavailableError: no platform works, or the chosen one fails to make a context.
    """
    platform = offscreen_platform()
    try:
        context = importlib.import_module(f"mujoco.{platform}").GLContext(width, height)
        context.make_current()
    except Exception as exc:  # noqa: BLE001 - every driver failure becomes the one-line hint
        problem = f"{platform.upper()} could not make a context ({type(exc).__name__}: {exc})"
        raise GLUnavailableError(_hint(" ".join(problem.split()))) from None
    return context
