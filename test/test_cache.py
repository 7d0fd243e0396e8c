"""The content-addressed asset cache: hits, keys, corruption, concurrency, bad directories."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from spaceros_procgen_envs.assets import cache, generators
from spaceros_procgen_envs.assets.generators import AssetRequest
from spaceros_procgen_envs.errors import CacheError
from spaceros_procgen_envs.registry import all_tasks, get_task

REPO = Path(__file__).resolve().parents[1]


def one_request_per_generator() -> dict[str, AssetRequest]:
    """The first request of each generator found in the registered tasks' plans."""
    found: dict[str, AssetRequest] = {}
    for spec in all_tasks().values():
        for request in spec.asset_requests(3).values():
            found.setdefault(request.generator, request)
    return found


REQUESTS = one_request_per_generator()


def cheap_request(seed: int = 3) -> AssetRequest:
    return get_task("debris_capture").asset_requests(seed)["debris"]


def assert_same_arrays(a, b) -> None:
    left, right = a.to_arrays(), b.to_arrays()
    assert left.keys() == right.keys()
    for name in left:
        np.testing.assert_array_equal(left[name], right[name])


@pytest.fixture
def cache_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_VAR, str(root))
    return root


def test_cache_dir_is_read_at_call_time(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "a"))
    assert cache.cache_dir() == tmp_path / "a"
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "b"))
    assert cache.cache_dir() == tmp_path / "b"
    monkeypatch.delenv(cache.ENV_VAR)
    assert cache.cache_dir().name == "spaceros_procgen_envs"


@pytest.mark.parametrize("generator", sorted(REQUESTS))
def test_miss_then_hit_returns_identical_arrays(cache_root, monkeypatch, generator):
    request = REQUESTS[generator]
    first, was_cached = cache.get_or_create(request)
    assert not was_cached
    assert cache.entry_path(request).is_file()

    def must_not_generate(self):
        raise AssertionError("a cache hit must not regenerate")

    monkeypatch.setattr(AssetRequest, "generate", must_not_generate)
    second, was_cached = cache.get_or_create(request)
    assert was_cached
    assert type(second) is type(first)
    assert_same_arrays(first, second)


def test_load_on_missing_dir_is_a_miss_and_creates_nothing(cache_root):
    assert cache.load(cheap_request()) is None
    assert not cache_root.exists()


