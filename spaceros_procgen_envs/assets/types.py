"""The two kinds of procedural asset and their lossless conversion to flat arrays.

Generators return a :class:`Heightmap` or a :class:`MeshAsset`; the cache stores the
``to_arrays()`` form (a dict of numpy arrays) and rebuilds the object with ``from_arrays``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import trimesh

RGBA = tuple[float, float, float, float]


@dataclass(frozen=True, eq=False)
class Heightmap:
    """A terrain height field centred on the world origin.

    Attributes:
        heights_m: (rows, cols) float32 heights in metres; row index runs along +y,
            column index along +x; row 0 is at y = -size_m[1] / 2.
        size_m: full extent (x, y) in metres.
        work_area_m: (cx, cy, radius) of the flat disc where the robot stands, metres.
        rgba: ground colour.
        craters: (k, 3) float32 crater centres and radii (x, y, r) in metres, for statistics.
    """

    heights_m: np.ndarray
    size_m: tuple[float, float]
    work_area_m: tuple[float, float, float]
    rgba: RGBA
    craters: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))

    @property
    def cell_m(self) -> tuple[float, float]:
        """Cell size (dx, dy) in metres."""
        rows, cols = self.heights_m.shape
        return self.size_m[0] / (cols - 1), self.size_m[1] / (rows - 1)

    def height_at(self, x: float, y: float) -> float:
        """Bilinearly interpolated height at world (x, y), metres."""
        rows, cols = self.heights_m.shape
        u = np.clip((x / self.size_m[0] + 0.5) * (cols - 1), 0, cols - 1)
        v = np.clip((y / self.size_m[1] + 0.5) * (rows - 1), 0, rows - 1)
        c0, r0 = min(int(u), cols - 2), min(int(v), rows - 2)
        fu, fv = u - c0, v - r0
        h = self.heights_m
        top = h[r0, c0] * (1 - fu) + h[r0, c0 + 1] * fu
        bottom = h[r0 + 1, c0] * (1 - fu) + h[r0 + 1, c0 + 1] * fu
        return float(top * (1 - fv) + bottom * fv)

    def to_arrays(self) -> dict[str, np.ndarray]:
        meta = {"kind": "heightmap", "size_m": list(self.size_m),
                "work_area_m": list(self.work_area_m), "rgba": list(self.rgba)}
        return {"meta": _json_array(meta),
                "heights_m": np.ascontiguousarray(self.heights_m, np.float32),
                "craters": np.ascontiguousarray(self.craters, np.float32).reshape(-1, 3)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Heightmap:
        meta = _read_json(arrays["meta"])
        return cls(arrays["heights_m"], tuple(meta["size_m"]), tuple(meta["work_area_m"]),
                   tuple(meta["rgba"]), arrays["craters"])


@dataclass(frozen=True, eq=False)
class MeshPart:
    """One rigid piece of an asset.

    Attributes:
        visual: the mesh to draw (watertight), metres, in the part's own frame.
        collision: convex pieces to collide with, same frame (often just the hull).
        rgba: colour.
    """

    visual: trimesh.Trimesh
    collision: tuple[trimesh.Trimesh, ...]
    rgba: RGBA


@dataclass(frozen=True, eq=False)
class MeshAsset:
    """A procedural object made of named rigid parts (``{"rock": ...}``, ``{"peg", "hole"}``).

    Attributes:
        parts: part name -> :class:`MeshPart`.
        meta: scalar facts about the asset (``clearance_m``, ``hole_depth_m``, ...).
    """

    parts: dict[str, MeshPart]
    meta: dict[str, float] = field(default_factory=dict)

    def to_arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        index = {"kind": "mesh", "meta": self.meta, "parts": []}  # a list keeps the part order
        for name, part in self.parts.items():
            index["parts"].append({"name": name, "rgba": list(part.rgba),
                                   "collision": len(part.collision)})
            _put_mesh(out, f"{name}.visual", part.visual)
            for k, piece in enumerate(part.collision):
                _put_mesh(out, f"{name}.collision{k}", piece)
        out["meta"] = _json_array(index)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> MeshAsset:
        index = _read_json(arrays["meta"])
        parts = {}
        for info in index["parts"]:
            name = info["name"]
            visual = _get_mesh(arrays, f"{name}.visual")
            collision = tuple(_get_mesh(arrays, f"{name}.collision{k}")
                              for k in range(info["collision"]))
            parts[name] = MeshPart(visual, collision, tuple(info["rgba"]))
        return cls(parts, dict(index["meta"]))


Asset = Heightmap | MeshAsset


def asset_from_arrays(arrays: dict[str, np.ndarray]) -> Asset:
    """Rebuild whichever asset type ``arrays`` holds."""
    kind = _read_json(arrays["meta"])["kind"]
    return Heightmap.from_arrays(arrays) if kind == "heightmap" else MeshAsset.from_arrays(arrays)


def _put_mesh(out: dict[str, np.ndarray], key: str, mesh: trimesh.Trimesh) -> None:
    out[key + ".vertices"] = np.ascontiguousarray(mesh.vertices, np.float64)
    out[key + ".faces"] = np.ascontiguousarray(mesh.faces, np.int32)


def _get_mesh(arrays: dict[str, np.ndarray], key: str) -> trimesh.Trimesh:
    return trimesh.Trimesh(arrays[key + ".vertices"], arrays[key + ".faces"], process=False)


def _json_array(obj: object) -> np.ndarray:
    return np.frombuffer(json.dumps(obj, sort_keys=True).encode(), dtype=np.uint8)


def _read_json(arr: np.ndarray) -> dict:
    return json.loads(bytes(np.asarray(arr, np.uint8)).decode())
