"""Contact sheets of procedural assets: one labelled tile per asset, PIL only.

Heightmaps are drawn from above, hillshaded (sun from the north-west, 45 deg up) and
tinted by elevation; meshes by a tiny software rasteriser: orthographic projection from
-60 deg azimuth / 25 deg elevation, Lambert shading, back faces culled, painter's sort.

Example::

    envs, _ = generate_assets("perseverance", 4)
    contact_sheet(envs, "sheet.png")  # rows: envs, columns: asset names
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .types import Asset, Heightmap, MeshAsset

BACKGROUND = (34, 36, 44)
LABEL_PX = 14  # height of the label strip above each tile
SUPERSAMPLE = 2
AMBIENT = 0.25  # light that reaches faces turned away from the sun


def _direction(azimuth_deg: float, elevation_deg: float) -> np.ndarray:
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    return np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


SUN = _direction(135.0, 45.0)  # terrain light from the north-west (+y north, +x east)
KEY_LIGHT = _direction(-20.0, 50.0)  # mesh light, over the viewer's left shoulder


def contact_sheet(envs: Sequence[Mapping[str, Asset]], path: str | Path | None = None,
                  tile_px: int = 128) -> Image.Image:
    """One image with a labelled tile per asset: a row per env, a column per asset name.

    Args:
        envs: ``envs[i]`` maps asset name -> asset, as :func:`generate_assets` returns.
        path: where to write the PNG (``None``: do not write).
        tile_px: edge of one tile in pixels.

    Returns:
        The RGB image.
    """
    names = list(dict.fromkeys(name for env in envs for name in env))
    cell_h = tile_px + LABEL_PX
    sheet = Image.new("RGB", (max(1, len(names)) * tile_px, max(1, len(envs)) * cell_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for row, env in enumerate(envs):
        for col, name in enumerate(names):
            if name not in env:
                continue
            x, y = col * tile_px, row * cell_h
            sheet.paste(render_asset(env[name], tile_px), (x, y + LABEL_PX))
            draw.text((x + 3, y + 1), f"env {row}: {name}", fill=(230, 230, 230))
    if path is not None:
        sheet.save(Path(path), format="PNG")
    return sheet


def render_asset(asset: Asset, size_px: int = 128) -> Image.Image:
    """A ``size_px`` square RGB picture of one asset."""
    if isinstance(asset, Heightmap):
        return render_heightmap(asset, size_px)
    if isinstance(asset, MeshAsset):
        return render_mesh_asset(asset, size_px)
    raise TypeError(f"cannot preview a {type(asset).__name__}")


def render_heightmap(heightmap: Heightmap, size_px: int = 128) -> Image.Image:
    """Top view of a heightmap: hillshade x ground colour x elevation tint, north up."""
    heights = np.asarray(heightmap.heights_m, np.float64)
    dx, dy = heightmap.cell_m
    grad_y, grad_x = np.gradient(heights, dy, dx)
    normals = np.stack([-grad_x, -grad_y, np.ones_like(heights)], axis=-1)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    shade = AMBIENT + (1 - AMBIENT) * np.clip(normals @ SUN, 0.0, 1.0)
    span = float(np.ptp(heights)) or 1.0
    tint = 0.8 + 0.4 * (heights - heights.min()) / span  # higher ground is lighter
    rgb = _base_colour(heightmap.rgba) * (shade * tint)[..., None]
    image = Image.fromarray(_to_u8(np.flipud(rgb)))  # row 0 is south: flip so north is up
    return image.resize((size_px, size_px), Image.BILINEAR)


def render_mesh_asset(asset: MeshAsset, size_px: int = 128) -> Image.Image:
    """All visual parts of ``asset`` side by side, shaded, fitted into the tile."""
    vertices, faces, colours = _layout_parts(asset)
    size = size_px * SUPERSAMPLE
    image = Image.new("RGB", (size, size), BACKGROUND)
    if len(faces):
        _rasterise(ImageDraw.Draw(image), vertices, faces, colours, size)
    return image.resize((size_px, size_px), Image.LANCZOS)


def _layout_parts(asset: MeshAsset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate the parts' visual meshes, shifted along x so they do not overlap."""
    all_v, all_f, all_c = [], [], []
    offset, cursor = 0, 0.0
    for part in asset.parts.values():
        v = np.asarray(part.visual.vertices, np.float64)
        f = np.asarray(part.visual.faces, np.int64)
        if not len(v) or not len(f):
            continue
        low, high = v.min(axis=0), v.max(axis=0)
        gap = 0.15 * float(np.max(high - low)) if all_v else 0.0
        shift = np.array([cursor + gap - low[0], -(low[1] + high[1]) / 2, -low[2]])
        all_v.append(v + shift)
        all_f.append(f + offset)
        all_c.append(np.repeat([_base_colour(part.rgba)], len(f), axis=0))
        offset += len(v)
        cursor = float((v + shift)[:, 0].max())
    if not all_v:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64), np.zeros((0, 3))
    return np.concatenate(all_v), np.concatenate(all_f), np.concatenate(all_c)


def _camera() -> np.ndarray:
    """Rows: camera right, up and towards-the-viewer axes in world coordinates."""
    back = _direction(-60.0, 25.0)  # from the viewer to the object is -back
    right = np.cross([0.0, 0.0, 1.0], back)
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(back, right), back])


def _rasterise(draw: ImageDraw.ImageDraw, vertices: np.ndarray, faces: np.ndarray,
               colours: np.ndarray, size: int) -> None:
    camera = _camera()
    view = vertices @ camera.T  # x right, y up, z towards the viewer
    tri = view[faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    keep = (normals[:, 2] > 0) & (lengths > 0)  # cull back faces and degenerate ones
    tri, normals, colours = tri[keep], normals[keep] / lengths[keep, None], colours[keep]
    light = camera @ KEY_LIGHT
    shade = AMBIENT + (1 - AMBIENT) * np.clip(normals @ light, 0.0, 1.0)
    order = np.argsort(tri[:, :, 2].mean(axis=1))  # far (small z) first
    screen = _fit(view[:, :2], tri[:, :, :2], size)[order]
    fills = _to_u8(colours[order] * shade[order, None])
    for points, fill in zip(screen.reshape(len(order), 6).tolist(), fills.tolist()):
        draw.polygon(points, fill=tuple(fill))


def _fit(all_xy: np.ndarray, tri_xy: np.ndarray, size: int, margin: float = 0.08) -> np.ndarray:
    """Scale and centre projected points into a ``size`` square (image y points down)."""
    low, high = all_xy.min(axis=0), all_xy.max(axis=0)
    scale = size * (1 - 2 * margin) / max(float(np.max(high - low)), 1e-9)
    centre = (low + high) / 2
    screen = (tri_xy - centre) * scale
    screen[..., 1] *= -1
    return screen + size / 2


def _base_colour(rgba: Sequence[float]) -> np.ndarray:
    rgb = np.asarray(rgba[:3], np.float64)
    if rgb.max() <= 0:
        return np.full(3, 0.6)
    return np.clip(rgb * (0.85 / max(0.5, rgb.max())), 0.0, 1.0)  # keep dark materials visible


def _to_u8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
