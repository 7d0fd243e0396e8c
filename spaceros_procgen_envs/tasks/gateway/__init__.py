"""Handle a procedural payload with a long arm on an orbital station."""

from ...registry import TaskSpec, register_task
from ...sim.robots.arm import Arm
from .._plans import debris, ground

SPEC = register_task(TaskSpec(
    name="gateway",
    robot="long 7-DOF arm on a station module",
    robot_class=Arm,
    default_domain="orbit",
    description="Reach and grasp a free-floating procedural payload with the station arm.",
    asset_plan=lambda d: {**ground(d, 20.0), **debris("truss")},
    time_limit_s=20.0,
))
