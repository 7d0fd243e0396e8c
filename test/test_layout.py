"""Structure-stable worlds: every world of a task compiles to one MjData layout, so a slice of
envs runs as one ``mujoco.batch.Batch`` over per-env models (``set_models``)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from mujoco.batch import Batch

from spaceros_procgen_envs import list_tasks
from spaceros_procgen_envs.assets import debris, meshutil, peg_hole
from spaceros_procgen_envs.registry import generate_assets
from spaceros_procgen_envs.world import build_worlds

WORLDS = 16


def _models(task: str, seed: int = 0):
    assets, _ = generate_assets(task, WORLDS, seed, None, workers=1, progress=False)
    return [env.model for env in build_worlds(task, assets, seed)]


def _fingerprint(model) -> str:
    """What makes a world this world: geometry sizes and positions, meshes, heightfield."""
    digest = hashlib.sha256()
    for array in (model.geom_size, model.geom_pos, model.mesh_vert, model.hfield_data,
                  model.body_mass):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("task", list_tasks() + list_tasks(multi_agent=True))
def test_every_world_of_a_task_shares_one_mjdata_layout(task):
    models = _models(task)
    batch = Batch(models[0], WORLDS, nthread=1)
    batch.set_models(models)  # raises when a model gives MjData another layout
    assert len({(m.nq, m.nv, m.nu, m.na, m.nbody, m.ngeom, m.nsensordata) for m in models}) == 1
    assert len({_fingerprint(m) for m in models}) == WORLDS, "two seeds made the same world"


def test_split_pieces_tile_the_original_exactly():
    piece = meshutil.hull(np.random.default_rng(3).normal(size=(80, 3)))
    halves = meshutil.split_convex(piece)
    assert all(h.is_watertight and h.is_convex for h in halves)
    assert sum(h.volume for h in halves) == pytest.approx(piece.volume, rel=1e-9)
    four = meshutil.exactly([piece], 4)
    assert len(four) == 4 and sum(p.volume for p in four) == pytest.approx(piece.volume, rel=1e-9)
    with pytest.raises(ValueError, match="exceed the fixed count 2"):
        meshutil.exactly(four, 2)


@pytest.mark.parametrize("seed", range(12))
def test_generators_give_a_fixed_number_of_collision_pieces(seed):
    rng = np.random.default_rng([seed, 7])
    frag = debris.generate_debris(debris.debris_cfg(), rng).parts["debris"]
    assert len(frag.collision) == debris.COLLISION_PIECES
    cfg = peg_hole.peg_hole_cfg()
    hole = peg_hole.generate_peg_hole(cfg, rng).parts["hole"]
    assert len(hole.collision) == peg_hole.hole_pieces_of(cfg)
    assert sum(p.volume for p in hole.collision) == pytest.approx(hole.visual.volume, rel=1e-6)
