"""Behaviour of the coaxial helicopter and its velocity controller, in a flat test world."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from spaceros_procgen_envs.sim.robots.base import TIMESTEP_S
from spaceros_procgen_envs.sim.robots.helicopter import Helicopter, HelicopterCfg
from spaceros_procgen_envs.sim.scene import GROUND, OBJECT, ROBOT

MARS, EARTH, MOON = 3.72076, 9.80665, 1.62496
GRAVITIES = pytest.mark.parametrize("g", [MARS, EARTH, MOON], ids=["mars", "earth", "moon"])
SUBSTEPS = 4  # 50 Hz control at TIMESTEP_S = 0.005 s


class Flight:
    """A helicopter landed on a flat plane at (1, 2, 0), under gravity ``g`` (m/s^2)."""

    def __init__(self, g: float, robots: int = 1):
        spec = mujoco.MjSpec()
        spec.option.timestep = TIMESTEP_S
        spec.option.gravity = (0.0, 0.0, -g)
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
        spec.option.cone = mujoco.mjtCone.mjCONE_PYRAMIDAL
        floor = spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=(50, 50, 0.1))
        floor.contype, floor.conaffinity = GROUND, ROBOT | OBJECT
        self.robots = [Helicopter(prefix=f"robot{k}/" if robots > 1 else "robot/")
                       for k in range(robots)]
        for k, robot in enumerate(self.robots):
            robot.attach(spec, spec.worldbody, pos=(1.0 + 0.1 * k, 2.0, 0.0))
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        for robot in self.robots:
            robot.bind(self.model)
            robot.reset(self.model, self.data, np.random.default_rng(0))
        mujoco.mj_forward(self.model, self.data)
        self.heli = self.robots[0]
        self.z_landed = self.pos()[2]

    def fly(self, action, seconds: float) -> np.ndarray:
        """Hold ``action`` for ``seconds``; returns per-step rows (x, y, z, yaw, tilt_deg)."""
        action = np.asarray(action, np.float32)
        rows = []
        for _ in range(int(round(seconds * 50))):
            self.heli.apply_action(self.model, self.data, action)
            mujoco.mj_step(self.model, self.data, nstep=SUBSTEPS)
            rows.append((*self.pos(), self.yaw(), self.tilt_deg()))
        return np.array(rows)

    def pos(self) -> np.ndarray:
        return self.heli.base_pose(self.model, self.data)[0]

    def yaw(self) -> float:
        w, x, y, z = self.heli.base_pose(self.model, self.data)[1]
        return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))

    def tilt_deg(self) -> float:
        w, x, y, z = self.heli.base_pose(self.model, self.data)[1]
        return math.degrees(math.acos(min(1.0, max(-1.0, 1 - 2 * (x * x + y * y)))))

    def obs(self) -> dict[str, np.ndarray]:
        return self.heli.observe(self.model, self.data)


def hovering(g: float, climb_s: float = 2.0) -> Flight:
    """Take off, climb at 1 m/s for ``climb_s`` and settle into a hover."""
    flight = Flight(g)
    flight.fly([0, 0, 1, 0], climb_s)
    flight.fly([0, 0, 0, 0], 1.5)
    return flight


@GRAVITIES
def test_landed_with_zero_action_stays_on_the_ground(g):
    flight = Flight(g)
    track = flight.fly([0, 0, 0, 0], 3.0)
    assert np.ptp(track[:, 2]) < 2e-3 and abs(track[-1, 2] - flight.z_landed) < 2e-3
    assert track[:, 4].max() < 0.5, "a landed helicopter must not tip"
    assert flight.heli.landed and flight.obs()["thrust"][0] == 0.0


@GRAVITIES
@pytest.mark.parametrize("vz", [1.0, 0.5])
def test_climb_rate_follows_vz(g, vz):
    flight = Flight(g)
    track = flight.fly([0, 0, vz, 0], 3.0)
    rate = (track[-1, 2] - track[49, 2]) / 2.0  # m/s over t = 1..3 s, after the rise
    assert rate == pytest.approx(vz * HelicopterCfg().max_vel_z_mps, rel=0.05)
    assert np.abs(track[:, :2] - (1.0, 2.0)).max() < 0.01, "a vertical climb drifted sideways"


@GRAVITIES
def test_zero_action_holds_altitude_after_climb(g):
    flight = hovering(g)
    assert flight.pos()[2] > flight.z_landed + 1.5
    track = flight.fly([0, 0, 0, 0], 3.0)
    assert np.ptp(track[:, 2]) < 0.05
    assert np.abs(track[:, :2] - track[0, :2]).max() < 0.05
    hover_thrust = flight.heli._mass * g  # thrust compensates the model's own gravity
    assert flight.obs()["thrust"][0] == pytest.approx(hover_thrust, rel=0.01)


@GRAVITIES
def test_positive_yaw_rate_turns_left(g):
    flight = hovering(g)
    yaw0 = flight.yaw()
    track = flight.fly([0, 0, 0, 1], 1.5)
    rates = np.diff(np.unwrap(track[:, 3])) * 50.0
    assert track[-1, 3] - yaw0 > 0.8  # rad, counter-clockwise seen from above
    assert rates[-20:].mean() == pytest.approx(HelicopterCfg().max_yaw_rate_radps, rel=0.05)


@GRAVITIES
@pytest.mark.parametrize("action, local_dir", [([1, 0, 0, 0], (1, 0)), ([0, 1, 0, 0], (0, 1))],
                         ids=["vx_forward", "vy_left"])
def test_horizontal_velocity_is_in_the_heading_frame(g, action, local_dir):
    flight = hovering(g)
    flight.fly([0, 0, 0, 1], 1.2)  # turn ~55 deg left so heading != world axes
    flight.fly([0, 0, 0, 0], 1.0)
    yaw, start = flight.yaw(), flight.pos()
    track = flight.fly(action, 4.0)
    c, s = math.cos(yaw), math.sin(yaw)
    want = np.array([c * local_dir[0] - s * local_dir[1], s * local_dir[0] + c * local_dir[1]])
    moved = track[-1, :2] - start[:2]
    speed = (track[-1, :2] - track[-51, :2]) @ want  # m/s over the last second
    assert speed == pytest.approx(HelicopterCfg().max_vel_xy_mps, rel=0.1)
    assert abs(moved @ np.array([-want[1], want[0]])) < 0.1, "flew off the commanded direction"
    assert abs(track[-1, 2] - start[2]) < 0.1


@GRAVITIES
def test_descent_lands_and_rests_without_bouncing(g):
    flight = hovering(g)
    track = flight.fly([0, 0, -1, 0], 5.0)
    touch = int(np.argmax(track[:, 2] < flight.z_landed + 0.01))
    assert touch > 0, "never reached the ground"
    assert track[touch:, 2].max() < flight.z_landed + 0.01, "bounced off the ground"
    rest = flight.fly([0, 0, 0, 0], 2.0)
    assert flight.heli.landed
    assert np.abs(rest[:, 2] - flight.z_landed).max() < 3e-3
    assert rest[:, 4].max() < 1.0
    assert np.abs(flight.data.qvel[:6]).max() < 1e-3


@GRAVITIES
def test_saturating_commands_keep_attitude_and_finite_state(g):
    flight = Flight(g)
    rng = np.random.default_rng(3)
    flight.fly([0, 0, 1, 0], 2.0)
    tilts = []
    for _ in range(16):  # bang-bang commands, 0.5 s each
        action = rng.choice([-1.0, 1.0], size=4)
        action[2] = max(action[2], 0.0)  # never into the ground
        tilts.append(flight.fly(action, 0.5)[:, 4].max())
    assert np.isfinite(flight.data.qpos).all() and np.isfinite(flight.data.qvel).all()
    assert max(tilts) < 30.0
    assert all(np.isfinite(v).all() for v in flight.obs().values())


def test_same_actions_give_bit_identical_states():
    actions = np.random.default_rng(7).uniform(-1, 1, (300, 4)).astype(np.float32)
    actions[:50, 2] = 1.0  # take off first
    runs = []
    for _ in range(2):
        flight = Flight(MARS)
        for action in actions:
            flight.fly(action, 0.02)
        runs.append(flight.data.qpos.copy())
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], Flight(MARS).data.qpos), "the helicopter never moved"


def test_observation_matches_its_space():
    flight = hovering(MARS, climb_s=1.0)
    obs, space = flight.obs(), flight.heli.observation_space()
    assert set(obs) == set(space) == {"base_pos", "base_quat", "base_lin_vel", "base_ang_vel",
                                      "thrust"}
    for key, value in obs.items():
        assert value.dtype == np.float32 and space[key].contains(value), key
    np.testing.assert_allclose(obs["base_pos"], flight.pos(), atol=1e-6)


def test_names_sites_and_self_collision():
    flight = Flight(MARS, robots=2)  # two overlapping helicopters must not collide
    model = flight.model
    for obj, count in (("body", "nbody"), ("geom", "ngeom"), ("site", "nsite"),
                       ("actuator", "nu"), ("joint", "njnt")):
        for k in range(getattr(model, count)):
            name = getattr(model, obj)(k).name
            assert name in ("", "world") or name.startswith(("robot0/", "robot1/")), name
    flight.fly([0, 0, 0, 0], 0.5)
    assert flight.data.ncon == 8, "expected 2 x 4 feet on the floor and nothing else"
    down = flight.data.site("robot0/camera_mount_bottom").xmat.reshape(3, 3)
    front = flight.data.site("robot0/camera_mount_front").xmat.reshape(3, 3)
    np.testing.assert_allclose(-down[:, 2], (0, 0, -1), atol=1e-6)  # cameras look along -z
    np.testing.assert_allclose(-front[:, 2], (1, 0, 0), atol=1e-6)
    np.testing.assert_allclose(front[:, 1], (0, 0, 1), atol=1e-6)  # image up = world up
    assert flight.heli.joint_names == ("robot0/rotor_lower", "robot0/rotor_upper")
    assert [len(x) for x in flight.heli.joint_state(model, flight.data)] == [2, 2, 2]


def test_asteroid_gravity_hovers_upright_and_lands_softly():
    """At 0.14 m/s^2 the tilt needed per m/s of velocity error is ~25x Mars': tilt-rate feedback
    through the velocity must not destabilise it, and a touchdown must not bounce."""
    flight = Flight(0.14219)
    flight.fly([0, 0, 1, 0], 0.3)
    hover = flight.fly([0, 0, 0, 0], 8.0)
    assert hover[:, 4].max() < 2.0
    assert np.abs(hover[:, :2] - (1.0, 2.0)).max() < 0.02
    descent = flight.fly([0, 0, -1, 0], 20.0)
    touch = int(np.argmax(descent[:, 2] < flight.z_landed + 0.01))
    assert touch > 0 and descent[touch:, 2].max() < flight.z_landed + 0.01
    assert flight.heli.landed and descent[:, 4].max() < 2.0
