"""Insert a procedural peg into its matching hole."""

from ...registry import TaskSpec, register_task
from ...sim.robots.arm import Arm
from .._plans import ground, peg_and_hole

SPEC = register_task(TaskSpec(
    name="peg_in_hole",
    robot="7-DOF arm + parallel gripper on a lander",
    robot_class=Arm,
    default_domain="moon",
    description="Align a procedural peg with its hole and insert it.",
    asset_plan=lambda d: {**ground(d, 12.0), **peg_and_hole()},
))
