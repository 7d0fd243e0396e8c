"""Fly the helicopter low among boulders to a waypoint hidden behind one, over rough ground."""

from ...registry import TaskSpec, register_task
from ...sim.robots.helicopter import Helicopter
from .._plans import GROUND_DOMAINS, LARGE_BOULDER, boulders, ground

SPEC = register_task(TaskSpec(
    name="ingenuity_hard",
    robot="coaxial helicopter",
    robot_class=Helicopter,
    default_domain="mars",
    description="Ingenuity, hard: rough ground, 14 large boulders, a low waypoint (0.5-1.2 m "
                "up) 6-12 m away behind one of them; touching anything off the pad is penalised.",
    asset_plan=lambda d: {**ground(d, 30.0, rough=True), **boulders(d, 14, LARGE_BOULDER)},
    domains=GROUND_DOMAINS,
    time_limit_s=30.0,
))
