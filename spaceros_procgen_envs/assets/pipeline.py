"""Make every procedural asset a batch of envs needs: from the cache, or generated in parallel.

:func:`fetch_assets` takes every env's requests (a task's own come from
:func:`~spaceros_procgen_envs.registry.generate_assets`: this layer knows no task). The parent
looks every request up in the cache first; when everything is warm no process is started.
Misses are generated on all cores by a process pool (:mod:`.pool`, ``fork`` on Linux; its
workers never outlive the parent):
each worker generates *and stores* its assets and sends their arrays home. Every asset
returned is rebuilt from the arrays that were stored, so a cold run, a warm run and any
worker count give identical objects.
Work is submitted biggest first in shrinking batches, so the round trips are few and
the workers finish together.

Example::

    envs, report = fetch_assets(plans)  # plans[i]: env i's {name: AssetRequest}
    envs[0]["terrain"].heights_m.shape, report.generated, report.reused
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from tqdm import tqdm

from .. import forksafe
from ..errors import ProcgenError
from . import cache
from .generators import AssetRequest, get_generator
from .pool import guarded, make_pool
from .types import Asset, asset_from_arrays

# Typical generation time per asset on one core, ms (measured; only orders the work, so
# a stale figure costs a little balance, never correctness). Unknown generators: 5 ms.
COST_HINT_MS = {"peg_hole": 30.0, "rock": 8.0, "debris": 5.0, "terrain": 5.0}
# Guided self-scheduling: each batch takes remaining / (GUIDED_DIVISOR * workers) requests,
# so early batches amortise the round trip and the last ones are single requests.
GUIDED_DIVISOR = 2


class _Bar(tqdm):
    monitor_interval = 0  # no monitor thread: the pool forks after the bar exists


@dataclass(frozen=True)
class Report:
    """What :func:`generate_assets` did.

    Attributes:
        generated: assets generated now (cache misses).
        reused: assets loaded from the cache.
        seconds: wall time of the whole call, s.
        workers: processes that generated (0: all cached, 1: in-process).
        cache_dir: the cache directory used.
    """

    generated: int
    reused: int
    seconds: float
    workers: int = 0
    cache_dir: str = ""

    @property
    def assets(self) -> int:
        return self.generated + self.reused


def fetch_assets(plans: Sequence[dict[str, AssetRequest]], workers: int | None = None,
                 progress: bool | None = None) -> tuple[list[dict[str, Asset]], Report]:
    """Every asset of ``plans`` (one ``{name: request}`` per env), from the cache or generated
    in parallel; a request several envs share is made once.

    Args:
        plans: the requests of each env, in batch order.
        workers: generator processes; ``None``: one per usable core; 1: in-process.
        progress: progress bar on stderr; ``None``: only when stderr is a terminal.

    Returns:
        ``(envs, report)``: ``envs[i]`` maps asset name -> asset for env ``i``.

    Raises:
        CacheError: the cache directory cannot be written.
    """
    start = time.perf_counter()
    unique = {req.key: req for plan in plans for req in plan.values()}
    directory = cache.ensure_cache_dir()
    assets = {key: cache.load(req) for key, req in unique.items()}
    misses = [unique[key] for key, asset in assets.items() if asset is None]
    used = _worker_count(workers, misses)
    assets.update(_generate(misses, used, _show_progress(progress)))
    envs = [{name: assets[req.key] for name, req in plan.items()} for plan in plans]
    report = Report(len(misses), len(unique) - len(misses), time.perf_counter() - start,
                    used, str(directory))
    return envs, report


def default_workers() -> int:
    """Usable cores (CPU affinity where the OS reports it, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def _worker_count(workers: int | None, misses: Sequence[AssetRequest]) -> int:
    if workers is not None and int(workers) < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if not misses:
        return 0
    wanted = default_workers() if workers is None else int(workers)
    return max(1, min(wanted, len(misses)))


def _show_progress(progress: bool | None) -> bool:
    if progress is not None:
        return bool(progress)
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _cost(request: AssetRequest) -> float:
    return COST_HINT_MS.get(request.generator, 5.0)


def plan_chunks(requests: Sequence[AssetRequest], workers: int) -> list[list[AssetRequest]]:
    """Split ``requests`` into batches for ``workers`` processes, biggest requests first.

    Batch sizes shrink geometrically (guided self-scheduling): a batch holds
    ``remaining // (GUIDED_DIVISOR * workers)`` requests (at least one), so many cheap
    requests share one round trip at the start while the tail balances the workers.

    Args:
        requests: the cache misses.
        workers: number of processes.

    Returns:
        Batches in submission order.
    """
    ordered = sorted(requests, key=_cost, reverse=True)
    chunks, start = [], 0
    while start < len(ordered):
        size = max(1, (len(ordered) - start) // (GUIDED_DIVISOR * max(1, workers)))
        chunks.append(ordered[start:start + size])
        start += size
    return chunks


def _generate(misses: list[AssetRequest], workers: int, show: bool) -> dict[str, Asset]:
    if not misses:
        return {}
    with _Bar(total=len(misses), desc="generating assets", unit="asset", file=sys.stderr,
              disable=not show, dynamic_ncols=True) as bar:
        if workers <= 1 or forksafe.native_threads_alive():
            # A multi-threaded MuJoCo batch lives in this process: its pool's threads would not
            # survive a fork, so the assets are made here, one after another.
            return _generate_here(misses, bar)
        return _generate_in_pool(misses, workers, bar)


def _generate_here(misses: list[AssetRequest], bar: tqdm) -> dict[str, Asset]:
    out = {}
    for request in sorted(misses, key=_cost, reverse=True):
        out[request.key] = asset_from_arrays(cache.store(request, request.generate()))
        bar.update()
    return out


def _generate_in_pool(misses: list[AssetRequest], workers: int, bar: tqdm) -> dict[str, Asset]:
    """Generate ``misses`` on ``workers`` processes (stopped and reaped on any exception,
    Ctrl-C or SIGTERM: see :mod:`.pool`)."""
    for name in {r.generator for r in misses}:
        get_generator(name)  # import in the parent once; forked workers inherit it
    out: dict[str, Asset] = {}
    with guarded(make_pool(workers)) as executor:
        with warnings.catch_warnings():  # 3.12+: fork with (BLAS) threads alive
            warnings.simplefilter("ignore", DeprecationWarning)
            futures = {executor.submit(_work, chunk): len(chunk)
                       for chunk in plan_chunks(misses, workers)}
        for future in as_completed(futures):
            out.update(_decode_batch(future))
            bar.update(futures[future])
    return out


def _decode_batch(future: Future) -> dict[str, Asset]:
    try:
        results = future.result()
    except BrokenProcessPool as exc:
        raise ProcgenError(f"an asset generator process died ({exc}); run with --workers 1 "
                           "to see the error in-process (a script that starts threads or Ray "
                           "before it makes the envs needs its code under `if __name__ == "
                           "\"__main__\":`, since the workers then start from a fork server "
                           "that re-runs it)") from None
    return {key: asset_from_arrays(arrays) for key, arrays in results}


def _work(chunk: list[AssetRequest]) -> list[tuple[str, dict]]:
    """In a worker: generate and store each request; return ``(key, to_arrays())`` pairs.

    The arrays travel home pickled, which is ~5x cheaper for the parent than parsing
    the stored ``.npz`` payload, and rebuild the very asset a later cache hit returns.
    """
    return [(request.key, cache.store(request, request.generate())) for request in chunk]
