"""The parallel backends (SPEC 5, 9): same numbers as in-process, and workers that fail loudly.

Real worker processes and a real local Ray cluster (started once for this module). The Ray
tests skip only where the ``ray`` extra is not installed.
"""

from __future__ import annotations

import builtins
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.error import AlreadyPendingCallError, ClosedEnvironmentError, NoAsyncCallError

import spaceros_procgen_envs
from spaceros_procgen_envs.errors import ProcgenError
from spaceros_procgen_envs.vector.batch_slice import BatchSlice
from spaceros_procgen_envs.vector.backends import WorkerError

from .conftest import cpu_s

TASKS = spaceros_procgen_envs.list_tasks()
NUM_ENVS, WORKERS = 3, 2
LIMIT, STEPS = 4, 10  # truncated at steps 4 and 9, autoreset at steps 5 and 10
SHM = Path("/dev/shm")


def make_vec(task: str, backend: str, num_envs: int = NUM_ENVS, **kwargs):
    if backend != "sync":
        kwargs.setdefault("workers", WORKERS)
    return gym.make_vec(f"spaceros/{task}", num_envs=num_envs,
                        vectorization_mode="vector_entry_point", backend=backend,
                        max_episode_steps=LIMIT, progress=False, **kwargs)


def flat_obs(obs: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([v.reshape(len(v), -1) for v in obs.values()], axis=1)


def rollout(env, steps: int = STEPS, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Per step (0: the reset), observations, rewards, flags and info of fixed random actions."""
    actions = np.random.default_rng(seed).uniform(-1.2, 1.2, (steps, *env.action_space.shape))
    obs, _ = env.reset(seed=seed)
    trace = [{"obs": flat_obs(obs)}]
    for action in actions.astype(np.float32):
        obs, reward, term, trunc, info = env.step(action)
        trace.append({"obs": flat_obs(obs), "reward": reward, "terminated": term,
                      "truncated": trunc, **{f"info/{key}": value for key, value in info.items()}})
    return trace


def assert_same(trace: list[dict], expected: list[dict]) -> None:
    assert len(trace) == len(expected)
    for step, (got, want) in enumerate(zip(trace, expected)):
        assert got.keys() == want.keys(), f"step {step}"
        for key in want:
            assert got[key].dtype == want[key].dtype, f"step {step}: {key}"
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"step {step}: {key}")


def assert_same_robots(env_a, env_b) -> None:
    for a, b in zip(env_a.unwrapped.robot_states(), env_b.unwrapped.robot_states(), strict=True):
        assert a.keys() == b.keys() and a["joint_names"] == b["joint_names"]
        for key, value in a.items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, b[key], err_msg=key)


@pytest.fixture(scope="module")
def reference():
    """``reference(task) -> (sync env, its rollout)``, each computed once per module."""
    cache: dict[str, tuple] = {}

    def get(task: str):
        if task not in cache:
            env = make_vec(task, "sync")
            cache[task] = (env, rollout(env))
            trunc = np.array([step["truncated"] for step in cache[task][1][1:]])
            assert trunc.any() and not trunc.all(), "the rollout must cross an autoreset"
        return cache[task]

    yield get
    for env, _ in cache.values():
        env.close()


def shm_entries() -> set[str]:
    """Shared-memory names, without the DDS segments other processes (ROS) come and go with."""
    return {name for name in os.listdir(SHM) if "fastdds" not in name} if SHM.is_dir() else set()


def gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] in "ZX"  # reaped later
    except (FileNotFoundError, ProcessLookupError):
        return True


def wait_gone(pids: list[int], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return all(gone(pid) for pid in pids)


# --------------------------------------------------------------------------- same numbers
@pytest.mark.parametrize("task", TASKS)
def test_thread_and_process_match_sync_to_the_bit(task, reference):
    sync, expected = reference(task)
    for backend in ("thread", "process"):
        env = make_vec(task, backend)
        try:
            assert_same(rollout(env), expected)
            assert_same_robots(env, sync)
        finally:
            env.close()


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_process_workers_started_without_fork_give_the_same_numbers(start_method, reference):
    """What a parent that runs threads (a ROS node) gets: no fork of a threaded process."""
    _, expected = reference("perseverance")
    env = make_vec("perseverance", "process", start_method=start_method)
    try:
        assert_same(rollout(env), expected)
    finally:
        env.close()


def test_robot_states_name_the_joints_and_pose_of_every_env():
    env = make_vec("perseverance", "process")
    try:
        env.reset(seed=0)
        states = env.unwrapped.robot_states()
        assert len(states) == NUM_ENVS
        for state in states:
            n = len(state["joint_names"])
            assert n > 0 and state["position"].shape == state["velocity"].shape == (n,)
            assert state["base_xyz"].shape == (3,)
            assert np.linalg.norm(state["base_wxyz"]) == pytest.approx(1.0)
        with pytest.raises(ProcgenError, match="robot_states"):
            env.unwrapped.envs  # noqa: B018 - the envs live in the workers
    finally:
        env.close()


# --------------------------------------------------------------------------- process faults
def test_second_step_async_before_step_wait_is_refused():
    env = make_vec("ingenuity", "process").unwrapped
    try:
        env.reset(seed=0)
        zeros = np.zeros(env.action_space.shape, np.float32)
        with pytest.raises(NoAsyncCallError):
            env.step_wait()
        env.step_async(zeros)
        with pytest.raises(AlreadyPendingCallError):
            env.step_async(zeros)
        with pytest.raises(AlreadyPendingCallError):
            env.reset(seed=0)
        obs, reward, *_ = env.step_wait()
        assert reward.shape == (NUM_ENVS,)
        env.step(zeros)  # and the env goes on
    finally:
        env.close()


def test_killed_process_worker_is_an_error_naming_it_and_leaves_nothing_behind():
    shm_before = shm_entries()
    env = make_vec("ingenuity", "process")
    processes = env.unwrapped.backend.processes
    pids = [process.pid for process in processes]
    zeros = np.zeros(env.action_space.shape, np.float32)
    env.reset(seed=0)
    env.step(zeros)
    maps = Path(f"/proc/{pids[1]}/maps").read_text().splitlines()
    assert any("memfd:spaceros-batch" in line for line in maps)  # the batch: no name anywhere
    # No named segment of ours (a forked worker may also map the parent's Fast DDS segments).
    assert not any("/dev/shm/" in line and "spaceros" in line for line in maps)
    os.kill(pids[1], signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"process worker 1 .*exit code -9 \(killed by SIGKILL\)"
                       ) as caught:
        env.step(zeros)
    assert time.monotonic() - start < 5.0
    assert caught.value.index == 1 and caught.value.exitcode == -9
    assert wait_gone(pids, 3.0), "a worker process survived"
    assert not set(multiprocessing.active_children()) & set(processes)
    assert shm_entries() <= shm_before, "a shared-memory segment was left in /dev/shm"
    with pytest.raises(ClosedEnvironmentError, match="worker 1"):
        env.step(zeros)
    env.close()  # closing a failed env is fine


def test_exception_in_a_worker_ships_its_traceback_home(monkeypatch):
    def broken_step(self, actions, out):
        if self.envs[-1].env_seed == 42 + NUM_ENVS - 1:  # only the last slice, in worker 1
            raise FloatingPointError("the sky fell")
        return original(self, actions, out)

    original = BatchSlice.finish
    monkeypatch.setattr(BatchSlice, "finish", broken_step)  # forked workers inherit the patch
    env = make_vec("ingenuity", "process", start_method="fork")
    env.reset(seed=0)
    with pytest.raises(WorkerError, match="process worker 1 .*FloatingPointError: the sky fell"
                       ) as caught:
        env.step(np.zeros(env.action_space.shape, np.float32))
    assert "broken_step" in caught.value.remote_traceback
    assert "broken_step" in str(caught.value.__cause__)
    env.close()


def test_ctrl_c_during_step_wait_leaves_the_step_pending_and_in_step(monkeypatch, reference):
    def slow_step(self, actions, out):
        if self.envs[-1].env_seed == 42 + NUM_ENVS - 1:
            time.sleep(0.3)  # the main thread is blocked in step_wait meanwhile
        return original(self, actions, out)

    _, expected = reference("ingenuity")
    original = BatchSlice.finish
    monkeypatch.setattr(BatchSlice, "finish", slow_step)
    env = make_vec("ingenuity", "process", start_method="fork").unwrapped
    actions = np.random.default_rng(0).uniform(-1.2, 1.2, (3, *env.action_space.shape))
    env.reset(seed=0)
    main = threading.main_thread().ident
    threading.Timer(0.1, signal.pthread_kill, (main, signal.SIGINT)).start()
    try:
        with pytest.raises(KeyboardInterrupt):
            env.step(actions[0].astype(np.float32))
        with pytest.raises(AlreadyPendingCallError):
            env.step_async(actions[1].astype(np.float32))
        obs, *_ = env.step_wait()  # the interrupted step, complete
        np.testing.assert_array_equal(flat_obs(obs), expected[1]["obs"])
        obs, *_ = env.step(actions[1].astype(np.float32))
        np.testing.assert_array_equal(flat_obs(obs), expected[2]["obs"])
    finally:
        env.close()


def test_close_stops_every_worker_and_frees_shared_memory():
    shm_before = shm_entries()
    env = make_vec("perseverance", "process")
    pids = [process.pid for process in env.unwrapped.backend.processes]
    env.reset(seed=0)
    env.step(np.zeros(env.action_space.shape, np.float32))
    env.close()
    assert wait_gone(pids, 1.0)
    assert shm_entries() <= shm_before
    env.close()


def test_idle_process_workers_sleep_instead_of_polling():
    # A worker polls its pipe for a moment after each reply (protocol.SPIN_S), then blocks: a
    # batch left idle (a paused agent, a real-time loop between ticks) must not burn the cores.
    env = make_vec("perseverance", "process")
    try:
        pids = [process.pid for process in env.unwrapped.backend.processes]
        env.reset(seed=0)
        env.step(np.zeros(env.action_space.shape, np.float32))
        time.sleep(0.2)  # far past SPIN_S: every worker is blocked in recv by now
        before = [cpu_s(pid) for pid in pids]
        time.sleep(1.0)
        used = [cpu_s(pid) - start for pid, start in zip(pids, before)]
        assert max(used) < 0.1, f"idle workers used {used} s of CPU in 1 s"
        obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))  # and still answer
        assert np.isfinite(flat_obs(obs)).all()
    finally:
        env.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_signal_to_the_parent_stops_every_worker_within_2_s(sig, tmp_path):
    script = textwrap.dedent("""
        import numpy as np, gymnasium as gym, spaceros_procgen_envs
        env = gym.make_vec("spaceros/ingenuity", num_envs=2, vectorization_mode="vector_entry_point",
                           backend="process", workers=2, progress=False)
        env.reset(seed=0)
        print(*(p.pid for p in env.unwrapped.backend.processes), flush=True)
        zeros = np.zeros(env.action_space.shape, np.float32)
        while True:
            env.step(zeros)
    """)
    log = (tmp_path / "stderr.txt").open("w")  # not a pipe: a surviving worker cannot hang us
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=log,
                            text=True)
    pids: list[int] = []
    try:
        pids = [int(pid) for pid in proc.stdout.readline().split()]
        assert len(pids) == 2, (tmp_path / "stderr.txt").read_text()
        time.sleep(0.3)  # stepping now
        proc.send_signal(sig)
        start = time.monotonic()
        proc.wait(timeout=5)
        assert wait_gone(pids, 2.0), "a worker outlived its parent"
        assert time.monotonic() - start < 2.5
    finally:
        proc.kill()
        proc.wait()
        for pid in pids:  # only if the test failed: never leave them running
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


# --------------------------------------------------------------------------- ray
@pytest.fixture(scope="module")
def ray_cluster():
    """One local Ray for the module (2 CPUs, no dashboard), shut down at the end."""
    ray = pytest.importorskip("ray", reason="ray extra not installed")
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False, configure_logging=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.mark.parametrize("task", TASKS)
def test_ray_matches_sync_to_the_bit(task, reference, ray_cluster):
    sync, expected = reference(task)
    env = make_vec(task, "ray")
    try:
        assert len(env.unwrapped.backend.actors) == WORKERS
        assert all(env.unwrapped.backend.channels), "a step went over Ray calls"
        assert_same(rollout(env), expected)
        assert_same_robots(env, sync)
    finally:
        env.close()


def test_ray_by_default_runs_one_actor_per_node_on_all_its_cpus(reference, ray_cluster):
    """SPEC 5: an actor per node's cores. The module's Ray is one node of 2 CPUs: one actor,
    all the envs, stepped on 2 MuJoCo threads, and the same numbers as sync."""
    sync, expected = reference("sample_collection")
    env = gym.make_vec("spaceros/sample_collection", num_envs=NUM_ENVS, backend="ray",
                       vectorization_mode="vector_entry_point", max_episode_steps=LIMIT,
                       progress=False)
    try:
        backend = env.unwrapped.backend
        assert len(backend.actors) == 1 and backend.ranges == [(0, NUM_ENVS)]
        assert ray_cluster.get(backend.actors[0].threads.remote()) == 2
        assert_same(rollout(env), expected)
        assert_same_robots(env, sync)
    finally:
        env.close()


def test_ray_slices_follow_the_nodes_cpus():
    from spaceros_procgen_envs.vector.ray_backend import split_by

    assert split_by(10, [8, 2]) == [(0, 8), (8, 10)]
    assert split_by(3, [16, 2, 2]) == [(0, 1), (1, 2), (2, 3)]  # every actor gets an env
    assert split_by(6, [2, 2]) == [(0, 3), (3, 6)]


def test_ray_steps_over_ray_calls_where_no_connection_can_be_made(reference, ray_cluster,
                                                                  monkeypatch, caplog):
    """An actor the driver cannot connect to (a firewall between nodes) is stepped over Ray's
    own calls, with a warning, and gives the same numbers."""
    from spaceros_procgen_envs.vector import ray_backend

    def refused(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(ray_backend, "ChannelClient", refused)
    _, expected = reference("ingenuity")
    env = make_vec("ingenuity", "ray")
    try:
        assert env.unwrapped.backend.channels == [None] * WORKERS
        assert "stepping it over Ray calls" in caplog.text
        assert_same(rollout(env), expected)
    finally:
        env.close()


def test_step_channel_ships_a_failed_step_home_and_sees_its_end():
    """The step connection itself (real sockets, no Ray): results arrive in the driver's
    arrays, a step that raises comes home with its traceback, a closed end reads as closed."""
    from spaceros_procgen_envs.vector.step_channel import (ChannelClient, ChannelClosed,
                                                             ChannelServer, StepFailed)

    actions, results = np.zeros((2, 3), np.float32), (np.zeros((2, 4), np.float32), np.zeros(2))

    def step(acts):
        if acts[0, 0] < 0:
            raise FloatingPointError("the sky fell")
        results[0][...] = acts.sum()
        results[1][...] = acts[:, 0] * 2

    server = ChannelServer(step, actions, results, "127.0.0.1")
    mine = (np.zeros((2, 4), np.float32), np.zeros(2))
    stranger = socket.create_connection(server.address, timeout=5.0)  # no token: dropped
    stranger.sendall(b"S" * len(server.token))
    assert stranger.recv(1) == b"", "a connection without the token was served"
    stranger.close()
    client = ChannelClient(server.address, server.token, mine)
    client.send_step(np.arange(6, dtype=np.float32).reshape(2, 3))
    client.wait(lambda: None, 1.0)
    np.testing.assert_array_equal(mine[0], np.full((2, 4), 15.0))
    np.testing.assert_array_equal(mine[1], [0.0, 6.0])
    client.send_step(-np.ones((2, 3), np.float32))
    with pytest.raises(StepFailed, match="FloatingPointError: the sky fell") as caught:
        client.wait(lambda: None, 1.0)
    assert "in step" in caught.value.remote_traceback
    client.close()
    server._thread.join(5.0)
    assert not server._thread.is_alive(), "the actor's step thread outlived its connection"

    lonely = ChannelServer(step, actions, results, "127.0.0.1")
    client = ChannelClient(lonely.address, lonely.token, mine)
    client._sock.shutdown(socket.SHUT_WR)  # as if the actor's end had closed: the thread ends
    lonely._thread.join(5.0)
    with pytest.raises(ChannelClosed):
        client.wait(lambda: None, 1.0)
    checks = []
    waiting = ChannelServer(step, actions, results, "127.0.0.1")
    client = ChannelClient(waiting.address, waiting.token, mine)

    def check():  # what the backend's ping does when Ray says the actor is dead
        checks.append(1)
        raise ChannelClosed("actor dead")

    with pytest.raises(ChannelClosed, match="actor dead"):
        client.wait(check, 0.05)  # no step was sent: no reply comes
    assert checks == [1]
    client.close()


def dies(ray, actor, timeout_s: float = 30.0) -> bool:
    """Whether ``actor`` is seen dead within ``timeout_s`` (``ray.kill`` lands asynchronously)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ray.get(actor.get_layout.remote(), timeout=timeout_s)
        except ray.exceptions.RayActorError:
            return True
        time.sleep(0.05)
    return False


def test_killed_ray_actor_is_restarted_and_the_others_go_on(reference, ray_cluster):
    _, expected = reference("perseverance")
    env = make_vec("perseverance", "ray")
    backend = env.unwrapped.backend
    start, stop = backend.ranges[1]
    actions = np.random.default_rng(0).uniform(-1.2, 1.2, (STEPS, *env.action_space.shape))
    actions = actions.astype(np.float32)
    env.reset(seed=0)
    for action in actions[:2]:
        env.step(action)
    pid = ray_cluster.get(backend.actors[1].ping.remote())
    ray_cluster.kill(backend.actors[1])
    assert dies(ray_cluster, backend.actors[1])
    assert wait_gone([pid], 10.0), "ray.kill left the actor's process running"
    obs, reward, term, trunc, info = env.step(actions[2])
    assert info["worker_restarted"].tolist() == [i >= start for i in range(NUM_ENVS)]
    assert backend.restarts == [0, 1]
    np.testing.assert_array_equal(flat_obs(obs)[:start], expected[3]["obs"][:start])  # went on
    fresh = make_vec("perseverance", "sync", num_envs=stop - start, seed=42 + start)
    first, _ = fresh.reset()  # what a rebuilt, reset env shows
    fresh.close()
    np.testing.assert_array_equal(flat_obs(obs)[start:], flat_obs(first))
    assert (reward[start:] == 0).all() and not (term | trunc)[start:].any()
    for action in actions[3:]:  # the run goes on, the old envs still on the sync trajectory
        obs, reward, term, trunc, info = env.step(action)
        assert not info["worker_restarted"].any()
    np.testing.assert_array_equal(flat_obs(obs)[:start], expected[-1]["obs"][:start])
    actors = list(backend.actors)
    env.close()
    assert all(dies(ray_cluster, actor) for actor in actors), "close() left an actor running"


def test_ray_not_installed_says_how_to_install_it(monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ModuleNotFoundError("No module named 'ray'", name="ray")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ProcgenError) as caught:
        make_vec("perseverance", "ray")
    message = str(caught.value)
    assert "\n" not in message and 'pip install "spaceros_procgen_envs[ray]"' in message


def test_a_script_without_a_main_guard_makes_a_ray_batch_on_a_cold_cache(tmp_path):
    """What a user's first script does: a local Ray and assets never generated before. The
    asset pool forks before Ray starts, so the script is not re-run in the pool's workers
    (a fork server would, and one without ``if __name__ == "__main__":`` then fails)."""
    pytest.importorskip("ray", reason="ray extra not installed")
    script = tmp_path / "first_ray_batch.py"
    script.write_text(textwrap.dedent("""
        import gymnasium as gym, numpy as np, spaceros_procgen_envs
        env = gym.make_vec("spaceros/ingenuity", num_envs=4, backend="ray",
                           vectorization_mode="vector_entry_point", progress=False)
        obs, _ = env.reset(seed=0)
        obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
        print("stepped", len(obs["altitude"]))
        env.close()
    """))
    cache_dir = tmp_path / "cache"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=240, cwd=tmp_path,
                          env={**os.environ, "SPACEROS_PROCGEN_CACHE_DIR": str(cache_dir),
                               "RAY_ADDRESS": ""})
    assert done.returncode == 0 and "stepped 4" in done.stdout, done.stderr[-3000:]
    assert any(cache_dir.glob("rock-*")), "the assets were not generated into the fresh cache"


def test_ray_address_that_does_not_answer_is_one_line_fast():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = textwrap.dedent(f"""
        import time, gymnasium as gym, spaceros_procgen_envs
        from spaceros_procgen_envs.errors import ProcgenError
        start = time.monotonic()
        try:
            gym.make_vec("spaceros/perseverance", num_envs=1, vectorization_mode="vector_entry_point",
                         backend="ray", ray_address="127.0.0.1:{port}")
        except ProcgenError as exc:
            print(f"{{time.monotonic() - start:.2f}}|{{exc}}")
    """)
    pytest.importorskip("ray", reason="ray extra not installed")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    seconds, _, message = done.stdout.strip().partition("|")
    assert message, done.stderr
    assert "\n" not in message and f"127.0.0.1:{port}" in message and "ray start" in message
    assert float(seconds) < 5.0


def test_ray_renders_camera_observations_and_pictures_like_sync(ray_cluster):
    """Actors render in their own GL context: the _visual observations and the pictures for
    videos come home identical to the in-process ones."""
    results = {}
    for backend in ("sync", "ray"):
        env = gym.make_vec("spaceros/ingenuity_visual", num_envs=2, backend=backend,
                           vectorization_mode="vector_entry_point", seed=5, progress=False,
                           camera_resolution=(32, 24), render_mode="rgb_array",
                           render_size=(64, 48))
        try:
            env.reset(seed=0)
            obs, *_ = env.step(np.full((2, 4), 0.5, np.float32))
            results[backend] = obs, env.render()
        finally:
            env.close()
    (obs, frames), (ray_obs, ray_frames) = results["sync"], results["ray"]
    assert obs["camera_bottom_rgb"].shape == (2, 24, 32, 3) and obs["camera_bottom_rgb"].std() > 3
    for key, value in obs.items():
        np.testing.assert_array_equal(ray_obs[key], value, err_msg=key)
    for frame, ray_frame in zip(frames, ray_frames, strict=True):
        np.testing.assert_array_equal(ray_frame, frame)
