"""Autoreset modes of the native batch against Gymnasium's own ``SyncVectorEnv``.

Both run the same worlds (env i from world seed ``seed + i``), the same episode seeds and the
same actions; every observation, reward, flag and info entry (values where masked, and the
masks) must be identical, including ``final_obs`` / ``final_info`` in SAME_STEP.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv

import spaceros_procgen_envs  # noqa: F401  (registers the ids)

TASK, NUM_ENVS, SEED, LIMIT = "perseverance", 3, 11, 5
OURS_ONLY = {"worker_restarted", "_worker_restarted"}  # Ray's restart flag (no Gymnasium twin)


def native(mode, backend: str = "sync", **kwargs):
    return gym.make_vec(f"spaceros/{TASK}", num_envs=NUM_ENVS,
                        vectorization_mode="vector_entry_point", backend=backend, seed=SEED,
                        max_episode_steps=LIMIT, autoreset_mode=mode, **kwargs)


def reference(mode: AutoresetMode) -> SyncVectorEnv:
    return SyncVectorEnv([lambda i=i: gym.make(f"spaceros/{TASK}", seed=SEED + i,
                                               max_episode_steps=LIMIT)
                          for i in range(NUM_ENVS)], autoreset_mode=mode)


def assert_same_obs(ours: dict, theirs: dict) -> None:
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)


def assert_same_info(ours: dict, theirs: dict, where: str = "info") -> None:
    """Gymnasium leaves out a key no env reported; ours keeps it with an all-False mask."""
    assert set(theirs) <= set(ours), f"{where}: missing {set(theirs) - set(ours)}"
    for key in (k for k in ours if k.startswith("_") and k not in OURS_ONLY):
        mask = theirs.get(key, np.zeros(NUM_ENVS, bool))
        np.testing.assert_array_equal(ours[key], mask, err_msg=f"{where}[{key!r}]")
        value = ours[key[1:]]
        if key == "_final_obs":
            for i in np.flatnonzero(mask):
                assert_same_obs(value[i], theirs["final_obs"][i])
            assert all(value[i] is None for i in np.flatnonzero(~mask))
        elif key == "_final_info":
            if mask.any():
                assert_same_info(value, theirs["final_info"], "final_info")
        elif mask.any():
            np.testing.assert_array_equal(value[mask], theirs[key[1:]][mask],
                                          err_msg=f"{where}[{key[1:]!r}]")
            assert value.dtype.kind == theirs[key[1:]].dtype.kind, key


def run_both(mode: AutoresetMode, ours, steps: int = 17, early_reset: int | None = 2) -> int:
    """Step both batches with the same random actions; returns how many episodes ended.

    ``early_reset``: at that step reset env 1 alone (so episodes end at different steps);
    in DISABLED mode ended envs are reset through ``reset_mask`` after every step."""
    theirs, rng, ended = reference(mode), np.random.default_rng(0), 0
    try:
        obs_a, info_a = ours.reset(seed=4)
        obs_b, info_b = theirs.reset(seed=4)
        assert_same_obs(obs_a, obs_b), assert_same_info(info_a, info_b)
        for t in range(steps):
            actions = rng.uniform(-1, 1, (NUM_ENVS, 2)).astype(np.float32)
            *out_a, info_a = ours.step(actions)
            *out_b, info_b = theirs.step(actions)
            assert_same_obs(out_a[0], out_b[0])
            for a, b in zip(out_a[1:], out_b[1:]):
                np.testing.assert_array_equal(a, b, err_msg=f"step {t}")
            assert_same_info(info_a, info_b)
            done = out_a[2] | out_a[3]
            ended += int(done.sum())
            mask = done if mode is AutoresetMode.DISABLED else None
            if t == early_reset:
                mask = np.eye(NUM_ENVS, dtype=bool)[1] | (done if mask is not None else False)
            if mask is not None and mask.any():
                obs_a, info_a = ours.reset(options={"reset_mask": mask.copy()})
                obs_b, info_b = theirs.reset(options={"reset_mask": mask.copy()})
                assert_same_obs(obs_a, obs_b), assert_same_info(info_a, info_b)
    finally:
        ours.close(), theirs.close()
    return ended


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_every_autoreset_mode_matches_gymnasium_sync_vector_env(mode):
    ended = run_both(mode, native(mode))
    assert ended >= 2 * NUM_ENVS  # every env restarted at least twice, at staggered steps


def test_same_step_on_the_process_backend_matches_gymnasium():
    assert run_both(AutoresetMode.SAME_STEP, native("same_step", "process", workers=2)) > 0


def test_mode_is_an_attribute_and_in_metadata_as_sync_vector_env_has_it():
    for given, mode in [("SameStep", AutoresetMode.SAME_STEP), ("disabled", AutoresetMode.DISABLED),
                        (AutoresetMode.NEXT_STEP, AutoresetMode.NEXT_STEP)]:
        env = native(given)
        assert env.autoreset_mode is mode and env.metadata["autoreset_mode"] is mode
        env.close()
    env = gym.make_vec(f"spaceros/{TASK}", num_envs=1, vectorization_mode="vector_entry_point")
    assert env.autoreset_mode is AutoresetMode.NEXT_STEP  # the default
    assert type(env).metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP  # class level intact
    env.close()


def test_disabled_refuses_to_step_an_env_that_was_not_reset():
    env = native("disabled")
    env.reset(seed=0)
    zeros = np.zeros((NUM_ENVS, 2), np.float32)
    for _ in range(LIMIT):
        env.step(zeros)
    with pytest.raises(ValueError, match=r"envs \[0, 1, 2\] ended.*reset_mask"):
        env.step(zeros)
    env.reset(options={"reset_mask": np.ones(NUM_ENVS, bool)})
    env.step(zeros)  # stepping again after the reset
    with pytest.raises(ValueError, match=r"\(3,\) bool array"):
        env.reset(options={"reset_mask": np.ones(2, bool)})
    env.close()


def test_unknown_mode_and_unknown_keyword_name_the_accepted_ones():
    with pytest.raises(ValueError, match="NextStep, SameStep, Disabled.*Did you mean 'SameStep'"):
        native("SameStp")
    with pytest.raises(TypeError) as err:
        gym.make_vec(f"spaceros/{TASK}", num_envs=1, vectorization_mode="vector_entry_point",
                     autoreset=AutoresetMode.SAME_STEP)
    message = str(err.value)
    assert "\n" not in message and "'autoreset'" in message
    assert "Did you mean 'autoreset_mode'" in message and "backend" in message
