"""generate_assets: per-env seeds, determinism across processes, warm reuse, the preview."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from spaceros_procgen_envs.assets import cache, pipeline, pool
from spaceros_procgen_envs.assets.generators import AssetRequest
from spaceros_procgen_envs.assets.pipeline import Report, plan_chunks
from spaceros_procgen_envs.registry import generate_assets
from spaceros_procgen_envs.assets.preview import LABEL_PX, contact_sheet
from spaceros_procgen_envs.errors import CacheError, UnknownNameError
from spaceros_procgen_envs.registry import get_task

TASK = "peg_in_hole"  # a terrain and a peg/hole pair per env: one big, one small asset


@pytest.fixture
def cache_root(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_VAR, str(root))
    return root


def payloads(envs) -> list[dict[str, bytes]]:
    return [{name: cache.encode(asset) for name, asset in env.items()} for env in envs]


def test_every_env_gets_its_own_assets(cache_root):
    envs, report = generate_assets(TASK, 3, seed=11, workers=1, progress=False)
    assert [sorted(env) for env in envs] == [sorted(get_task(TASK).asset_requests(0))] * 3
    blobs = payloads(envs)
    for name in envs[0]:
        assert len({blob[name] for blob in blobs}) == 3, f"{name} repeats across envs"
    assert (report.generated, report.reused, report.workers) == (6, 0, 1)


def test_same_seed_same_bytes_in_process_and_in_a_pool(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "one"))
    alone, _ = generate_assets(TASK, 3, seed=5, workers=1, progress=False)
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "two"))
    pooled, report = generate_assets(TASK, 3, seed=5, workers=2, progress=False)
    assert report.workers == 2 and report.generated == 6
    assert payloads(alone) == payloads(pooled)
    files = sorted(p.name for p in (tmp_path / "two").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "one").iterdir())
    assert all(name.endswith(cache.SUFFIX) for name in files)  # no temp files left
    shifted, _ = generate_assets(TASK, 3, seed=6, workers=1, progress=False)
    assert payloads(shifted)[:2] == payloads(pooled)[1:]  # env i of seed s is env i-1 of s+1


def test_warm_run_generates_nothing_and_starts_no_pool(cache_root, monkeypatch):
    cold, first = generate_assets(TASK, 2, seed=3, workers=2, progress=False)

    def no_generation(*args, **kwargs):
        raise AssertionError("a warm run must not generate")

    monkeypatch.setattr(pipeline, "_generate_in_pool", no_generation)
    monkeypatch.setattr(AssetRequest, "generate", no_generation)
    warm, second = generate_assets(TASK, 2, seed=3, workers=2, progress=False)
    assert (second.generated, second.reused, second.workers) == (0, first.generated, 0)
    assert second.cache_dir == str(cache_root)
    assert payloads(warm) == payloads(cold)


def test_a_missing_entry_is_regenerated_alone(cache_root):
    generate_assets(TASK, 2, seed=3, workers=1, progress=False)
    victim = sorted(cache_root.iterdir())[0]
    victim.unlink()
    _, report = generate_assets(TASK, 2, seed=3, workers=2, progress=False)
    assert (report.generated, report.reused) == (1, 3)
    assert victim.exists()


def test_plan_chunks_covers_every_request_once_biggest_first():
    spec = get_task("perseverance")
    requests = [r for i in range(4) for r in spec.asset_requests(i).values()]
    chunks = plan_chunks(requests, workers=2)
    flat = [r.key for chunk in chunks for r in chunk]
    assert sorted(flat) == sorted(r.key for r in requests)
    costs = [pipeline._cost(r) for chunk in chunks for r in chunk]
    assert costs == sorted(costs, reverse=True)  # the expensive ones go first
    sizes = [len(chunk) for chunk in chunks]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 1  # the tail balances
    assert sizes[0] > 1 and len(chunks) < len(requests)  # cheap ones share round trips


def test_bad_arguments_raise(cache_root):
    with pytest.raises(ValueError, match="num_envs"):
        generate_assets(TASK, 0)
    with pytest.raises(ValueError, match="workers"):
        generate_assets(TASK, 1, workers=0)
    with pytest.raises(UnknownNameError, match="Did you mean"):
        generate_assets("peg_in_hol", 1)


def test_unwritable_cache_is_a_cache_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(cache.ENV_VAR, str(blocker / "cache"))
    with pytest.raises(CacheError, match="SPACEROS_PROCGEN_CACHE_DIR"):
        generate_assets(TASK, 1, workers=1, progress=False)


def test_contact_sheet_has_a_tile_with_content_per_asset(cache_root, tmp_path):
    envs, _ = generate_assets(TASK, 2, seed=1, workers=1, progress=False)
    path = tmp_path / "sheet.png"
    image = contact_sheet(envs, path, tile_px=64)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    names = list(envs[0])
    assert image.size == (64 * len(names), 2 * (64 + LABEL_PX))
    pixels = np.asarray(image, np.float64)
    for row in range(2):
        for col in range(len(names)):
            top = row * (64 + LABEL_PX) + LABEL_PX
            tile = pixels[top:top + 64, col * 64:(col + 1) * 64]
            assert tile.std() > 5, f"tile env {row} {names[col]} is blank"


def test_report_counts_assets():
    assert Report(generated=3, reused=4, seconds=0.1).assets == 7


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers must inherit the patch")
def test_ctrl_c_stops_busy_workers_at_once(cache_root, monkeypatch):
    """Ctrl-C while workers are deep in a generator: all of them are gone within 1.5 s."""
    workers = []
    real_abort = pool.abort

    def abort(executor):
        workers.extend(executor._processes.values())
        real_abort(executor)

    def ctrl_c(signum, frame):
        raise KeyboardInterrupt

    monkeypatch.setattr(pool, "abort", abort)
    monkeypatch.setattr(AssetRequest, "generate", lambda self: time.sleep(60))
    previous = signal.signal(signal.SIGALRM, ctrl_c)  # a timer thread would rule out fork
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            generate_assets(TASK, 2, seed=9, workers=2, progress=False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - start < 1.0 + 1.5
    assert len(workers) == 2 and not any(p.is_alive() for p in workers)
    for pid in (p.pid for p in workers):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not list(cache_root.glob(".*" + cache.TEMP_SUFFIX))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork start method")
def test_abort_waits_for_the_pool_thread_that_reaps_a_worker(cache_root, monkeypatch):
    """The pool's own thread reaps dead workers too; while it is slow to record an exit
    code, waitpid in the caller fails (ECHILD), yet no worker is reported alive after _abort."""
    real_waitpid, late = os.waitpid, []

    def waitpid(pid, options):
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.1)  # the caller comes second to reap
        reaped = real_waitpid(pid, options)
        if reaped[0] and threading.current_thread() is not threading.main_thread() and not late:
            late.append(pid)
            time.sleep(0.6)  # the pool's thread reaped, then records the exit code late
        return reaped

    executor = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"),
                                   initializer=pool.worker_init, initargs=(os.getpid(),))
    for _ in range(2):
        executor.submit(time.sleep, 60)
    workers = list(executor._processes.values())
    monkeypatch.setattr(os, "waitpid", waitpid)
    start = time.monotonic()
    pool.abort(executor)
    assert time.monotonic() - start < 1.5
    assert late, "the pool's thread reaped no worker: the case under test did not happen"
    assert len(workers) == 2 and not any(p.is_alive() for p in workers)
    assert all(p.exitcode is not None for p in workers)
