"""Drive a rocker-bogie rover across procedural terrain."""

from ...registry import TaskSpec, register_task
from ...sim.robots.rover import Rover
from .._plans import GROUND_DOMAINS, boulders, ground

SPEC = register_task(TaskSpec(
    name="perseverance",
    robot="6-wheel rocker-bogie rover, 4 steered corner wheels",
    robot_class=Rover,
    default_domain="mars",
    description="Drive a rover over procedural terrain among rocks (Ackermann steering).",
    asset_plan=lambda d: {**ground(d, 30.0), **boulders(d, 6)},
    domains=GROUND_DOMAINS,
    time_limit_s=30.0,
))
