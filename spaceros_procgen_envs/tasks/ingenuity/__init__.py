"""Fly a coaxial helicopter over procedural terrain."""

from ...registry import TaskSpec, register_task
from ...sim.robots.helicopter import Helicopter
from .._plans import GROUND_DOMAINS, boulders, ground

SPEC = register_task(TaskSpec(
    name="ingenuity",
    robot="coaxial helicopter",
    robot_class=Helicopter,
    default_domain="mars",
    description="Fly a coaxial helicopter with velocity commands over procedural terrain.",
    asset_plan=lambda d: {**ground(d, 30.0), **boulders(d, 4)},
    domains=GROUND_DOMAINS,
    time_limit_s=30.0,
))
