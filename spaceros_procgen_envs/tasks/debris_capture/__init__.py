"""Catch a tumbling procedural debris fragment with an arm on a spacecraft."""

from ...registry import TaskSpec, register_task
from ...sim.robots.arm import Arm
from .._plans import debris, ground

SPEC = register_task(TaskSpec(
    name="debris_capture",
    robot="7-DOF arm + parallel gripper on a spacecraft",
    robot_class=Arm,
    default_domain="orbit",
    description="Grasp a tumbling debris fragment and damp its motion.",
    asset_plan=lambda d: {**ground(d, 12.0), **debris()},
))
