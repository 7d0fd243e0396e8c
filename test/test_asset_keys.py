"""Asset keys are content addresses: memoising their config part must never change one."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

import numpy as np
import pytest

from spaceros_procgen_envs.assets import generators
from spaceros_procgen_envs.assets.generators import AssetRequest
from spaceros_procgen_envs.registry import all_tasks

FIXED_VERSION = "0123456789abcdef"


@dataclass(frozen=True)
class Inner:
    scale: float = 0.5
    tags: tuple = ("a", "b")


@dataclass(frozen=True)
class FakeCfg:
    size_m: float = 30.0
    count: int = 6
    rgba: tuple = (0.1, 0.2, 0.3, 1.0)
    inner: Inner = Inner()
    style: str = "mars"


@dataclass(frozen=True)
class ListCfg:  # unhashable (a list field): keyed without the memo
    sizes: list = dataclasses.field(default_factory=lambda: [1.0, 2.0])


def reference_key(request: AssetRequest) -> str:
    """The key formula as it was before the memo (one full serialisation per request)."""
    ident = {"generator": request.generator, "version": generators.code_version(request.generator),
             "cfg_type": type(request.cfg).__name__, "cfg": dataclasses.asdict(request.cfg),
             "seed": list(request.seed)}
    blob = json.dumps(ident, sort_keys=True, default=generators._jsonable)
    return f"{request.generator}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


@pytest.fixture
def fixed_version(monkeypatch):
    monkeypatch.setattr(generators, "code_version", lambda name: FIXED_VERSION)


def test_key_of_a_fixed_request_is_unchanged(fixed_version):
    # Computed once with the code before the memo (commit 748ef8d), code version patched to
    # FIXED_VERSION: existing caches keep their addresses.
    assert AssetRequest("rock", FakeCfg(), (42, 3)).key == "rock-66898096d9ee5827e1dc59af49166476"
    assert AssetRequest("rock", FakeCfg(size_m=31.0), (42, 3)).key == \
        "rock-370fa0ec67b9d8c1085869069ca92b7e"
    assert AssetRequest("terrain", FakeCfg(), (-1, 0)).key == \
        "terrain-f5bd7a0d92b3e3127364d9968d7eea26"


def test_key_changes_with_cfg_and_seed_and_repeats_when_memoised(fixed_version):
    base = AssetRequest("rock", FakeCfg(), (42, 3))
    variants = [base, dataclasses.replace(base, seed=(42, 4)),
                dataclasses.replace(base, seed=(43, 3)),
                dataclasses.replace(base, cfg=FakeCfg(count=7)),
                dataclasses.replace(base, cfg=FakeCfg(inner=Inner(scale=0.6))),
                dataclasses.replace(base, cfg=FakeCfg(style="moon")),
                dataclasses.replace(base, generator="terrain")]
    keys = [request.key for request in variants]
    assert len(set(keys)) == len(variants)
    assert [request.key for request in variants] == keys  # the memo serves the same keys
    assert keys == [reference_key(request) for request in variants]


def test_unhashable_cfg_keys_like_before(fixed_version):
    request = AssetRequest("rock", ListCfg(), (1, 0))
    assert request.key == reference_key(request)
    assert AssetRequest("rock", ListCfg([1.0, 3.0]), (1, 0)).key != request.key


def test_numpy_seed_values_key_like_ints(fixed_version):
    assert AssetRequest("rock", FakeCfg(), (np.int64(42), np.int32(3))).key == \
        AssetRequest("rock", FakeCfg(), (42, 3)).key


def test_every_registered_request_keys_as_the_reference_formula():
    for spec in all_tasks().values():
        for domain in spec.domains:
            for request in spec.asset_requests(11, domain).values():
                assert request.key == reference_key(request), (spec.name, domain)
