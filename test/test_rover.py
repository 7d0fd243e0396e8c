"""Behaviour of the rocker-bogie rover in small worlds built here (plane or heightfield bump)."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from spaceros_procgen_envs.sim.robots.base import CONTROL_HZ, TIMESTEP_S
from spaceros_procgen_envs.sim.robots.rover import Rover, RoverCfg, ackermann

MARS, ASTEROID, EARTH = 3.72076, 0.14219, 9.80665
SUBSTEPS = round(1.0 / (CONTROL_HZ * TIMESTEP_S))


class World:
    """One rover on flat ground (or a heightfield), scene options as the package uses."""

    def __init__(self, gravity=MARS, heights=None, size_m=16.0, rovers=("robot/",)):
        spec = mujoco.MjSpec()
        spec.option.timestep = TIMESTEP_S
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
        spec.option.cone = mujoco.mjtCone.mjCONE_PYRAMIDAL
        spec.option.iterations, spec.option.ls_iterations = 30, 10
        spec.option.gravity = (0.0, 0.0, -gravity)
        if heights is None:
            ground = spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=(20, 20, 0.1))
        else:
            ground = self._hfield(spec, heights, size_m)
        ground.contype, ground.conaffinity = 1, 2 | 4          # GROUND vs ROBOT | OBJECT
        self.rovers = [Rover(RoverCfg(), prefix=p) for p in rovers]
        for k, rover in enumerate(self.rovers):
            rover.attach(spec, spec.worldbody, pos=(-4.0, 4.0 * k, 0.0))
        self.spec, self.model = spec, spec.compile()
        self.data = mujoco.MjData(self.model)
        for rover in self.rovers:
            rover.bind(self.model)
            rover.reset(self.model, self.data, np.random.default_rng(0))
        self.rover = self.rovers[0]

    @staticmethod
    def _hfield(spec, heights, size_m):
        top = float(heights.max())
        hf = spec.add_hfield(name="terrain")
        hf.nrow, hf.ncol = heights.shape
        hf.size = (size_m / 2, size_m / 2, top, 0.5)
        hf.userdata = (heights / top).ravel().tolist()
        return spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_HFIELD, hfieldname="terrain")

    def run(self, action, seconds, rover=None):
        rover = rover or self.rover
        for _ in range(round(seconds * CONTROL_HZ)):
            rover.apply_action(self.model, self.data, np.asarray(action, float))
            mujoco.mj_step(self.model, self.data, nstep=SUBSTEPS)
        return rover.observe(self.model, self.data)

    def pose(self, rover=None):
        pos, quat = (rover or self.rover).base_pose(self.model, self.data)
        return pos, yaw(quat)


def yaw(q):
    return math.atan2(2 * (q[0] * q[3] + q[1] * q[2]), 1 - 2 * (q[2] ** 2 + q[3] ** 2))


def up_z(q):
    """z of the chassis' up axis in the world (1 upright, < 0 flipped)."""
    return 1 - 2 * (q[1] ** 2 + q[2] ** 2)


@pytest.fixture
def settled():
    world = World()
    world.run((0, 0), 1.0)
    return world


def test_model_is_perseverance_sized_and_prefixed():
    world = World(rovers=("robot/", "robot1/"))
    m = world.model
    assert m.body_subtreemass[m.body("robot/chassis").id] == pytest.approx(1025.0)
    assert m.nu == 20 and m.neq == 2
    for obj, count in ((mujoco.mjtObj.mjOBJ_BODY, m.nbody), (mujoco.mjtObj.mjOBJ_JOINT, m.njnt),
                       (mujoco.mjtObj.mjOBJ_ACTUATOR, m.nu), (mujoco.mjtObj.mjOBJ_SITE, m.nsite)):
        names = [mujoco.mj_id2name(m, obj, i) for i in range(count)]
        assert all(n.startswith(("robot/", "robot1/")) for n in names if n and n != "world")
    assert m.site("robot/camera_mount").id >= 0 and m.site("robot/camera_front").id >= 0
    wheel = m.geom("robot/wheel_fl_collision")
    assert wheel.size[0] == pytest.approx(RoverCfg().wheel_radius_m)


