"""The robot class is the one source of robot facts: the registry, the Twist mapping and the
keyboard read them from it, and what it declares is consistent with the robot it builds."""

from __future__ import annotations

import pytest

from spaceros_procgen_envs.registry import all_tasks
from spaceros_procgen_envs.sim.robots.base import TWIST_AXES

TASKS = sorted(all_tasks())


def made_robot(spec):
    """The robot the task class builds (from config alone, no world)."""
    cls = spec.task_class()
    return cls.make_robot(cls.__new__(cls))


@pytest.mark.parametrize("task", TASKS)
def test_task_spec_takes_its_robot_facts_from_the_robot_class(task):
    spec = all_tasks()[task]
    robot = made_robot(spec)
    assert isinstance(robot, spec.robot_class)
    assert spec.robot_kind == robot.kind == spec.robot_class.kind
    assert spec.action_names == tuple(robot.action_names)


@pytest.mark.parametrize("task", TASKS)
def test_twist_axes_and_keys_name_real_actions_components_and_cfg_fields(task):
    spec = all_tasks()[task]
    robot = made_robot(spec)
    axes = robot.twist_axes
    assert {a.action for a in axes} <= set(robot.action_names)
    assert len({a.action for a in axes}) == len({a.twist for a in axes}) == len(axes)
    assert all(a.twist in TWIST_AXES and getattr(robot.cfg, a.max_speed) > 0 for a in axes)
    assert robot.gripper_action is None or robot.gripper_action in robot.action_names
    assert robot.gripper_action not in {a.action for a in axes}
    # every key pair drives a component the twist maps; no key does two things
    assert {b.twist for b in robot.key_bindings} == {a.twist for a in axes}
    keys = [k for b in robot.key_bindings for k in (b.plus, b.minus)]
    keys += [robot.gripper_key] if robot.gripper_key else []
    assert len(keys) == len(set(keys))
    assert (robot.gripper_key is None) == (robot.gripper_action is None)
