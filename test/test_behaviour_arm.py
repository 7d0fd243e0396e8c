"""Scripted policies through the Gymnasium API prove the arm tasks' physics and rewards."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import spaceros_procgen_envs  # noqa: F401  (registers the ids)

LIN_SPEED_MPS = 0.25  # ArmCfg.max_lin_speed_mps: action 1.0 == 0.25 m/s


def make(task: str, **kwargs):
    env = gym.make(f"spaceros/{task}", **kwargs).unwrapped
    return env


def move_towards(target_rel: np.ndarray, gripper: float, gain: float = 8.0) -> np.ndarray:
    """A P-controller on the TCP position: action from the TCP-to-target vector (m)."""
    action = np.zeros(7, np.float32)
    action[:3] = np.clip(gain * target_rel, -1, 1)
    action[6] = gripper
    return action


class Script:
    """Runs phases of a scripted policy and sums every reward term it earns."""

    def __init__(self, env, seed: int = 0):
        self.env = env
        self.obs, _ = env.reset(seed=seed)
        self.earned: dict[str, float] = {}
        self.success = False

    def run(self, steps: int, policy) -> None:
        for _ in range(steps):
            self.obs, _, terminated, _, info = self.env.step(policy(self.obs))
            for key, value in info.items():
                if key.startswith("reward/"):
                    self.earned[key] = self.earned.get(key, 0.0) + value
            self.success |= terminated


def test_end_effector_follows_a_plus_x_twist():
    env = make("sample_collection")
    obs, _ = env.reset(seed=0)
    start = obs["ee_pos"].copy()
    for _ in range(25):  # 0.5 s at half speed
        obs, *_ = env.step(np.array([0.5, 0, 0, 0, 0, 0, -1], np.float32))
    moved = obs["ee_pos"] - start
    assert moved[0] == pytest.approx(0.5 * LIN_SPEED_MPS * 0.5, rel=0.25)
    assert abs(moved[1]) < 0.01 and abs(moved[2]) < 0.01


@pytest.mark.parametrize("seed", [0, 1])
def test_scripted_grasp_lifts_the_rock_and_earns_grasp_and_lift(seed):
    script = Script(make("sample_collection", seed=42 + seed), seed=seed)
    above = lambda o: o["object_rel"] + np.float32([0, 0, 0.08])  # noqa: E731
    script.run(150, lambda o: move_towards(above(o), -1))
    script.run(80, lambda o: move_towards(o["object_rel"] + np.float32([0, 0, 0.005]), -1))
    script.run(30, lambda o: move_towards(np.zeros(3), 1))
    lift_start = script.obs["object_pos"][2]
    script.run(50, lambda o: move_towards(np.float32([0, 0, 0.2]), 1))
    assert script.obs["object_pos"][2] - lift_start > 0.08, "the rock did not rise with the gripper"
    assert script.obs["grasped"][0] == 1.0
    assert script.earned["reward/grasp"] > 0 and script.earned["reward/lift"] > 0
