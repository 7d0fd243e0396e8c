"""Keyboard sources for teleop: which keys are held now, and which were just pressed.

Two backends behind one interface (:class:`KeySource`), chosen by :func:`open_keyboard`:

* :class:`PynputKeys`, when an X display accepts connections: pynput's listener (XRecord, so it
  hears the whole display, whichever window has the focus) gives real press and release events.
  A release takes effect after ``release_grace_s`` (80 ms) unless the same key is pressed again
  meanwhile: X auto-repeat sends release + press pairs, which must neither stop the motion nor
  re-fire a toggle; 80 ms leaves room for a busy machine delaying the pair. A released key
  therefore stops its motion within 80 ms + one publish period (20 ms).
* :class:`TerminalKeys`, otherwise (no display, ssh, a container, ``--headless``): stdin in cbreak
  mode (no line buffering, no echo; Ctrl-C still interrupts). A terminal sends bytes and never a
  release, so a key counts as held for ``hold_s`` (0.15 s) after its last byte: the terminal's
  auto-repeat keeps a held key held, and the motion stops 0.15 s after the last repeat. The first
  repeat comes after the OS repeat delay (~0.25-0.6 s), so a held key moves for 0.15 s, pauses,
  then moves steadily. A toggle (gripper, reset) fires on a byte that follows no byte of the same
  key for ``toggle_gap_s`` (0.6 s), so holding K toggles once.

Keys are lower-case characters (``"w"``); a few named keys keep pynput's names (``"space"``).
"""

from __future__ import annotations

import os
import select
import sys
import termios
import threading
import time

from ..viewer import display_available


class KeyboardUnavailable(RuntimeError):
    """This keyboard backend cannot run here (the message says why and what to do)."""


class KeySource:
    """Held keys and press edges, fed by a backend thread; thread-safe."""

    name = "keys"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pressed: list[str] = []

    def start(self) -> None:
        """Begin listening."""

    def stop(self) -> None:
        """Stop listening and give the terminal back as it was."""

    def held(self, now: float | None = None) -> frozenset[str]:
        """Keys held at ``now`` (``time.monotonic()`` seconds; default: now)."""
        raise NotImplementedError

    def pop_pressed(self) -> list[str]:
        """Keys newly pressed since the last call, in order (for toggles)."""
        with self._lock:
            pressed, self._pressed = self._pressed, []
        return pressed


def key_name(key) -> str | None:
    """pynput key -> ``"w"`` (characters lower-cased, so Shift changes nothing) or a key name."""
    char = getattr(key, "char", None)
    if char:
        return char.lower()
    name = getattr(key, "name", None)
    return name or None


