"""torch and Stable-Baselines3: an optional extra (``rl``), installed on first use.

The package's main command never needs them, so they are not in its default install. The
training scripts call :func:`ensure_rl`: when an import fails it names the missing package and
the command that installs it, asks on a terminal (or installs without asking when
``--install_rl`` / ``SPACEROS_PROCGEN_INSTALL_RL=1`` says so), runs pip in this interpreter,
and otherwise raises :class:`MissingRLDependency` (the scripts turn it into one line, exit 2).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shlex
import subprocess
import sys

from ..errors import ProcgenError

MODULES = ("torch", "stable_baselines3")
# the rl extra of setup.py, for when the package metadata cannot be read
FALLBACK = ("torch==2.13.0", "stable-baselines3==2.9.2", "matplotlib>=3.5")
INSTALL_ENV = "SPACEROS_PROCGEN_INSTALL_RL"  # "1": install without asking


class MissingRLDependency(ProcgenError, ImportError):
    """torch or Stable-Baselines3 cannot be imported and was not installed."""


def rl_requirements() -> list[str]:
    """The requirements of the installed package's ``rl`` extra (torch pinned to its CPU
    build's version, stable-baselines3), so pip adds them without reinstalling the package."""
    try:
        reqs = importlib.metadata.requires("spaceros_procgen_envs") or []
    except importlib.metadata.PackageNotFoundError:
        reqs = []
    found = [r.split(";")[0].strip() for r in reqs if 'extra == "rl"' in r.replace("'", '"')]
    return found or list(FALLBACK)


def missing() -> list[str]:
    """The modules of :data:`MODULES` that do not import (their import error aside)."""
    absent = []
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            absent.append(name)
    return absent


def ensure_rl(install: bool | None = None, stream=None) -> None:
    """Make torch and SB3 importable, installing the ``rl`` extra when allowed.

    Args:
        install: True installs without asking, False never installs, None asks on a terminal
            (and installs when ``SPACEROS_PROCGEN_INSTALL_RL=1``).
        stream: where the messages go (stderr).

    Raises:
        MissingRLDependency: still missing (not allowed to install, declined, or pip failed).
    """
    stream = stream or sys.stderr
    absent = missing()
    if not absent:
        return
    reqs = rl_requirements()
    command = f"{sys.executable} -m pip install {' '.join(map(shlex.quote, reqs))}"
    if install is None and os.environ.get(INSTALL_ENV) == "1":
        install = True
    if install is None and sys.stdin.isatty() and stream.isatty():
        stream.write(f"{', '.join(absent)} not installed (the rl extra: torch CPU build and "
                     f"stable-baselines3, about 1 GB). Install now with\n  {command}\n[y/N] ")
        stream.flush()
        install = sys.stdin.readline().strip().lower() in ("y", "yes")
    if not install:
        raise MissingRLDependency(
            f"{' and '.join(absent)} not installed; training needs the rl extra "
            f"(spaceros_procgen_envs[rl]): {command} (or rerun with --install_rl)")
    stream.write(f"installing the rl extra: {command}\n")
    stream.flush()
    if subprocess.call([sys.executable, "-m", "pip", "install", *reqs]) != 0 or missing():
        raise MissingRLDependency(f"installing the rl extra failed; run it yourself: {command}")
    importlib.invalidate_caches()
