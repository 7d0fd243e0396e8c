"""A team of rovers on one procedural terrain, each driving to its own waypoint (PettingZoo).

Multi-agent: no Gymnasium id; ``spaceros_procgen_envs.parallel_env("rover_team")``.
"""

from ...registry import TaskSpec, register_task
from ...sim.robots.rover import Rover
from .._plans import GROUND_DOMAINS, boulders, ground

SPEC = register_task(TaskSpec(
    name="rover_team",
    robot="2-4 six-wheel rocker-bogie rovers (one agent each)",
    robot_class=Rover,
    default_domain="mars",
    description="A rover team shares one terrain; each drives to its own waypoint (PettingZoo).",
    asset_plan=lambda d: {**ground(d, 30.0), **boulders(d, 6)},
    domains=GROUND_DOMAINS,
    time_limit_s=30.0,
    multi_agent=True,
))