def tweak(value):
    """A different value of the same type (for changing one config field)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "_other"
    if isinstance(value, tuple):
        return (*value, value[-1] if value else 0)
    raise TypeError(f"cannot tweak {value!r}")


@pytest.mark.parametrize("generator", sorted(REQUESTS))
def test_key_covers_every_cfg_field_and_the_seed(generator):
    request = REQUESTS[generator]
    other_seed = (request.seed[0] + 1, *request.seed[1:])
    keys = {request.key, dataclasses.replace(request, seed=other_seed).key}
    for field in dataclasses.fields(request.cfg):
        value = tweak(getattr(request.cfg, field.name))
        changed = dataclasses.replace(request.cfg, **{field.name: value})
        keys.add(dataclasses.replace(request, cfg=changed).key)
    assert len(keys) == 2 + len(dataclasses.fields(request.cfg))
    assert request.key == dataclasses.replace(request).key  # stable


def test_new_code_version_never_serves_the_old_entry(cache_root, monkeypatch):
    request = cheap_request()
    cache.get_or_create(request)
    old_key = request.key
    monkeypatch.setattr(generators, "code_version", lambda name: "0123456789abcdef")
    assert request.key != old_key
    assert cache.load(request) is None
    _, was_cached = cache.get_or_create(request)
    assert not was_cached
    assert len(list(cache_root.glob("*" + cache.SUFFIX))) == 2


def flip_byte(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x40]) + data[index + 1:]


DAMAGE = {
    "flipped payload byte": lambda d: flip_byte(d, len(d) // 2 + 7),
    "flipped digest byte": lambda d: flip_byte(d, len(cache.MAGIC)),
    "truncated": lambda d: d[: len(d) * 2 // 3],
    "header only": lambda d: d[:20],
    "empty": lambda d: b"",
    "wrong magic": lambda d: b"PK\x03\x04" + d[4:],
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_corrupt_or_truncated_file_is_detected_and_regenerated(cache_root, damage):
    request = cheap_request()
    original, _ = cache.get_or_create(request)
    path = cache.entry_path(request)
    good = path.read_bytes()
    path.write_bytes(DAMAGE[damage](good))
    with pytest.warns(RuntimeWarning, match="corrupt asset cache file"):
        assert cache.load(request) is None
    assert not path.exists()
    path.write_bytes(DAMAGE[damage](good))  # damaged again: get_or_create must heal it
    with pytest.warns(RuntimeWarning):
        regenerated, was_cached = cache.get_or_create(request)
    assert not was_cached
    assert_same_arrays(original, regenerated)
    assert_same_arrays(original, cache.read_entry(path))


def test_unwritable_dir_under_a_regular_file_is_a_one_line_cache_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the cache's parent should be")
    target = blocker / "cache"
    monkeypatch.setenv(cache.ENV_VAR, str(target))
    asset = cheap_request().generate()
    with pytest.raises(CacheError) as info:
        cache.get_or_create(cheap_request())
    message = str(info.value)
    assert "SPACEROS_PROCGEN_CACHE_DIR" in message and str(target) in message
    assert "\n" not in message
    for attempt in (cache.ensure_cache_dir, lambda: cache.store(cheap_request(), asset)):
        with pytest.raises(CacheError, match="SPACEROS_PROCGEN_CACHE_DIR"):
            attempt()
    assert list(tmp_path.iterdir()) == [blocker]


def test_cache_dir_that_is_a_file_is_a_cache_error(tmp_path, monkeypatch):
    blocker = tmp_path / "cache"
    blocker.write_text("")
    monkeypatch.setenv(cache.ENV_VAR, str(blocker))
    with pytest.raises(CacheError, match="SPACEROS_PROCGEN_CACHE_DIR"):
        cache.ensure_cache_dir()


def test_failed_write_leaves_no_temp_file(cache_root, monkeypatch):
    request = cheap_request()
    asset = request.generate()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.os, "replace", broken_replace)
    with pytest.raises(CacheError, match="No space left"):
        cache.store(request, asset)
    assert list(cache_root.iterdir()) == []


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from spaceros_procgen_envs.assets import cache
    from spaceros_procgen_envs.registry import get_task
    go = Path(sys.argv[1])
    requests = [r for s in (5, 6) for r in get_task("debris_capture").asset_requests(s).values()]
    assets = [r.generate() for r in requests]
    Path(sys.argv[2]).touch()
    while not go.exists():
        time.sleep(0.005)
    for _ in range(40):  # write and read back the same entries as the other process
        for request, asset in zip(requests, assets):
            cache.store(request, asset)
            assert cache.read_entry(cache.entry_path(request)) is not None
    for request in requests:
        cache.get_or_create(request)
""")


def test_two_processes_writing_the_same_assets_both_succeed(cache_root, tmp_path):
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{k}" for k in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(go), str(flag)], env=env,
                              stderr=subprocess.PIPE, text=True) for flag in ready]
    deadline = time.monotonic() + 60
    while not all(f.exists() for f in ready) and time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            break  # one died before starting: its stderr says why
        time.sleep(0.01)
    go.touch()  # both start writing at the same moment
    results = [(p.wait(timeout=60), p.communicate()[1]) for p in procs]
    assert [rc for rc, _ in results] == [0, 0], results
    entries = sorted(cache_root.iterdir())
    assert len(entries) == 2 and all(e.suffix == cache.SUFFIX for e in entries)  # no temp files
    for entry in entries:
        assert cache.read_entry(entry) is not None