class EventKeys(KeySource):
    """Held keys from press and release events (the logic of :class:`PynputKeys`).

    Args:
        release_grace_s: a release counts only if no press of that key follows within this time
            (X auto-repeat sends release + press pairs at the same instant).
    """

    name = "key events"

    def __init__(self, release_grace_s: float = 0.08):
        super().__init__()
        self.release_grace_s = release_grace_s
        self._down: set[str] = set()
        self._released: dict[str, float] = {}  # key -> time of its pending release

    def press(self, name: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._settle(now)
            self._released.pop(name, None)
            if name not in self._down:
                self._down.add(name)
                self._pressed.append(name)

    def release(self, name: str, now: float | None = None) -> None:
        with self._lock:
            self._released[name] = time.monotonic() if now is None else now

    def _settle(self, now: float) -> None:
        for name, when in list(self._released.items()):
            if now - when >= self.release_grace_s:
                self._down.discard(name)
                del self._released[name]

    def held(self, now: float | None = None) -> frozenset[str]:
        with self._lock:
            self._settle(time.monotonic() if now is None else now)
            return frozenset(self._down)


class PynputKeys(EventKeys):
    """Press/release events from pynput (X11). Raises :class:`KeyboardUnavailable` without it."""

    name = "pynput (X display)"

    def __init__(self, release_grace_s: float = 0.08):
        super().__init__(release_grace_s)
        try:
            from pynput import keyboard
        except ImportError as exc:  # not installed, or no X display it can open
            raise KeyboardUnavailable(
                f"pynput cannot listen here ({exc}); install it with "
                "`pip install 'spaceros_procgen_envs[keyboard]'` (./run.sh does) or use the "
                "terminal keys (--headless)") from None
        self._listener = keyboard.Listener(on_press=self._on_press, on_release=self._on_release)

    def start(self) -> None:
        self._listener.start()
        self._listener.wait()

    def stop(self) -> None:
        self._listener.stop()

    def _on_press(self, key) -> None:
        name = key_name(key)
        if name is not None:
            self.press(name)

    def _on_release(self, key) -> None:
        name = key_name(key)
        if name is not None:
            self.release(name)


class TerminalKeys(KeySource):
    """Key bytes from a terminal (cbreak mode); a key is held ``hold_s`` after its last byte.

    Args:
        fd: file descriptor to read (default: stdin).
        hold_s: how long one byte keeps its key held (covers the auto-repeat interval).
        toggle_gap_s: a byte is a new press only after this long without that key.
    """

    name = "terminal (stdin)"

    def __init__(self, fd: int | None = None, hold_s: float = 0.15, toggle_gap_s: float = 0.6):
        super().__init__()
        self.fd = sys.stdin.fileno() if fd is None else fd
        self.hold_s, self.toggle_gap_s = hold_s, toggle_gap_s
        self._last: dict[str, float] = {}
        self._saved_mode = None
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._read_loop, name="teleop-keys", daemon=True)
        self.eof = threading.Event()

    def start(self) -> None:
        if os.isatty(self.fd):
            self._saved_mode = termios.tcgetattr(self.fd)
            mode = termios.tcgetattr(self.fd)
            mode[3] &= ~(termios.ICANON | termios.ECHO)  # lflag: byte by byte, no echo; ISIG stays
            mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
            termios.tcsetattr(self.fd, termios.TCSANOW, mode)
        self._thread.start()

    def stop(self) -> None:
        if self._wake_w < 0:
            return
        os.write(self._wake_w, b"x")
        if self._thread.is_alive():
            self._thread.join(1.0)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._wake_r = self._wake_w = -1
        if self._saved_mode is not None:
            termios.tcflush(self.fd, termios.TCIFLUSH)
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved_mode)
            self._saved_mode = None

    def feed(self, data: bytes, now: float | None = None) -> None:
        """Record the keys in ``data`` (escape sequences such as arrows are skipped)."""
        now = time.monotonic() if now is None else now
        for char in _printable(data):
            key = char.lower()
            with self._lock:
                last = self._last.get(key)
                if last is None or now - last > self.toggle_gap_s:
                    self._pressed.append(key)
                self._last[key] = now

    def held(self, now: float | None = None) -> frozenset[str]:
        now = time.monotonic() if now is None else now
        with self._lock:
            return frozenset(k for k, t in self._last.items() if now - t < self.hold_s)

    def _read_loop(self) -> None:
        while True:
            ready, _, _ = select.select([self.fd, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                data = os.read(self.fd, 256)
            except OSError:
                data = b""
            if not data:
                self.eof.set()
                return
            self.feed(data)


def _printable(data: bytes) -> list[str]:
    """The printable characters of ``data``, without ANSI escape sequences (ESC [ ... final)."""
    out, i = [], 0
    while i < len(data):
        byte = data[i]
        if byte == 0x1B:  # ESC [ params final-byte (arrows, PageUp ...), or ESC + one byte
            i += 1
            if i < len(data) and data[i] in b"[O":
                i += 1
                while i < len(data) and not 0x40 <= data[i] <= 0x7E:
                    i += 1
            i += 1
            continue
        if 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        i += 1
    return out


class QuietTerminal:
    """While pynput listens, keep the terminal from echoing the keys (and drop them on exit)."""

    def __init__(self, fd: int | None = None):
        self.fd = sys.stdin.fileno() if fd is None else fd
        self._saved = None

    def __enter__(self) -> QuietTerminal:
        if os.isatty(self.fd):
            self._saved = termios.tcgetattr(self.fd)
            mode = termios.tcgetattr(self.fd)
            mode[3] &= ~(termios.ICANON | termios.ECHO)
            termios.tcsetattr(self.fd, termios.TCSANOW, mode)
        return self

    def __exit__(self, *exc) -> None:
        if self._saved is not None:
            termios.tcflush(self.fd, termios.TCIFLUSH)
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)


def open_keyboard(headless: bool = False, display: str | None = None,
                  hold_s: float = 0.15, log=print) -> KeySource:
    """pynput on a reachable X display (unless ``headless``), else the terminal; not started.

    Args:
        headless: force the terminal keys even when a display exists.
        display: X display name (default ``$DISPLAY``).
        hold_s: :class:`TerminalKeys` hold time.
        log: receives one line when pynput was wanted but cannot run.
    """
    if not headless and display_available(display):
        try:
            return PynputKeys()
        except KeyboardUnavailable as exc:
            log(f"teleop: {exc}; falling back to terminal keys")
    return TerminalKeys(hold_s=hold_s)
