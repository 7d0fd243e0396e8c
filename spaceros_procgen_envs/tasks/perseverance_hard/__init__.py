"""Drive the rover to a waypoint hidden behind a boulder, over rough ground."""

from ...registry import TaskSpec, register_task
from ...sim.robots.rover import Rover
from .._plans import GROUND_DOMAINS, LARGE_BOULDER, boulders, ground

SPEC = register_task(TaskSpec(
    name="perseverance_hard",
    robot="6-wheel rocker-bogie rover, 4 steered corner wheels",
    robot_class=Rover,
    default_domain="mars",
    description="Perseverance, hard: rough ground, 14 large boulders, the waypoint 8-13 m "
                "away behind one of them (the straight line is blocked).",
    asset_plan=lambda d: {**ground(d, 30.0, rough=True), **boulders(d, 14, LARGE_BOULDER)},
    domains=GROUND_DOMAINS,
    time_limit_s=40.0,
))
