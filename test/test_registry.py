"""The task registry and domains: the one map every other layer reads."""

from __future__ import annotations

import pytest

from spaceros_procgen_envs import get_domain, get_task, list_domains, list_tasks
from spaceros_procgen_envs.errors import ProcgenError, TaskDomainError, UnknownNameError
from spaceros_procgen_envs.registry import all_tasks

TASKS = list_tasks()


def test_the_six_tasks_of_the_spec_are_registered():
    assert {"sample_collection", "debris_capture", "peg_in_hole", "perseverance", "ingenuity",
            "gateway"} <= set(TASKS)


@pytest.mark.parametrize("name", TASKS)
def test_task_spec_is_consistent(name):
    spec = get_task(name)
    assert spec.gym_id == f"spaceros/{name}"
    assert spec.robot_kind in {"manipulator", "rover", "multicopter"}
    assert spec.default_domain in spec.domains
    assert spec.action_dim == len(set(spec.action_names)) > 0
    assert get_task(spec.gym_id) is spec


@pytest.mark.parametrize("name", TASKS)
def test_every_env_gets_its_own_seeded_assets(name):
    spec = get_task(name)
    env0, env1 = spec.asset_requests(42), spec.asset_requests(43)
    assert env0, "every task needs at least one procedural asset"
    assert env0.keys() == env1.keys()
    assert all(env0[k].key != env1[k].key for k in env0)
    assert [r.key for r in env0.values()] == [r.key for r in spec.asset_requests(42).values()]
    assert len({r.key for r in env0.values()}) == len(env0), "two assets of one env share a seed"


def test_ground_tasks_have_terrain_and_orbit_has_none():
    assert "terrain" in get_task("perseverance").asset_requests(0)
    assert "terrain" not in get_task("debris_capture").asset_requests(0, "orbit")
    assert "terrain" in get_task("debris_capture").asset_requests(0, "moon")


def test_unknown_task_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="Did you mean 'perseverance'") as info:
        get_task("perseverence")
    assert isinstance(info.value, ProcgenError)
    assert "sample_collection" in str(info.value)


def test_domain_without_ground_is_refused_for_a_rover():
    with pytest.raises(TaskDomainError, match="no ground.*moon"):
        get_task("perseverance").resolve_domain("orbit")


def test_domains_have_their_gravity():
    gravity = {d: get_domain(d).gravity_mps2 for d in list_domains()}
    assert gravity == {"moon": 1.62496, "mars": 3.72076, "earth": 9.80665, "asteroid": 0.14219,
                       "orbit": 0.0}
    with pytest.raises(UnknownNameError, match="Did you mean 'mars'"):
        get_domain("mras")


def test_single_and_multi_agent_listings_split_the_registry():
    multi = list_tasks(multi_agent=True)
    assert not set(multi) & set(TASKS)
    assert set(multi) | set(TASKS) == set(all_tasks())
    assert all(all_tasks()[n].multi_agent for n in multi)
