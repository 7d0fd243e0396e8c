"""Training and deployment: the SB3 adapter trains, a saved policy reloads and evaluates the
same to the bit, train.py writes its run folder and resumes it.

Needs the ``rl`` extra (torch, stable-baselines3): ``pip install '.[rl]'``.
"""

from __future__ import annotations

import csv

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3", reason="the rl extra is not installed: pip install '.[rl]'")

from stable_baselines3 import PPO  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402
from stable_baselines3.common.vec_env import VecNormalize  # noqa: E402

from spaceros_procgen_envs.registry import get_task  # noqa: E402
from spaceros_procgen_envs.rl import bundle  # noqa: E402
from spaceros_procgen_envs.rl.defaults import TABLE, algo_kwargs, defaults_for  # noqa: E402
from spaceros_procgen_envs.rl.evaluate import evaluate, start_batch  # noqa: E402
from spaceros_procgen_envs.rl.layout import FlatLayout  # noqa: E402
from spaceros_procgen_envs.rl.training import RunDirError, TrainConfig, train  # noqa: E402
from spaceros_procgen_envs.rl.vec_env import SpaceRosSB3VecEnv, make_native  # noqa: E402

EPISODE = 20  # training episodes cut short, so a few hundred steps end several


class Infos(BaseCallback):
    """Keeps every info of an ended episode SB3 saw."""

    def __init__(self):
        super().__init__()
        self.ended = []

    def _on_step(self) -> bool:
        self.ended += [info for info in self.locals["infos"] if "terminal_observation" in info]
        return True


def weights(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.policy.parameters()])


