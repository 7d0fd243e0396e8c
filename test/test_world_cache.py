"""The compiled-world cache: a warm start builds nothing, loads no mesh asset, and its worlds
step exactly like freshly built ones; corrupt entries and changed builders are rebuilt.

Real MuJoCo models, real files in a per-test cache directory, real worker processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import spaceros_procgen_envs
from spaceros_procgen_envs import world
from spaceros_procgen_envs.assets import cache, pipeline
from spaceros_procgen_envs.sim import scene, world_cache
from spaceros_procgen_envs.tasks.base import RewardCfg
from spaceros_procgen_envs.vector.batch import EnvFactory, _runs

TASK, NUM_ENVS, STEPS = "perseverance", 3, 50
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_VAR, str(root))
    return root


def make_vec(task: str = TASK, backend: str = "sync", num_envs: int = NUM_ENVS, **kwargs):
    if backend != "sync":
        kwargs.setdefault("workers", 2)
    return gym.make_vec(f"spaceros/{task}", num_envs=num_envs, seed=5, backend=backend,
                        vectorization_mode="vector_entry_point", progress=False, **kwargs)


def rollout(env, steps: int = STEPS) -> list[np.ndarray]:
    """The flat observations, rewards and flags of the reset and ``steps`` random actions."""
    actions = np.random.default_rng(1).uniform(-1, 1, (steps, *env.action_space.shape))
    obs, _ = env.reset(seed=0)
    trace = [np.concatenate([v.reshape(len(v), -1) for v in obs.values()], axis=1)]
    for action in actions.astype(np.float32):
        obs, reward, terminated, truncated, _ = env.step(action)
        trace += [np.concatenate([v.reshape(len(v), -1) for v in obs.values()], axis=1),
                  reward, terminated, truncated]
    env.close()
    return trace


def forbid_building(monkeypatch) -> None:
    """From here on, building a world or loading/generating an asset fails the test."""
    def must_not(*args, **kwargs):
        raise AssertionError("a warm start must not build a world or load an asset")

    monkeypatch.setattr(world.WorldDraft, "__init__", must_not)
    monkeypatch.setattr(cache, "read_entry", must_not)
    monkeypatch.setattr(pipeline, "fetch_assets", must_not)
    monkeypatch.setattr("spaceros_procgen_envs.vector.batch.generate_assets", must_not)


def entries(root: Path, suffix: str) -> list[Path]:
    return sorted(root.glob(f"*{suffix}"))


def assert_same(cold: list[np.ndarray], warm: list[np.ndarray]) -> None:
    assert len(cold) == len(warm)
    for a, b in zip(cold, warm):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("task", [TASK, "peg_in_hole"])
def test_warm_start_builds_nothing_and_steps_bit_identically_sync(cache_root, monkeypatch, task):
    cold = rollout(make_vec(task))
    assert len(entries(cache_root, ".world")) == NUM_ENVS
    assert len(entries(cache_root, ".mjb")) == NUM_ENVS
    assert len(entries(cache_root, ".faces")) == NUM_ENVS
    forbid_building(monkeypatch)
    assert_same(cold, rollout(make_vec(task)))


@pytest.mark.parametrize("task", [name.removeprefix("spaceros/") for name in
                                  spaceros_procgen_envs.list_tasks()])
def test_every_task_starts_warm_bit_identically(cache_root, monkeypatch, task):
    cold = rollout(make_vec(task, num_envs=2), steps=10)
    assert len(entries(cache_root, ".world")) == 2
    forbid_building(monkeypatch)
    assert_same(cold, rollout(make_vec(task, num_envs=2), steps=10))


def test_warm_start_is_bit_identical_on_process_workers(cache_root):
    cold = rollout(make_vec(backend="process"))  # the workers build and store their worlds
    assert len(entries(cache_root, ".world")) == NUM_ENVS
    assert_same(cold, rollout(make_vec(backend="process")))
    assert_same(cold, rollout(make_vec(backend="sync")))  # and as the parent builds them


def test_visual_worlds_keep_their_cameras(cache_root, monkeypatch):
    cold = rollout(make_vec("perseverance_visual", num_envs=2), steps=3)
    forbid_building(monkeypatch)
    assert_same(cold, rollout(make_vec("perseverance_visual", num_envs=2), steps=3))


@pytest.mark.parametrize("suffix,damage", [
    (".mjb", "flip"), (".mjb", "truncate"), (".world", "flip"), (".world", "truncate"),
    (".faces", "garble"), (".mjb", "delete")])
def test_a_corrupt_entry_is_rebuilt(cache_root, suffix, damage):
    cold = rollout(make_vec(), steps=5)
    victim = entries(cache_root, suffix)[1]
    data = victim.read_bytes()
    if damage == "flip":
        victim.write_bytes(data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF])
                           + data[len(data) // 2 + 1:])
    elif damage == "truncate":
        victim.write_bytes(data[:len(data) // 3])
    elif damage == "garble":
        victim.write_bytes(world_cache.frame(b"not a number"))
    else:
        victim.unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        warm = rollout(make_vec(), steps=5)
    assert_same(cold, warm)
    if damage != "delete":
        assert any("corrupt world cache file" in str(w.message) for w in caught)
    assert victim.is_file()
    if suffix == ".world":  # a pickle: equal content may differ in bytes (object sharing)
        world_cache.unframe(victim.read_bytes())
    else:
        assert victim.read_bytes() == data
    assert len(entries(cache_root, suffix)) == NUM_ENVS  # rebuilt, nothing left over


def test_an_intact_model_with_new_times_is_checked_and_kept(cache_root, monkeypatch):
    cold = rollout(make_vec(), steps=5)
    for path in entries(cache_root, ".mjb"):  # as a copy without -p leaves them
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns + 10**9, stat.st_mtime_ns + 10**9))
    forbid_building(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert_same(cold, rollout(make_vec(), steps=5))


def test_a_changed_builder_changes_the_key(cache_root, monkeypatch):
    make_vec().close()
    old = {p.name for p in cache_root.iterdir()}
    monkeypatch.setattr(world_cache, "builder_version", lambda: "0123456789abcdef")
    built = []
    real_init = world.WorldDraft.__init__

    def counting_init(self, *args, **kwargs):
        built.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(world.WorldDraft, "__init__", counting_init)
    make_vec().close()
    assert len(built) == NUM_ENVS  # no stale world served
    new = {p.name for p in cache_root.iterdir()} - old
    assert len([n for n in new if n.endswith(".world")]) == NUM_ENVS


def test_builder_version_hashes_the_builder_sources(tmp_path, monkeypatch):
    for rel in ("sim/a.py", "tasks/t/env.py", "domains.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    monkeypatch.setattr(world_cache, "PACKAGE", tmp_path)
    version = world_cache.builder_version.__wrapped__
    before = version()
    for rel in ("sim/a.py", "tasks/t/env.py", "domains.py"):
        (tmp_path / rel).write_text("x = 2\n")
        after = version()
        assert after != before, rel
        before = after
    assert len(world_cache.builder_version()) == 16  # the real one (cached per process)


def test_key_covers_task_domain_assets_options_and_total():
    keys = {"terrain": "terrain-aa", "boulder0": "rock-bb"}
    base = world_cache.faces_ident(TASK, "mars", keys, {})
    variants = [world_cache.faces_ident(TASK + "_visual", "mars", keys, {}),
                world_cache.faces_ident(TASK, "moon", keys, {}),
                world_cache.faces_ident(TASK, "mars", {**keys, "boulder0": "rock-cc"}, {}),
                world_cache.faces_ident(TASK, "mars", keys, {"rewards": RewardCfg(-0.02)}),
                world_cache.faces_ident(TASK, "mars", keys, {"num_agents": 3})]
    assert len({base, *variants}) == 1 + len(variants)
    assert world_cache.faces_ident(TASK, "mars", dict(keys), {}) == base
    store = world_cache.WorldStore(TASK, "mars", [keys], {})
    assert store.world_key(0, 4096) != store.world_key(0, 8192)


def test_another_face_total_compiles_and_caches_again(cache_root, monkeypatch):
    factory = EnvFactory(TASK, 5)
    first = factory.build(0, 2)
    total = first[0].model.nmeshface
    store = factory.world_store(0, 2)
    store.put_faces(0, total + 1)  # as if env 0 had grown: the batch total moves up a quantum
    assert factory.world_store(0, 2).missing() == [0, 1]
    again = factory.build(0, 2)
    assert [env.model.nmeshface for env in again] == [total + scene.FACE_QUANTUM] * 2
    assert factory.world_store(0, 2).missing() == []
    forbid_building(monkeypatch)
    assert [env.model.nmeshface for env in factory.build(0, 2)] == [total + scene.FACE_QUANTUM] * 2


def test_prepare_loads_only_the_envs_whose_world_is_missing(cache_root):
    factory = EnvFactory(TASK, 5)
    prepared = factory.prepare(3)
    assert sorted(prepared.assets) == [0, 1, 2]
    envs = factory.build(1, 3, prepared)  # a slice takes its envs' assets and entries
    assert [env.env_seed for env in envs] == [6, 7]
    assert factory.prepare(3).assets.keys() == {0}
    factory.build(0, 3)
    assert factory.prepare(3).assets == {}
    next(iter(entries(cache_root, ".world"))).unlink()
    assert len(factory.prepare(3).assets) == 1


def test_runs_of_indices():
    assert _runs([5, 0, 2, 1]) == [(0, 3), (5, 6)]
    assert _runs([]) == []


def test_concurrent_cold_starts_all_succeed(cache_root):
    script = textwrap.dedent(f"""
        import gymnasium as gym, numpy as np, spaceros_procgen_envs
        env = gym.make_vec("spaceros/{TASK}", num_envs={NUM_ENVS}, seed=5, backend="sync",
                           vectorization_mode="vector_entry_point", progress=False)
        obs, _ = env.reset(seed=0)
        print(float(np.concatenate([v.ravel() for v in obs.values()]).sum()))
    """)
    runs = [subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in results]
    assert results[0][0] == results[1][0]
    assert not list(cache_root.glob(".*.tmp"))  # every writer cleaned up
    assert len(entries(cache_root, ".world")) == NUM_ENVS
