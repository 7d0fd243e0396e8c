"""Record a batch of envs as one mp4: every env's frame tiled in a labelled near-square grid.

``agent_random.py --task perseverance --num_envs 16 --headless --video run.mp4`` shows the 16
procedural worlds side by side, so their variety is visible at a glance. This module holds the
pure building blocks; the agents render each env to an (H, W, 3) uint8 frame and call them:

* :func:`grid_shape` - the (rows, cols) of the grid for ``n`` tiles;
* :func:`tile` - the frames of one step as one image, env 0 top-left, each with its label;
* :class:`VideoWriter` - appends those images to an H.264 mp4 (yuv420p, which every player opens).

``imageio`` and ``imageio-ffmpeg`` (the extra ``spaceros_procgen_envs[video]``) are imported only
when a :class:`VideoWriter` is made, so the package imports without them; a missing one is a
:class:`VideoUnavailableError` that says what to install.

Example::

    with VideoWriter("run.mp4", fps=25) as video:
        for step in range(250):
            frames = [env.render() for env in envs]
            video.append(tile(frames, labels=[f"env {i}  seed {42 + i}" for i in range(16)]))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .errors import ProcgenError

BACKGROUND = (24, 24, 24)        # RGB of the gaps, empty cells and even-size padding
LABEL_BOX = (0, 0, 0, 150)       # RGBA: black at ~60 % opacity behind each label
LABEL_TEXT = (240, 240, 240, 255)
INSTALL_HINT = ('pip install "spaceros_procgen_envs[video]" '
                "(or ./run.sh pip install imageio imageio-ffmpeg)")


class VideoUnavailableError(ProcgenError, ImportError):
    """``imageio`` or ``imageio-ffmpeg`` (with its ffmpeg binary) is not installed."""


class VideoPathError(ProcgenError, ValueError):
    """The video cannot be written where asked (not ``.mp4``, or no such directory)."""


def grid_shape(n: int) -> tuple[int, int]:
    """The (rows, cols) of a near-square grid for ``n`` tiles.

    ``cols = ceil(sqrt(n))`` and ``rows = ceil(n / cols)``, so the grid is never taller than wide.

    Args:
        n: number of tiles, >= 1.

    Returns:
        ``(rows, cols)``.

    >>> [grid_shape(n) for n in (1, 2, 3, 5, 16, 17)]
    [(1, 1), (1, 2), (2, 2), (2, 3), (4, 4), (4, 5)]
    """
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1 (the number of tiles), got {n!r}")
    cols = math.isqrt(int(n) - 1) + 1  # exact ceil(sqrt(n)), no float rounding
    return -(-int(n) // cols), cols


def tile(frames: Sequence[np.ndarray] | np.ndarray, labels: Sequence[str] | None = None,
         cols: int | None = None, gap: int = 2) -> np.ndarray:
    """Tile equally sized RGB frames into one image, row-major (frame 0 top-left).

    Layout, for ``n`` frames of ``H x W`` pixels and ``rows = ceil(n / cols)``: frame ``k`` sits
    at row ``k // cols``, column ``k % cols``, its top-left pixel at
    ``y = (k // cols) * (H + gap)``, ``x = (k % cols) * (W + gap)``. The image is
    ``rows * H + (rows - 1) * gap`` pixels high and ``cols * W + (cols - 1) * gap`` wide, each
    rounded up to an even number (H.264 in yuv420p needs even sizes). Gaps, empty cells and the
    padding are :data:`BACKGROUND`.

    Args:
        frames: ``n`` arrays of shape (H, W, 3) and dtype uint8, or one (n, H, W, 3) array.
        labels: ``None``, or one string per frame (e.g. ``"env 3  seed 45"``), drawn in light text
            on a translucent dark box in the tile's top-left corner, clipped to the tile; the font
            is ``max(10, H // 16)`` pixels.
        cols: number of columns; default ``ceil(sqrt(n))`` (see :func:`grid_shape`).
        gap: pixels between neighbouring tiles, >= 0.

    Returns:
        The tiled image, an (height, width, 3) uint8 array with even height and width.

    Raises:
        ValueError: no frames, frames of different shapes or not uint8 RGB, labels of another
            length than frames, ``cols < 1`` or ``gap < 0``.

    >>> tile(np.zeros((5, 48, 64, 3), np.uint8)).shape   # 2 x 3 grid, 2 px gaps
    (98, 196, 3)
    """
    frames = _check_frames(frames)
    n, (height, width) = len(frames), frames[0].shape[:2]
    labels = _check_labels(labels, n)
    if cols is None:
        cols = grid_shape(n)[1]
    if int(cols) != cols or cols < 1:
        raise ValueError(f"cols must be an integer >= 1, got {cols!r}")
    if int(gap) != gap or gap < 0:
        raise ValueError(f"gap must be an integer >= 0 (pixels), got {gap!r}")
    cols, gap = int(cols), int(gap)
    rows = -(-n // cols)
    out_h = _even(rows * height + (rows - 1) * gap)
    out_w = _even(cols * width + (cols - 1) * gap)
    image = np.empty((out_h, out_w, 3), np.uint8)
    image[:] = BACKGROUND
    for k, frame in enumerate(frames):
        y, x = (k // cols) * (height + gap), (k % cols) * (width + gap)
        image[y:y + height, x:x + width] = frame if labels is None else _label(frame, labels[k])
    return image


def _even(size: int) -> int:
    return size + size % 2


def _check_frames(frames) -> list[np.ndarray]:
    """The frames as a list of (H, W, 3) uint8 arrays of one shape, or a ValueError naming which."""
    if isinstance(frames, np.ndarray) and frames.ndim == 3:
        raise ValueError(f"frames is one image of shape {frames.shape}; pass a list of "
                         f"(H, W, 3) frames or an (N, H, W, 3) array")
    frames = [np.asarray(frame) for frame in frames]
    if not frames:
        raise ValueError("frames is empty: tile() needs at least one (H, W, 3) uint8 frame")
    first = frames[0]
    if first.dtype != np.uint8 or first.ndim != 3 or first.shape[2] != 3 or 0 in first.shape:
        raise ValueError(f"frames[0] must be an (H, W, 3) uint8 RGB array, "
                         f"got shape {first.shape} dtype {first.dtype}")
    for k, frame in enumerate(frames[1:], start=1):
        if frame.shape != first.shape or frame.dtype != np.uint8:
            raise ValueError(f"frames[{k}] has shape {frame.shape} dtype {frame.dtype}; every "
                             f"frame must match frames[0]: shape {first.shape} dtype uint8")
    return frames


def _check_labels(labels, n: int) -> list[str] | None:
    if labels is None:
        return None
    if isinstance(labels, str):
        raise ValueError("labels must be a sequence of strings, one per frame, not one string")
    labels = [str(label) for label in labels]
    if len(labels) != n:
        raise ValueError(f"labels has {len(labels)} entries but there are {n} frames; "
                         f"give one label per frame")
    return labels


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at ``size`` px (Pillow >= 10.1), else its fixed bitmap font."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1, or no FreeType
        return ImageFont.load_default()


def _label(frame: np.ndarray, text: str) -> np.ndarray:
    """A copy of ``frame`` with ``text`` on a translucent dark box in its top-left corner."""
    height, width = frame.shape[:2]
    font = _font(max(10, height // 16))
    pad = max(2, height // 64)
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.rectangle((0, 0, right - left + 2 * pad - 1, bottom - top + 2 * pad - 1), fill=LABEL_BOX)
    draw.text((pad - left, pad - top), text, font=font, fill=LABEL_TEXT)
    labelled = Image.alpha_composite(Image.fromarray(frame).convert("RGBA"), overlay)
    return np.asarray(labelled.convert("RGB"))


def _import_imageio():
    """``imageio.v2`` with a working ffmpeg, or a :class:`VideoUnavailableError`."""
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg
        imageio_ffmpeg.get_ffmpeg_exe()  # raises RuntimeError when the binary is missing
    except (ImportError, RuntimeError):
        raise VideoUnavailableError(
            f"--video needs imageio and imageio-ffmpeg: {INSTALL_HINT}") from None
    return imageio


def check_path(path: str | Path) -> Path:
    """``path`` as a Path, if a video can be written there.

    Raises:
        VideoPathError: it does not end in ``.mp4`` or its directory does not exist.
    """
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise VideoPathError(f"video path must end in .mp4 (H.264 in an mp4), got '{path}'")
    if not path.parent.is_dir():
        raise VideoPathError(f"cannot write video '{path}': directory "
                             f"'{path.parent}' does not exist; create it first")
    return path


class VideoWriter:
    """Write RGB images to an H.264 mp4 (yuv420p) through imageio's ffmpeg plugin.

    The first appended image fixes the video's size; every image is written unchanged in size,
    so its height and width must be even (:func:`tile` pads to even sizes). ffmpeg (bundled
    with ``imageio-ffmpeg``) runs as its own process from the first :meth:`append` to
    :meth:`close`. Closing after zero frames writes no file.

    Args:
        path: where to write, ending in ``.mp4``; its directory must exist. Overwritten.
        fps: playback rate in frames per second (> 0), e.g. the env's control rate divided by
            the number of steps per recorded frame.
        quality: 0 (smallest file) to 10 (near lossless); imageio maps it to libx264's
            ``crf = int((1 - quality / 10) * 51)``, so the default 7 is crf 15.

    Raises:
        VideoPathError: ``path`` does not end in ``.mp4`` or its directory does not exist.
        VideoUnavailableError: imageio or imageio-ffmpeg is not installed.

    Example::

        with VideoWriter("run.mp4", fps=25) as video:
            video.append(tile(frames))
        video.frames_written   # 1
    """

    def __init__(self, path: str | Path, fps: float = 25, quality: float = 7):
        self.path = check_path(path)
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a finite number > 0, got {fps!r}")
        if not 0 <= quality <= 10:
            raise ValueError(f"quality must be in [0, 10] (10 = best), got {quality!r}")
        self._imageio = _import_imageio()
        self.fps, self.quality = fps, quality
        self.frames_written = 0
        self.size: tuple[int, int] | None = None  # (height, width), set by the first frame
        self._writer = None
        self._closed = False

    def append(self, image: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB image; H and W even and, after the first, unchanged.

        Raises:
            ValueError: a wrong dtype or shape, an odd size, or another size than the first
                frame's; or the writer is closed.
        """
        if self._closed:
            raise ValueError(f"VideoWriter for '{self.path}' is closed")
        image = np.asarray(image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"a video frame must be an (H, W, 3) uint8 RGB array, "
                             f"got shape {image.shape} dtype {image.dtype}")
        size = image.shape[:2]
        if self.size is None:
            if size[0] % 2 or size[1] % 2 or 0 in size:
                raise ValueError(f"a video frame's height and width must be even (H.264 "
                                 f"yuv420p), got {size[0]}x{size[1]}; tile() pads to even sizes")
            self.size = size
            self._writer = self._open()
        elif size != self.size:
            raise ValueError(f"frame {self.frames_written} is {size[0]}x{size[1]} (HxW) but "
                             f"'{self.path}' is {self.size[0]}x{self.size[1]}, the size of its "
                             f"first frame; every frame must have that size")
        self._writer.append_data(image)
        self.frames_written += 1

    def _open(self):
        # macro_block_size=2: imageio-ffmpeg rescales sizes that are not a multiple of it, and
        # append() only lets even sizes through, so frames keep their size (16 would rescale).
        return self._imageio.get_writer(
            str(self.path), format="FFMPEG", mode="I", fps=self.fps, codec="libx264",
            quality=self.quality, pixelformat="yuv420p", macro_block_size=2,
            ffmpeg_log_level="error",
            # index first (plays while downloading); each frame encoded as it comes, without
            # look-ahead, so the simulation's CPU is shared evenly and close() is immediate
            output_params=["-movflags", "+faststart", "-preset", "veryfast",
                           "-tune", "zerolatency"])

    def close(self) -> int:
        """Finish the file (waits for ffmpeg); idempotent.

        Returns:
            The number of frames written.
        """
        if not self._closed:
            self._closed = True
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        return self.frames_written

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()  # also on an exception: the frames so far make a playable video


def tile_size(num_envs: int, max_width: int = 1296) -> tuple[int, int]:
    """(width, height) of each env's 4:3 tile so the grid is about ``max_width`` wide at most:
    320 x 240 up to 4 columns (16 envs), smaller beyond, never under 160 x 120."""
    cols = grid_shape(num_envs)[1]
    width = max(160, min(320, max_width // cols // 8 * 8))  # a multiple of 8: even height
    return width, width * 3 // 4


class BatchRecorder:
    """Films every env of a vector env into one mp4, one tiled frame per :meth:`capture`.

    Args:
        vec: a ``SpaceRosVectorEnv`` made with ``render_mode="rgb_array"`` (any backend: each
            env is drawn where it lives).
        video: where the frames go (a :class:`VideoWriter`, or an ``.mp4`` path to open one
            at 25 fps: capture every second agent step for real time).
        labels: one caption per env (default ``env i``).
    """

    def __init__(self, vec, video: VideoWriter | str | Path,
                 labels: Sequence[str] | None = None):
        if getattr(vec, "render_mode", None) != "rgb_array":
            raise ValueError('BatchRecorder needs a vector env made with render_mode="rgb_array"')
        self.vec = vec
        self.labels = list(labels) if labels is not None else \
            [f"env {i}" for i in range(vec.num_envs)]
        _check_labels(self.labels, vec.num_envs)
        self.writer = video if isinstance(video, VideoWriter) else VideoWriter(video)

    @property
    def frames_written(self) -> int:
        return self.writer.frames_written

    def capture(self) -> None:
        """Render every env now and append the tiled frame."""
        self.writer.append(tile(self.vec.render(), self.labels))

    def close(self) -> int:
        """Finish the file; returns the number of frames written."""
        return self.writer.close()
