"""Pick a procedural rock sample off the ground and put it in the lander's cargo bay."""

from ...registry import TaskSpec, register_task
from ...sim.robots.arm import Arm
from .._plans import boulders, ground, sample_rock

SPEC = register_task(TaskSpec(
    name="sample_collection",
    robot="7-DOF arm + parallel gripper on a lander with a cargo bay",
    robot_class=Arm,
    default_domain="moon",
    # 20 s: a scripted policy at the arm's top speed needs 8.5 s to reach, grasp, lift, carry
    # and drop the sample; with 10 s a learning policy had no time to finish
    time_limit_s=20.0,
    description="Grasp a procedural rock sample and place it in the cargo bay.",
    asset_plan=lambda d: {**ground(d, 12.0), **sample_rock(d), **boulders(d, 4)},
))
