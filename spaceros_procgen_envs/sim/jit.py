"""Compiled per-step kernels: the batched controllers and task logic that numpy cannot make
cheap at small batch sizes.

A whole-batch numpy operation costs about 1 us whatever n is, so a controller written as 80
of them costs 80 us a step at n = 16, as long as the physics of 8 light worlds. The same
arithmetic as one loop over the worlds, compiled by numba, costs 2 to 6 us at n = 16 to 64.
Kernels are plain functions of arrays: they read the bound ``(n, ...)`` arrays of a
:class:`~.batchview.BatchView` and write their results in place, so they test on hand-made
arrays like any other function.

Settings (one place): IEEE arithmetic (no fastmath), numpy's error model (x / 0 gives inf, as
in numpy, instead of raising), no GIL held (render threads keep drawing), and compiled code
cached on disk, so only the first run on a machine compiles (a few seconds per task): beside
the sources (``__pycache__``), or, where the package is installed read-only, in the asset
cache directory (``numba/`` under ``$SPACEROS_PROCGEN_CACHE_DIR``) unless ``NUMBA_CACHE_DIR``
says where.
"""

from __future__ import annotations

import os
from pathlib import Path

if "NUMBA_CACHE_DIR" not in os.environ and not os.access(Path(__file__).parent, os.W_OK):
    from ..assets.cache import cache_dir

    os.environ["NUMBA_CACHE_DIR"] = str(cache_dir() / "numba")

import numba  # noqa: E402  (reads NUMBA_CACHE_DIR when first imported)

njit = numba.njit(cache=True, nogil=True, error_model="numpy")
