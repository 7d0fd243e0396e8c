"""Unit tests of the arm tasks' batch reward terms and helpers, on hand-made (n, ...) arrays."""

from __future__ import annotations

import math

import mujoco
import numpy as np
import pytest

from spaceros_procgen_envs.sim.robots.arm_batch import canonical_quat, dls_control, dls_row
from spaceros_procgen_envs.tasks import manipulation as manip
from spaceros_procgen_envs.tasks.batchstate import BatchState, term_calls, weighted_terms
from spaceros_procgen_envs.tasks.debris_capture import env as debris
from spaceros_procgen_envs.tasks.gateway import env as gateway
from spaceros_procgen_envs.tasks.peg_in_hole import env as peg
from spaceros_procgen_envs.tasks.sample_collection import env as sample

K1 = 1.0 - math.tanh(1.0)  # the tanh kernel one scale away


def k2(distance: float, coarse: float, fine: float) -> float:
    """The two-scale kernel, written out."""
    return 0.5 * ((1.0 - math.tanh(distance / coarse)) + (1.0 - math.tanh(distance / fine)))


def test_reach_is_one_on_the_object_and_falls_with_distance():
    ee = np.zeros((3, 3))
    obj = np.array([[0.0, 0, 0], [0.03, 0, 0], [0, 0.3, 0.4]])
    np.testing.assert_allclose(manip.reward_reach(ee, obj),
                               [1.0, k2(0.03, 1.0, 0.03), k2(0.5, 1.0, 0.03)])
    # the coarse scale still pulls from 0.8 m, where the sample starts
    far = manip.reward_reach(np.zeros((2, 3)), np.array([[0.8, 0, 0], [0.7, 0, 0]]))
    assert 0.15 < far[0] < far[1] < 0.35


def test_success_pays_in_the_winning_step_and_outweighs_hovering():
    flags = manip.reward_success(np.array([True, False]))
    assert flags.dtype == np.float64 and flags.tolist() == [1.0, 0.0]
    gamma = 0.98  # the arm tasks' PPO discount (rl/defaults.py)
    for cfg in (sample.SampleCollectionRewards(), peg.PegInHoleRewards(),
                debris.DebrisCaptureRewards(), gateway.GatewayRewards()):
        # progress terms (approach, carry) sum to the distance gained over an episode: they
        # pay nothing for hovering, so they are not counted against the success weight
        dense = sum(w for name, w in vars(cfg).items()
                    if w > 0 and name not in ("success", "approach", "carry"))
        assert dense == pytest.approx(1.0) and cfg.success > dense / (1.0 - gamma), cfg


def test_stages_are_milestones_of_the_state():
    ee = np.zeros((2, 3))
    obj = np.array([[0.02, 0, 0], [0.05, 0, 0]])
    assert manip.stage_reach(ee, obj).tolist() == [True, False]
    pos = np.array([[0, 0, 0.11], [0, 0, 0.11], [0, 0, 0.08]])
    lifted = sample.stage_lift(pos, np.full(3, 0.05), np.array([True, False, True]))
    assert lifted.tolist() == [True, False, False]
    depth, offset = np.array([-0.005, -0.005, 0.01, -0.05]), np.array([0.002, 0.01, 0.0, 0.0])
    clearance = np.full(4, 0.001)
    assert peg.stage_aligned(depth, offset, clearance).tolist() == [True, False, True, False]
    assert peg.stage_inserted(np.array([0.0, 0.2])).tolist() == [False, True]
    assert debris.stage_reach(np.array([[0.0, 0.02, 0], [0, 0.04, 0]])).tolist() == [True, False]
    target = np.zeros((2, 3))
    near = gateway.stage_transport(np.array([[0.4, 0, 0], [0.6, 0, 0]]), target,
                                   np.array([True, True]))
    assert near.tolist() == [True, False]


def test_grasp_and_action_rate():
    np.testing.assert_array_equal(manip.reward_grasp(np.array([True, False])), [1.0, 0.0])
    a = np.array([[1.0, 0, 0], [0.5, 0.5, 0]], np.float32)
    prev = np.array([[0.0, 0, 0], [0.5, 0.5, 0]], np.float32)
    rate = manip.reward_action_rate(a, prev)
    assert rate.dtype == np.float64
    np.testing.assert_array_equal(rate, [1.0, 0.0])


