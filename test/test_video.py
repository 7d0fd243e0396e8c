"""Tiled env frames and the mp4 writer, encoded and decoded by the real ffmpeg of imageio-ffmpeg."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from spaceros_procgen_envs.errors import ProcgenError
from spaceros_procgen_envs.video import BACKGROUND, VideoWriter, grid_shape, tile

H, W, GAP = 48, 64, 2
COLOURS = np.array([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)],
                   np.uint8)  # 5 frames -> a 2 x 3 grid with one empty cell


def solid_frames(colours: np.ndarray, height: int = H, width: int = W) -> list[np.ndarray]:
    return [np.full((height, width, 3), colour, np.uint8) for colour in colours]


def cell(image: np.ndarray, k: int, cols: int = 3, inset: int = 0) -> np.ndarray:
    """Tile ``k`` of ``image`` (row-major, ``H x W`` tiles, ``GAP`` px apart), minus an inset."""
    y, x = (k // cols) * (H + GAP), (k % cols) * (W + GAP)
    return image[y + inset:y + H - inset, x + inset:x + W - inset]


@pytest.mark.parametrize("n, shape", [(1, (1, 1)), (2, (1, 2)), (3, (2, 2)), (4, (2, 2)),
                                      (5, (2, 3)), (9, (3, 3)), (10, (3, 4)), (16, (4, 4)),
                                      (17, (4, 5)), (64, (8, 8))])
def test_grid_shape_is_near_square(n, shape):
    assert grid_shape(n) == shape


@pytest.mark.parametrize("n", [0, -3])
def test_grid_shape_rejects_no_tiles(n):
    with pytest.raises(ValueError, match=r"\bn must be .*>= 1.*got " + str(n)):
        grid_shape(n)


def test_tile_places_frames_row_major_with_gaps_and_fill():
    image = tile(solid_frames(COLOURS))
    assert image.dtype == np.uint8
    assert image.shape == (2 * H + GAP, 3 * W + 2 * GAP, 3)
    for k, colour in enumerate(COLOURS):
        assert (cell(image, k) == colour).all(), f"tile {k}"
    assert (cell(image, 5) == BACKGROUND).all()           # the empty sixth cell
    assert (image[H:H + GAP] == BACKGROUND).all()         # the gap between the rows
    assert (image[:, W:W + GAP] == BACKGROUND).all()      # between columns 0 and 1


def test_tile_accepts_a_batch_array_and_explicit_cols():
    batch = np.stack(solid_frames(COLOURS))
    assert (tile(batch) == tile(list(batch))).all()
    column = tile(batch, cols=1, gap=0)
    assert column.shape == (5 * H, W, 3)
    assert (column[4 * H:] == COLOURS[4]).all()


def test_tile_pads_to_even_size_with_the_fill_colour():
    frames = solid_frames(COLOURS[:3], height=47, width=63)   # 2 x 2 grid, 95 x 127 before padding
    image = tile(frames, gap=1)
    assert image.shape == (96, 128, 3)
    assert (image[95] == BACKGROUND).all() and (image[:, 127] == BACKGROUND).all()
    assert (image[:47, :63] == COLOURS[0]).all()


def test_labels_mark_each_tile_corner_readably_and_leave_the_centre():
    colours = np.vstack([COLOURS[:4], [(0, 0, 0)]])       # a black tile needs light text
    frames = solid_frames(colours)
    plain = tile(frames)
    labelled = tile(frames, labels=[f"env {k}  seed {42 + k}" for k in range(5)])
    assert labelled.shape == plain.shape
    for k in range(5):
        corner = cell(labelled, k)[:8, :16].astype(int)
        assert (corner != cell(plain, k)[:8, :16]).any(axis=-1).any(), f"no label on tile {k}"
        assert corner.min(axis=-1).max() >= 180, f"no light text on tile {k}"
        if colours[k].any():
            assert corner.sum(axis=-1).min() < colours[k].astype(int).sum() - 100, \
                f"no dark box behind the label on tile {k}"
        centre = (slice(H // 2 - 8, H // 2 + 8), slice(W // 2 - 8, W // 2 + 8))
        assert (cell(labelled, k)[centre] == colours[k]).all(), f"label reached centre of {k}"
    assert (cell(labelled, 5) == BACKGROUND).all()


def test_tile_rejects_mismatched_frames_and_labels():
    frames = solid_frames(COLOURS)
    with pytest.raises(ValueError, match=r"frames\[2\] has shape \(48, 32, 3\).*\(48, 64, 3\)"):
        tile(frames[:2] + [frames[2][:, :32]] + frames[3:])
    with pytest.raises(ValueError, match=r"frames\[1\] .*float32.*uint8"):
        tile([frames[0], frames[1].astype(np.float32)])
    with pytest.raises(ValueError, match=r"frames\[0\] must be an \(H, W, 3\) uint8"):
        tile([np.zeros((H, W), np.uint8)])
    with pytest.raises(ValueError, match=r"frames is one image of shape \(48, 64, 3\)"):
        tile(frames[0])
    with pytest.raises(ValueError, match="frames is empty"):
        tile([])
    with pytest.raises(ValueError, match="labels has 2 entries but there are 5 frames"):
        tile(frames, labels=["env 0", "env 1"])
    with pytest.raises(ValueError, match="labels must be a sequence of strings"):
        tile(frames, labels="abcde")
    with pytest.raises(ValueError, match="cols must be"):
        tile(frames, cols=0)
    with pytest.raises(ValueError, match="gap must be"):
        tile(frames, gap=-1)


def decode(path) -> tuple[list[np.ndarray], float]:
    import imageio.v2 as imageio
    with imageio.get_reader(path, format="FFMPEG") as reader:
        return list(reader.iter_data()), reader.get_meta_data()["fps"]


def test_video_round_trips_every_frame_and_tile_colour(tmp_path):
    path = tmp_path / "run.mp4"
    written = []
    with VideoWriter(path, fps=25) as video:
        for t in range(12):   # every tile brightens frame by frame: order and count are visible
            colours = (COLOURS.astype(int) * (t + 4) // 15).astype(np.uint8)
            written.append(colours)
            video.append(tile(solid_frames(colours), labels=[f"env {k}" for k in range(5)]))
    assert video.frames_written == 12
    frames, fps = decode(path)
    assert len(frames) == 12
    assert fps == pytest.approx(25)
    for t, (frame, colours) in enumerate(zip(frames, written)):
        assert frame.shape == (2 * H + GAP, 3 * W + 2 * GAP, 3)
        for k, colour in enumerate(colours):
            mean = cell(frame, k, inset=12).reshape(-1, 3).mean(axis=0)
            assert mean == pytest.approx(colour, abs=12), f"frame {t} tile {k}"


def test_video_writer_rejects_bad_frames_and_closes_twice(tmp_path):
    video = VideoWriter(tmp_path / "a.mp4")
    with pytest.raises(ValueError, match="must be even.*47x64"):
        video.append(np.zeros((47, 64, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8.*float64"):
        video.append(np.zeros((48, 64, 3)))
    video.append(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(ValueError, match="frame 1 is 48x66 .* is 48x64"):
        video.append(np.zeros((48, 66, 3), np.uint8))
    assert video.close() == 1
    assert video.close() == 1
    with pytest.raises(ValueError, match="closed"):
        video.append(np.zeros((48, 64, 3), np.uint8))
    assert len(decode(tmp_path / "a.mp4")[0]) == 1


def test_video_writer_rejects_bad_paths_in_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.mp4.*run\.avi") as bad_suffix:
        VideoWriter(tmp_path / "run.avi")
    missing = tmp_path / "no" / "such" / "run.mp4"
    with pytest.raises(ProcgenError, match="directory .*such.* does not exist") as no_dir:
        VideoWriter(missing)
    for exc in (bad_suffix.value, no_dir.value):
        assert isinstance(exc, ProcgenError) and "\n" not in str(exc)
    assert str(missing) in str(no_dir.value)


def test_missing_imageio_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)   # makes the import fail
    with pytest.raises(ProcgenError) as exc_info:
        VideoWriter(tmp_path / "run.mp4")
    message = str(exc_info.value)
    assert "\n" not in message
    assert message.startswith("--video needs imageio and imageio-ffmpeg: ")
    assert 'pip install "spaceros_procgen_envs[video]"' in message


def test_the_module_imports_without_loading_imageio():
    code = ("import sys, spaceros_procgen_envs.video; "
            "sys.exit(int('imageio' in sys.modules or 'imageio_ffmpeg' in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