def test_robot_parts_never_collide_with_each_other():
    m = World().model
    colliding = [i for i in range(m.ngeom) if m.geom_contype[i] or m.geom_conaffinity[i]]
    robot = [i for i in colliding if m.geom_bodyid[i] != 0]
    assert {m.geom(i).name for i in robot} == {"robot/chassis"} | {
        f"robot/wheel_{w}_collision" for w in ("fl", "fr", "ml", "mr", "rl", "rr")}
    for i in robot:
        for j in robot:
            assert not (m.geom_contype[i] & m.geom_conaffinity[j])


def test_settled_rover_sits_on_its_wheels_and_zero_action_holds_still(settled):
    pos0, yaw0 = settled.pose()
    assert pos0[2] == pytest.approx(RoverCfg().chassis_height_m, abs=0.01)
    settled.run((0, 0), 2.0)
    pos1, yaw1 = settled.pose()
    assert np.linalg.norm(pos1 - pos0) < 0.01
    assert abs(yaw1 - yaw0) < 1e-3


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_lin_vel_drives_along_the_heading(settled, sign):
    pos0, _ = settled.pose()
    settled.run((sign * 0.5, 0.0), 3.0)                 # 0.5 * 1 m/s for 3 s = 1.5 m
    pos1, yaw1 = settled.pose()
    dx, dy = pos1[:2] - pos0[:2]
    assert sign * dx == pytest.approx(1.5, rel=0.1)
    assert abs(dy) < 0.05 and abs(yaw1) < 0.02


def test_forward_follows_the_chassis_heading_and_body_frame_velocity():
    world = World()
    world.rover.place(world.data, 1.0, -2.0, 0.0, yaw_rad=math.pi / 2)
    world.run((0, 0), 1.0)
    assert world.pose()[0][:2] == pytest.approx((1.0, -2.0), abs=0.01)
    pos0, _ = world.pose()
    obs = world.run((0.5, 0.0), 3.0)
    pos1, _ = world.pose()
    assert pos1[1] - pos0[1] == pytest.approx(1.5, rel=0.1)   # world +y = chassis +x
    assert abs(pos1[0] - pos0[0]) < 0.05
    assert obs["base_lin_vel"][0] == pytest.approx(0.5, rel=0.1)
    assert abs(obs["base_lin_vel"][1]) < 0.05


def test_positive_ang_vel_turns_left(settled):
    _, yaw0 = settled.pose()
    obs = settled.run((0.5, 0.5), 3.0)                    # 0.25 rad/s for 3 s = 0.75 rad
    pos1, yaw1 = settled.pose()
    assert yaw1 - yaw0 == pytest.approx(0.75, rel=0.15)
    assert pos1[1] > 0.2                                  # the path bends to the left (+y)
    assert obs["base_ang_vel"][2] == pytest.approx(0.25, rel=0.15)
    assert obs["steer_pos"][0] > 0.05 and obs["steer_pos"][2] < -0.05   # front left, rear right


def test_point_turn_rotates_in_place(settled):
    pos0, yaw0 = settled.pose()
    obs = settled.run((0.0, 1.0), 3.0)                    # 0.5 rad/s for 3 s = 1.5 rad
    pos1, yaw1 = settled.pose()
    assert yaw1 - yaw0 == pytest.approx(1.5, rel=0.1)
    assert np.linalg.norm(pos1[:2] - pos0[:2]) < 0.05
    tangential = math.atan(RoverCfg().wheelbase_m / RoverCfg().track_m)
    assert obs["steer_pos"][0] == pytest.approx(-tangential, abs=0.05)   # front left
    assert obs["wheel_vel"][2] < 0 < obs["wheel_vel"][3]                  # middle: left back


def test_drives_over_a_bump_with_articulating_suspension():
    n, size = 81, 16.0                                    # 0.2 m cells
    xs = np.linspace(-size / 2, size / 2, n)
    x, y = np.meshgrid(xs, xs)                            # row index = y
    heights = 0.001 + 0.2 * np.exp(-((x + 1.0) ** 2) / (2 * 0.3 ** 2)) * (y > 0.3)  # left only
    world = World(heights=heights, size_m=size)
    world.run((0, 0), 1.0)
    swing, tilt = [], []
    for _ in range(40):                                   # 8 s at 0.5 m/s: 4 m, bump at +3 m
        obs = world.run((0.5, 0.0), 0.2)
        swing.append(obs["rocker_bogie"].copy())
        tilt.append(up_z(obs["base_quat"]))
    swing = np.array(swing)
    assert np.ptp(swing[:, 0]) > 0.05                     # left rocker swung
    assert np.allclose(swing[:, 0], -swing[:, 1], atol=1e-3)   # differential bar
    assert np.ptp(swing[:, 2]) > 0.05                     # left bogie swung
    assert min(tilt) > 0.95
    assert world.pose()[0][0] > -0.5                      # got over it: started at x = -4