def test_term_calls_read_the_parameter_names_and_refuse_unknown_terms():
    calls = term_calls(manip.ManipulationTask.TERMS, [("grasp", 0.5), ("reach", 0.1),
                                                     ("success", 60.0)])
    assert [(w, keys) for w, _, keys in calls] == [(0.5, ("grasped",)), (0.1, ("ee_pos", "object_pos")),
                                                   (60.0, ("success",))]
    with pytest.raises(KeyError, match="'lift'.*known"):
        term_calls(manip.ManipulationTask.TERMS, [("lift", 1.0)])


class _Counting:
    """A task with two state keys, one built on the other; counts the calls."""

    def __init__(self):
        self.calls = []

    def state_pos(self, v, s):
        self.calls.append("pos")
        return np.array([[3.0, 4.0, 0.0]])

    def state_dist(self, v, s):
        self.calls.append("dist")
        return np.linalg.norm(s["pos"], axis=1)


def test_batch_state_computes_each_key_once_and_only_when_read():
    task = _Counting()
    s = BatchState(task, None, grasped=np.array([True]))
    assert task.calls == []
    terms = weighted_terms(term_calls({"grasp": manip.reward_grasp, "far": lambda dist: dist},
                                      [("grasp", 0.5), ("far", 2.0)]), s)
    np.testing.assert_array_equal(np.stack(terms), [[0.5], [10.0]])
    assert s["dist"].tolist() == [5.0] and task.calls == ["dist", "pos"]
    with pytest.raises(KeyError, match="'speed': _Counting has no state_speed"):
        s["speed"]


BAY = np.zeros((4, 3))
HALF = np.tile([0.12, 0.12, 0.08], (4, 1))


def test_in_bay_needs_inside_walls_and_below_their_top():
    pos = np.array([[0.05, -0.05, 0.03], [0.13, 0, 0.03], [0, 0, 0.09], [0, 0, -0.02]])
    np.testing.assert_array_equal(sample.in_bay(pos, BAY, HALF), [True, False, False, False])