@pytest.mark.parametrize("backend", ["sync", "process"])
@pytest.mark.parametrize("task", ["perseverance", "ingenuity"])
def test_the_adapter_trains_ppo_for_a_few_hundred_steps(task, backend):
    kwargs = {"workers": 2} if backend == "process" else {}
    env = VecNormalize(SpaceRosSB3VecEnv(make_native(task, 4, 0, backend,
                                                     max_episode_steps=EPISODE, **kwargs)))
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=64, n_epochs=2, seed=0, device="cpu")
    before, infos = weights(model), Infos()
    model.learn(256, callback=infos)
    env.close()
    assert model.num_timesteps >= 256
    assert not np.array_equal(before, weights(model))  # the updates changed the policy
    assert len(infos.ended) >= 4 * (64 // EPISODE)  # every env ended >= 3 episodes
    size = env.venv.layout.size
    assert env.observation_space.shape == (size,)  # one flat Box of every state key
    for info in infos.ended:
        assert info["TimeLimit.truncated"] is True and info["episode"]["l"] == EPISODE
        assert info["terminal_observation"].shape == (size,)
        assert {"r", "l", "t", "reward/action_rate"} <= set(info["episode"])
    assert len(model.ep_info_buffer) > 0  # SB3's own episode statistics see them


def test_the_adapter_trains_sac():
    from stable_baselines3 import SAC

    env = VecNormalize(SpaceRosSB3VecEnv(make_native("ingenuity", 2, 0, "sync",
                                                     max_episode_steps=EPISODE)))
    model = SAC("MlpPolicy", env, learning_starts=16, batch_size=32, buffer_size=1000,
                seed=0, device="cpu", **{"policy_kwargs": {"net_arch": [32, 32]}})
    before = weights(model)
    model.learn(64)
    env.close()
    assert model.num_timesteps >= 64 and not np.array_equal(before, weights(model))
    assert model.replay_buffer.size() > 0


def test_the_adapter_returns_the_next_episode_and_keeps_the_last_observation():
    env = SpaceRosSB3VecEnv(make_native("perseverance", 2, 3, "sync", max_episode_steps=3))
    env.reset()
    actions, total, views = np.full((2, 2), 0.5, np.float32), np.zeros(2), env.layout.unflatten
    for _ in range(2):
        _, rewards, dones, infos = env.step(actions)
        total += rewards
        assert not dones.any() and infos == [{}, {}]
    obs, rewards, dones, infos = env.step(actions)
    total += rewards
    assert dones.all()
    for i in range(2):  # the returned observation starts a new episode: not the last one
        last = views(infos[i]["terminal_observation"])
        assert not np.array_equal(views(obs)["base_lin_vel"][i], last["base_lin_vel"])
        assert infos[i]["episode"]["l"] == 3
        assert infos[i]["episode"]["r"] == pytest.approx(total[i], rel=1e-5)
    env.close()


def test_one_table_gives_every_single_robot_task_ppo_and_sac_defaults():
    from spaceros_procgen_envs import list_tasks

    for task in list_tasks():
        if get_task(task).multi_agent:
            continue
        d = defaults_for(task)
        assert d["num_envs"] > 0 and d["steps"] > 0 and d["normalize"]["norm_obs"]
        assert {"n_steps", "batch_size"} <= set(d["ppo"]) and "buffer_size" in d["sac"]
    assert algo_kwargs("perseverance", "ppo", 2)["batch_size"] == 2 * TABLE["rover"]["ppo"].get(
        "n_steps", 256)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny PPO run of ingenuity (2 envs, 128 steps), its policy folder."""
    run = tmp_path_factory.mktemp("run") / "ingenuity"
    cfg = TrainConfig(task="ingenuity", num_envs=2, steps=128, seed=5, run_dir=str(run),
                      backend="sync", eval_envs=0, max_episode_steps=EPISODE, log_every=32,
                      checkpoint_every=64)
    policy_dir, _ = train(cfg)
    return run, policy_dir


def test_a_saved_policy_reloads_and_evaluates_the_same_to_the_bit(trained):
    _, policy_dir = trained
    results = [evaluate(bundle.LoadedPolicy(policy_dir), num_envs=2, backend="sync",
                        max_steps=40, record_actions=True) for _ in range(2)]
    a, b = results
    assert a.actions.shape == (40, 2, 4)
    np.testing.assert_array_equal(a.actions, b.actions)
    assert a.seed == b.seed == 5 + bundle.HELD_OUT_SEED_OFFSET  # worlds training never saw
    meta = bundle.read_meta(policy_dir)
    assert (meta.task, meta.algo, meta.num_envs, meta.env_steps) == ("ingenuity", "ppo", 2, 128)
    other = evaluate(bundle.LoadedPolicy(policy_dir), num_envs=2, seed=77, backend="sync",
                     max_steps=40, record_actions=True)
    assert not np.array_equal(other.actions, a.actions)  # other worlds, other observations


def test_train_writes_log_curve_checkpoints_and_resumes(trained):
    run, policy_dir = trained
    rows = list(csv.DictReader((run / "progress.csv").open()))
    assert [int(r["env_steps"]) for r in rows] == [32, 64, 96, 128]
    assert float(rows[-1]["episodes"]) >= 2 * (64 // EPISODE)
    assert 0.0 <= float(rows[-1]["success_rate"]) <= 1.0
    assert (run / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    latest = (run / "checkpoints" / "latest").read_text().strip()
    assert latest == "step_0000000128" and (run / "checkpoints" / latest / "model.zip").is_file()
    with pytest.raises(RunDirError, match="--resume"):
        train(TrainConfig(task="ingenuity", num_envs=2, steps=128, run_dir=str(run)))
    cfg = TrainConfig(task="ingenuity", num_envs=2, steps=256, seed=5, run_dir=str(run),
                      resume=True, backend="sync", eval_envs=0, max_episode_steps=EPISODE,
                      log_every=32, checkpoint_every=64)
    train(cfg)
    rows = list(csv.DictReader((run / "progress.csv").open()))
    assert [int(r["env_steps"]) for r in rows] == [32 * k for k in range(1, 9)]  # one rollout more
    walls = [float(r["wall_s"]) for r in rows]
    assert walls == sorted(walls)  # wall time goes on from the first run's
    assert bundle.read_meta(policy_dir).env_steps == 256
    with pytest.raises(RunDirError, match="ingenuity ppo with 2 envs"):
        train(TrainConfig(task="ingenuity", num_envs=3, steps=256, run_dir=str(run),
                          resume=True))


def test_episodes_report_which_stages_of_an_arm_task_they_reached():
    """The adapter turns info["stage/<name>"] into 0/1 per episode (training's stage rates):
    a peg held closed from the start reached "grasp", never "inserted"; opened, it drops."""
    env = SpaceRosSB3VecEnv(make_native("peg_in_hole", 2, 0, "sync", max_episode_steps=10))
    env.reset()
    action = np.zeros((2, 7), np.float32)
    action[:, 6] = [1.0, -1.0]  # env 0 keeps the gripper closed, env 1 opens it
    for _ in range(10):
        env.step_async(action)
        _, _, dones, infos = env.step_wait()
    env.close()
    assert dones.all()
    held, dropped = infos[0]["episode"], infos[1]["episode"]
    assert {k for k in held if k.startswith("stage/")} == {"stage/grasp", "stage/aligned",
                                                          "stage/inserted"}
    assert held["stage/grasp"] == 1.0 and held["stage/inserted"] == 0.0
    assert dropped["stage/inserted"] == 0.0


def test_the_evaluation_reports_each_stage_rate_in_its_line():
    from spaceros_procgen_envs.rl.evaluate import EvalResult

    result = EvalResult("peg_in_hole", 2, 5, np.array([1.0, 3.0]), np.array([True, False]), 10,
                        1.0, stages={"grasp": np.array([True, True]),
                                     "inserted": np.array([True, False])})
    assert result.stage_rates == {"grasp": 1.0, "inserted": 0.5}
    assert "success 0.50, reached: grasp 1.00, inserted 0.50, mean return +2.00" in result.summary()


def test_a_wall_budget_stops_training_early_and_still_saves(tmp_path):
    """--minutes: a budget shorter than one rollout ends training after it, policy saved."""
    cfg = TrainConfig(task="ingenuity", num_envs=2, steps=100_000, seed=5,
                      run_dir=str(tmp_path / "run"), backend="sync", eval_envs=0,
                      max_episode_steps=EPISODE, log_every=32, minutes=1e-6)
    policy_dir, _ = train(cfg)
    meta = bundle.read_meta(policy_dir)
    assert 0 < meta.env_steps < 100_000
    assert (policy_dir / "model.zip").is_file()


def test_the_flat_layout_is_the_native_batch_buffer_and_round_trips():
    vec = make_native("perseverance", 2, 0, "sync")
    obs, _ = vec.reset(seed=0)
    layout = FlatLayout.of(vec.single_observation_space)
    flat = layout.flatten(obs)
    vec.close()
    assert layout.keys == tuple(vec.single_observation_space)  # the Dict space's order
    np.testing.assert_array_equal(flat, vec.backend.out.obs_flat)  # the batch's own block
    back = layout.unflatten(flat)
    assert list(back) == list(obs) and all(np.array_equal(back[k], obs[k]) for k in obs)
    assert FlatLayout.from_json(layout.to_json()) == layout
    one = layout.flatten({k: v[1] for k, v in obs.items()})  # one env's observation
    np.testing.assert_array_equal(one, flat[1])
    with pytest.raises(KeyError, match="base_quat"):
        layout.flatten({k: v for k, v in obs.items() if k != "base_quat"})
    images = gym.spaces.Dict({"rgb": gym.spaces.Box(0, 255, (4, 4, 3), np.uint8),
                              "pos": gym.spaces.Box(-1, 1, (3,), np.float32)})
    assert FlatLayout.of(images) is None  # camera images keep the Dict


def test_flat_and_dict_training_see_the_same_steps_episodes_and_normaliser_statistics():
    """VecNormalize's statistics are per element: the flat Box gets, element for element, the
    Dict's means, variances and normalised observations; rewards and episodes are the same."""
    envs = [VecNormalize(SpaceRosSB3VecEnv(make_native("perseverance", 3, 1, "sync",
                                                       max_episode_steps=7), flat=flat))
            for flat in (True, False)]
    flat_env, dict_env = envs
    layout = flat_env.venv.layout
    flat_obs, dict_obs = flat_env.reset(), dict_env.reset()
    actions = np.random.default_rng(0).uniform(-1, 1, (20, 3, 2)).astype(np.float32)
    ended = 0
    for action in actions:
        np.testing.assert_array_equal(flat_obs, layout.flatten(dict_obs))
        flat_obs, flat_r, flat_done, flat_infos = flat_env.step(action)
        dict_obs, dict_r, dict_done, dict_infos = dict_env.step(action)
        np.testing.assert_array_equal(flat_r, dict_r)
        np.testing.assert_array_equal(flat_done, dict_done)
        ended += int(flat_done.sum())
        for a, b in zip(flat_infos, dict_infos):
            assert a.get("episode", {}).keys() == b.get("episode", {}).keys()
            if "episode" in a:
                assert {k: v for k, v in a["episode"].items() if k != "t"} == \
                    {k: v for k, v in b["episode"].items() if k != "t"}
                np.testing.assert_array_equal(a["terminal_observation"],
                                              layout.flatten(b["terminal_observation"]))
    assert ended == 2 * 3  # every env's episode ended at steps 7 and 14
    for stat in ("mean", "var"):
        per_key = [getattr(dict_env.obs_rms[k], stat).ravel() for k in layout.keys]  # float64
        np.testing.assert_array_equal(getattr(flat_env.obs_rms, stat), np.concatenate(per_key))
    for env in envs:
        env.close()


def test_a_flat_policy_acts_the_same_on_the_dict_and_on_the_flat_vector(trained):
    _, policy_dir = trained
    policy = bundle.LoadedPolicy(policy_dir)
    vec = make_native("ingenuity", 2, 5, "sync", autoreset_mode="NextStep")
    obs = start_batch(vec, 5)
    layout = FlatLayout.of(vec.single_observation_space)
    vec.close()
    assert isinstance(policy.model.observation_space, gym.spaces.Box)
    assert bundle.read_meta(policy_dir).observation_layout == layout.to_json()
    assert list(policy.observation_space) == list(layout.keys)  # what agent_policy.py checks
    actions = policy.act(obs)
    assert actions.shape == (2, 4) and np.abs(actions).max() > 0
    np.testing.assert_array_equal(actions, policy.act(layout.flatten(obs)))
    shuffled = dict(reversed(list(obs.items())))  # a Dict in another key order: same actions
    np.testing.assert_array_equal(actions, policy.act(shuffled))


def test_a_policy_saved_with_dict_observations_still_loads_and_acts(tmp_path):
    """Policies saved before flat observations (a Dict model, no layout in policy.json)."""
    import json

    env = VecNormalize(SpaceRosSB3VecEnv(make_native("ingenuity", 2, 0, "sync",
                                                     max_episode_steps=EPISODE), flat=False))
    model = PPO("MultiInputPolicy", env, n_steps=16, batch_size=32, n_epochs=1, seed=0,
                device="cpu", policy_kwargs={"net_arch": [16, 16]})
    model.learn(32)
    meta = bundle.PolicyMeta(task="ingenuity", algo="ppo", domain=None, train_seed=0,
                             num_envs=2, env_steps=32, observation_keys=list(env.observation_space),
                             action_dim=4)
    folder = bundle.save(tmp_path / "old", model, env, meta)
    env.close()
    data = json.loads((folder / bundle.META).read_text())
    del data["observation_layout"]  # as the older version wrote it
    (folder / bundle.META).write_text(json.dumps(data))
    policy = bundle.LoadedPolicy(folder)
    assert isinstance(policy.model.observation_space, gym.spaces.Dict) and policy.layout is None
    result = evaluate(policy, num_envs=2, backend="sync", max_steps=5, record_actions=True)
    assert result.actions.shape == (5, 2, 4)


def test_the_learning_curve_redraws_only_when_the_log_grew(tmp_path):
    from spaceros_procgen_envs.rl.curves import CsvLog, LearningCurve

    pytest.importorskip("matplotlib")
    log = CsvLog(tmp_path / "progress.csv", ["stage/grasp"])
    curve = LearningCurve(tmp_path / "curve.png", "peg_in_hole PPO")

    def grow(k):
        log.append({"env_steps": 100 * k, "wall_s": 1.0 * k, "episodes": k,
                    "mean_return": float(k), "success_rate": k / 10, "stage/grasp": k / 5})

    grow(1)
    png = curve.update(log.path)
    first = png.read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n" and len(first) > 20_000  # a picture, not a stub
    png.unlink()
    curve.update(log.path)  # nothing new, but the picture was gone: drawn again
    assert png.read_bytes() == first
    stamp = png.stat().st_mtime_ns
    curve.update(log.path)
    assert png.stat().st_mtime_ns == stamp  # the log did not grow: not redrawn
    for k in range(2, 6):
        grow(k)
    curve.update(log.path)
    assert png.read_bytes() != first
    lines = [line for ax in curve.fig.axes for line in ax.get_lines()]
    assert max(len(line.get_xdata()) for line in lines) == 5  # every row drawn
    curve.close()


def test_ppo_on_flat_observations_learns_the_dict_policys_weights_to_the_bit():
    """MlpPolicy on the flat Box and MultiInputPolicy on the Dict get the same input vector,
    the same initial weights and the same normalised batches: the same training."""
    learned = []
    for flat in (True, False):
        env = VecNormalize(SpaceRosSB3VecEnv(make_native("perseverance", 4, 0, "sync",
                                                         max_episode_steps=EPISODE), flat=flat))
        model = PPO("MlpPolicy" if flat else "MultiInputPolicy", env, n_steps=32, batch_size=64,
                    n_epochs=2, seed=0, device="cpu", policy_kwargs={"net_arch": [32, 32]})
        model.learn(256)
        env.close()
        learned.append(weights(model))
    np.testing.assert_array_equal(*learned)