def test_same_actions_give_bit_identical_states():
    actions = np.random.default_rng(3).uniform(-1, 1, (100, 2))
    finals = []
    for _ in range(2):
        world = World()
        for a in actions:
            world.run(a, 1 / CONTROL_HZ)
        finals.append(world.data.qpos.copy())
    assert np.array_equal(finals[0], finals[1])


@pytest.mark.parametrize("gravity", [ASTEROID, MARS, EARTH])
def test_random_actions_stay_finite_and_in_the_observation_space(gravity):
    world = World(gravity=gravity)
    space = world.rover.observation_space()
    rng = np.random.default_rng(0)
    for _ in range(250):                                  # 5 s, a new random action every step
        obs = world.run(rng.uniform(-1, 1, 2), 1 / CONTROL_HZ)
        assert set(obs) == set(space)
        for key, box in space.items():
            assert obs[key].dtype == np.float32 and box.contains(obs[key]), key
    assert np.isfinite(world.data.qpos).all() and up_z(obs["base_quat"]) > 0.9


def test_actions_are_clipped_and_bad_actions_refused():
    world = World()
    rover, m, d = world.rover, world.model, world.data
    rover.apply_action(m, d, np.array([5.0, -7.0]))
    clipped = d.ctrl.copy()
    rover.apply_action(m, d, np.array([1.0, -1.0]))
    assert np.array_equal(clipped, d.ctrl)
    with pytest.raises(ValueError, match="expected 2"):
        rover.apply_action(m, d, np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        rover.apply_action(m, d, np.array([np.nan, 0.0]))


def test_two_rovers_are_driven_independently():
    world = World(rovers=("robot/", "robot1/"))
    a, b = world.rovers
    start = world.pose(b)[0]
    world.run((0.0, 0.0), 0.5, rover=b)
    world.run((1.0, 0.0), 2.0, rover=a)
    assert world.pose(a)[0][0] > -3.0
    assert np.linalg.norm(world.pose(b)[0][:2] - start[:2]) < 0.01


def test_joint_state_matches_joint_names(settled):
    settled.run((0.5, 0.5), 0.5)
    pos, vel, effort = settled.rover.joint_state(settled.model, settled.data)
    names = settled.rover.joint_names
    assert len(names) == len(pos) == len(vel) == len(effort) == 14
    i = names.index("wheel_fl")
    assert vel[i] == settled.data.joint("robot/wheel_fl").qvel[0] and effort[i] != 0.0


def _heading_perpendicular_to_icr(v, w, xy, steer):
    r = v / w
    for (x, y), d in zip(xy, steer):
        assert math.cos(d) * x + math.sin(d) * (y - r) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("v,w", [(1.0, 0.2), (-0.7, 0.3), (0.5, -0.25), (0.2, 0.5)])
def test_ackermann_wheels_share_one_turning_centre(v, w):
    rover = Rover()
    steer, speed = [0.0] * 6, [0.0] * 6
    ackermann(v, w, rover.wheel_xy, rover.steerable, 1.5, steer, speed)
    _heading_perpendicular_to_icr(v, w, rover.wheel_xy, steer)
    for (x, y), s in zip(rover.wheel_xy, speed):          # |speed| = |w| * distance to centre
        assert abs(s) == pytest.approx(abs(w) * math.hypot(x, y - v / w))
        assert math.copysign(1, s) == math.copysign(1, v - w * y)   # rolls with its contact


def test_ackermann_straight_and_point_turn():
    rover = Rover()
    steer, speed = [0.0] * 6, [0.0] * 6
    ackermann(0.8, 0.0, rover.wheel_xy, rover.steerable, 1.0, steer, speed)
    assert steer == [0.0] * 6 and speed == [0.8] * 6
    ackermann(0.0, 0.5, rover.wheel_xy, rover.steerable, 1.0, steer, speed)
    _heading_perpendicular_to_icr(1e-12, 0.5, rover.wheel_xy, steer)
    assert speed[2] == pytest.approx(-0.5 * rover.wheel_xy[2][1])   # middle left rolls back