def test_lift_counts_height_gained_only_while_grasped():
    pos = np.array([[0, 0, 0.05], [0, 0, 0.30], [0, 0, 0.30], [0, 0, 0.0]])
    rest = np.full(4, 0.05)
    grasped = np.array([True, True, False, True])
    np.testing.assert_allclose(sample.reward_lift(pos, rest, grasped), [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(sample.reward_lift(pos[:1] + [0, 0, 0.05], rest[:1], grasped[:1]),
                               [0.5])


def test_place_counts_once_off_the_ground_or_in_the_bay():
    rest = np.full(3, 0.05)
    pos = np.array([[0.1, 0, 0.05], [0.1, 0, 0.08], [0.1, 0, 0.05]])  # on ground, lifted, on ground
    inside = np.array([False, False, True])
    carry = np.array([0.3, 0.4, 0.05])
    np.testing.assert_allclose(sample.reward_place(pos, rest, inside, carry),
                               [0.0, k2(0.4, 1.0, 0.05), k2(0.05, 1.0, 0.05)])


def test_place_distance_goes_over_the_bay_wall_not_through_the_shelf():
    pre = sample.PRE_PLACE_M
    pos = np.array([[0.0, 0.0, 0.03],    # resting on the bay floor
                    [0.1, -0.1, 0.30],   # above the bay, within its walls
                    [0.0, 0.0, pre],     # at the point over the bay
                    [0.4, 0.0, pre],     # level with it, 0.4 m off
                    [0.3, 0.0, 0.0],     # beside the shelf, at floor height
                    [0.05, 0.0, -0.29]])  # under the shelf, beneath the bay floor
    dist = sample.place_distance(pos, np.zeros((6, 3)), np.tile([0.12, 0.12, 0.08], (6, 1)))
    np.testing.assert_allclose(dist, [0.03, 0.30, pre, 0.4 + pre, math.hypot(0.3, pre) + pre,
                                      math.hypot(0.05, 0.29 + pre) + pre])
    # going straight at the bay from beside the shelf gets no nearer than going up first
    assert dist[4] > sample.place_distance(pos[4:] + [0, 0, pre], np.zeros((1, 3)),
                                           np.tile([0.12, 0.12, 0.08], (1, 1)))[0]


def _rot_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def test_nearest_rel_finds_the_vertex_nearest_the_tcp_in_the_world_frame():
    verts = np.array([[0.1, 0, 0], [-0.1, 0, 0], [0, 0.2, 0]])
    padded = debris.padded_vertices(verts, 8)
    assert padded.shape == (8, 3) and (padded[3:] == verts[0]).all()
    v = np.stack([padded.T, padded.T])
    sq = np.sum(v ** 2, axis=1)
    mats = np.stack([np.eye(3), _rot_z(math.pi / 2)])  # the second body turned 90 deg about z
    obj = np.array([[1.0, 0, 0], [1.0, 0, 0]])
    ee = np.array([[1.5, 0, 0], [1.0, 0.5, 0]])  # world +x of the first, world +y of the second
    rel = debris.nearest_rel(ee, obj, mats, v, sq, np.array([8, 8]))  # every column
    # body +x vertex: world (1.1, 0, 0) and, turned, world (1.0, 0.1, 0)
    np.testing.assert_allclose(rel, [[-0.4, 0, 0], [0, -0.4, 0]], atol=1e-12)
    # Only each world's own vertices are searched, the padding skipped: the same answers.
    np.testing.assert_array_equal(debris.nearest_rel(ee, obj, mats, v, sq, np.array([3, 3])), rel)
    with pytest.raises(ValueError, match="3 vertices, more than the batch's 2"):
        debris.padded_vertices(verts, 2)


def test_nearest_rel_searches_only_each_worlds_own_vertices():
    padded = debris.padded_vertices(np.array([[0.1, 0, 0], [0, 0.2, 0]]), 4)
    v = np.stack([padded.T, padded.T])
    sq = np.sum(v ** 2, axis=1)
    mats, obj = np.stack([np.eye(3)] * 2), np.zeros((2, 3))
    ee = np.array([[0, 0.3, 0], [0, 0.3, 0]])  # nearest the second vertex, (0, 0.2, 0)
    rel = debris.nearest_rel(ee, obj, mats, v, sq, np.array([2, 1]))  # world 1: the first only
    np.testing.assert_allclose(rel, [[0, -0.1, 0], [0.1, -0.3, 0]], atol=1e-12)


def test_debris_and_gateway_approach_comes_down_onto_the_object_from_above():
    pre = debris.PRE_GRASP_M
    rel = np.array([[0.0, 0.0, -0.3],    # vertex 0.3 m straight below the TCP: on the way down
                    [0.0, 0.0, 0.0],     # at the vertex
                    [0.0, 0.0, 0.03],    # 3 cm below it, fingers round it
                    [0.3, 0.0, 0.0],     # level with it, 0.3 m aside
                    [0.0, 0.0, 0.3]])    # 0.3 m under it: round to the top first
    dist = debris.grasp_path_distance(rel)
    np.testing.assert_allclose(dist, [0.3, 0.0, 0.0, math.hypot(0.3, pre) + pre, 0.4 + pre])
    np.testing.assert_allclose(debris.reward_reach(dist, 0.3), [k2(d, 0.9, 0.1) for d in dist])
    # going sideways straight at the vertex gets no nearer than going over it first
    assert debris.grasp_path_distance(np.array([[0.1, 0.0, 0.0]]))[0] > \
        debris.grasp_path_distance(np.array([[0.1, 0.0, -pre]]))[0]
    assert gateway.GatewayTask.TERMS["reach"] is debris.reward_reach


def test_close_pays_the_closing_command_at_the_grasp_point_until_held():
    approach = np.array([0.0, 0.0, 0.0, 0.02, 0.0])
    action = np.zeros((5, 7))
    action[:, -1] = [1.0, 0.5, -1.0, 1.0, 1.0]  # the gripper command
    held = np.array([False, False, False, False, True])
    np.testing.assert_allclose(debris.reward_close(approach, action, held),
                               [1.0, 0.5, 0.0, K1, 0.0])
    # Both tasks pay it (a term in TERMS with no weight is never computed).
    assert debris.DebrisCaptureRewards().close > 0 and gateway.GatewayRewards().close > 0


def test_debris_damping():
    vel = np.array([[0.02, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0.2, 0], [0, 0, 0, 0, 0, 0]])
    np.testing.assert_allclose(debris.reward_damping(vel, np.array([True, True, False])),
                               [K1, K1, 0.0])


def test_transport_only_while_grasped():
    obj = np.array([[0.0, 0, 0], [0.3, 0, 0]])
    target = np.zeros((2, 3))
    np.testing.assert_allclose(gateway.reward_transport(obj, target, np.array([True, True])),
                               [1.0, k2(0.3, 1.0, 0.1)])
    assert gateway.reward_transport(obj, target, np.array([False, False])).tolist() == [0.0, 0.0]


def test_tip_depth_offset_and_insertion():
    top = np.zeros((3, 3))
    axis = np.tile([0.0, 0, 1], (3, 1))
    tip = np.array([[0.0, 0, -0.03], [0.003, 0.004, -0.01], [0.02, 0, 0.01]])
    depth, offset = peg.tip_depth_and_offset(top, axis, tip)
    np.testing.assert_allclose(depth, [0.03, 0.01, -0.01])
    np.testing.assert_allclose(offset, [0.0, 0.005, 0.02], atol=1e-12)
    inserted = peg.inserted_fraction(depth, offset, np.full(3, 0.04), np.full(3, 0.001))
    np.testing.assert_allclose(inserted, [0.75, 0.25, 0.0])  # the third is off the axis
    np.testing.assert_array_equal(peg.reward_insertion(inserted), inserted)
    deep = peg.inserted_fraction(np.array([0.1]), np.array([0.0]), np.array([0.04]), np.array([0.001]))
    assert deep.tolist() == [1.0]


def test_orientation_error_and_alignment():
    q0 = np.array([[1.0, 0, 0, 0]] * 3)
    half = 0.15  # a 0.3 rad turn about z
    q1 = np.array([[1.0, 0, 0, 0], [-1.0, 0, 0, 0], [math.cos(half), 0, 0, math.sin(half)]])
    err = peg.orientation_error(q0, q1)
    np.testing.assert_allclose(err, [0.0, 0.0, 0.3], atol=1e-7)  # q and -q are one rotation
    depth, offset = np.array([0.01, 0.0, -0.03]), np.array([0.0, 0.04, 0.0])
    clearance = np.full(3, 0.001)
    # in the hole on its axis: 0; 4 cm off the axis at the opening: 4 cm to the point 5 cm up,
    # then 5 cm down (rounded: sqrt(0.04^2 + 0.05^2) + 0.05); 3 cm above it, on the axis: 3 cm
    np.testing.assert_allclose(peg.approach_distance(depth, offset, clearance),
                               [0.0, math.hypot(0.04, 0.05) + 0.05, 0.03])
    # beside the block, 5 cm down and 12 cm off the axis: further than 12 cm off at the point
    beside, over = (peg.approach_distance(np.array([d]), np.array([0.12]), clearance[:1])
                    for d in (0.05, -0.05))
    np.testing.assert_allclose(over, [0.17])
    assert beside[0] > over[0]
    held = np.array([True, True, True])
    np.testing.assert_allclose(peg.reward_alignment(depth, offset, clearance, err, held),
                               [1.0, 0.5 * (k2(math.hypot(0.04, 0.05) + 0.05, 1.0, 0.03) + 1.0),
                                0.5 * (k2(0.03, 1.0, 0.03) + K1)], atol=1e-7)
    # a dropped peg earns neither alignment nor approach, however it falls
    dropped = np.array([False, False, False])
    assert not peg.reward_alignment(depth, offset, clearance, err, dropped).any()
    falling = peg.reward_approach(np.full(3, 0.1), np.full(3, 0.3), 0.02, dropped)
    assert not falling.any()
    np.testing.assert_allclose(peg.reward_approach(np.full(3, 0.1), np.full(3, 0.3), 0.02, held),
                               10.0)


def test_canonical_quat_matches_mujoco_mat2quat():
    q = np.random.default_rng(0).normal(size=(500, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    expected = np.zeros_like(q)
    for k in range(len(q)):
        mat = np.zeros(9)
        mujoco.mju_quat2Mat(mat, q[k])
        mujoco.mju_mat2Quat(expected[k], mat)
    np.testing.assert_allclose(canonical_quat(q), expected, atol=1e-9)
    np.testing.assert_allclose(canonical_quat(-q), expected, atol=1e-9)


def test_dls_row_solves_the_damped_normal_equations():
    rng = np.random.default_rng(1)
    jac = rng.normal(size=(4, 6, 7))
    twist = rng.normal(size=(4, 6)) * 0.01
    dq = np.empty((4, 7))
    jj, lower, y = np.empty((6, 6)), np.zeros((6, 6)), np.empty(6)
    for k in range(4):
        dls_row(np.ascontiguousarray(jac[k].T), twist[k], 0.02 ** 2, jj, lower, y, dq[k])
        j = jac[k]
        expected = j.T @ np.linalg.solve(j @ j.T + 0.02 ** 2 * np.eye(6), twist[k])
        np.testing.assert_allclose(dq[k], expected, rtol=1e-9, atol=1e-14)
    assert np.abs(jac @ dq[..., None] - twist[..., None]).max() < 1e-3  # nearly exact when regular


def _hold_targets(ctrl, q, lead, limits, grip_action=0.0):
    """``dls_control`` with no twist (dq = 0) on two hinges: only the clamps act on ``ctrl``."""
    rng = np.random.default_rng(3)
    n = len(q)
    actions = np.zeros((n, 7), np.float32)
    actions[:, 6] = grip_action
    xmat, xpos, site = rng.normal(size=(n, 2, 9)), rng.normal(size=(n, 2, 3)), rng.normal(size=(n, 1, 3))
    ctrl = np.column_stack([ctrl, np.zeros(n)])
    dls_control(actions, xmat, xpos, site, np.asarray(q, float), ctrl, np.array([0, 1]),
                np.array([0, 0, 0, 2]), np.full(6, 0.01), np.asarray(limits, float),
                np.array([0.02 ** 2, lead, 0.08]))
    return ctrl


def test_arm_targets_keep_the_lead_and_the_limits():
    q = np.array([[0.0, 1.0]])
    out = _hold_targets(np.array([[0.5, 0.95]]), q, 0.2, [[-1.0, 1.0], [-1.0, 1.1]])
    np.testing.assert_allclose(out[:, :2], [[0.2, 0.95]])
    out = _hold_targets(np.array([[-0.5, 2.0]]), q, 0.2, [[-0.1, 1.0], [-1.0, 1.1]])
    np.testing.assert_allclose(out[:, :2], [[-0.1, 1.1]])
    np.testing.assert_allclose(out[:, 2], 0.08)  # gripper action 0: fully open
    half = _hold_targets(np.array([[0.0, 1.0]]), q, 0.2, [[-1.0, 1.0], [-1.0, 1.1]], 0.5)
    np.testing.assert_allclose(half[:, 2], 0.04)  # proportional closing


def test_disturbing_a_free_object_costs_its_speed_until_it_is_held():
    vel = np.array([[0.3, 0, 0.4, 1.0, 0, 0], [0.3, 0, 0.4, 0, 0, 0], [0.0, 0, 0, 2.0, 0, 0]])
    held = np.array([False, True, False])
    np.testing.assert_allclose(debris.reward_disturb(vel, held), [0.5, 0.0, 0.0])


def test_progress_terms_pay_the_approach_speed_and_carry_only_while_held():
    now, prev = np.array([0.5, 0.5, 0.3]), np.array([0.51, 0.49, 0.3])
    np.testing.assert_allclose(manip.reward_approach(now, prev, 0.02), [0.5, -0.5, 0.0])
    held = np.array([True, False, True])
    np.testing.assert_allclose(manip.reward_carry(now, prev, 0.02, held), [0.5, 0.0, 0.0])
    # an episode's sum is the distance gained / dt, however the path went
    path = np.array([0.7, 0.6, 0.65, 0.4, 0.1])
    total = sum(manip.reward_approach(path[k + 1:k + 2], path[k:k + 1], 0.02)[0] for k in range(4))
    assert total == pytest.approx((0.7 - 0.1) / 0.02)
