"""A slice's steps over one TCP connection: how the ``ray`` backend steps its actors.

A Ray actor call costs 0.7 to 1.7 ms each way on this 2-core machine while the actors compute
(16 to 256 ingenuity envs, 2 actors: a step of 128 envs in an actor took 4.8 ms and its call
8.4 ms), so the ``ray`` backend uses Ray to place, start, restart and kill its actors and for
the rare calls (reset, robot states, pictures), and this channel for the step: the actor listens
on its node's address, the driver connects, and a step is one message each way.

The driver opens the connection with the actor's random :data:`TOKEN_BYTES`-byte token, which
it learnt over Ray's own authenticated call; the actor drops a connection that does not, so
nothing else on the network can step the slice. Messages have fixed sizes, known to both ends
from the slice's :class:`~.batch.Layout`:

* driver -> actor: :data:`STEP` and the slice's (n, action_dim) float32 actions, or
  :data:`CLOSE`;
* actor -> driver: :data:`OK` and the bytes of the slice's :meth:`~.batch.Buffers.arrays`
  in order, or :data:`FAILED`, a 4-byte length and the pickled ``(type name, message,
  traceback)`` of what the step raised.

The actor's end (:class:`ChannelServer`) serves in a thread of its own; the driver never has a
step and a Ray call of the same actor in flight at once, so the slice is used by one thread at
a time. After each reply it polls (:func:`~.protocol.spin`) before it blocks, as a
``process`` worker does, so a busy loop's next step starts at once.
"""

from __future__ import annotations

import hmac
import pickle
import secrets
import select
import socket
import struct
import threading
import time
import traceback
from collections.abc import Callable

import numpy as np

from .protocol import spin

STEP, CLOSE = b"S", b"Q"
OK, FAILED = b"\x00", b"\x01"
ACCEPT_TIMEOUT_S = 60.0  # the driver connects right after it asked for the address
TOKEN_BYTES = 16
_LENGTH = struct.Struct("!I")


class ChannelClosed(ConnectionError):
    """The other end is gone (the actor died, or the driver closed the batch)."""


class StepFailed(Exception):
    """The actor's step raised: ``kind``, ``message`` and ``remote_traceback`` say what."""

    def __init__(self, kind: str, message: str, remote_traceback: str):
        super().__init__(f"{kind}: {message}")
        self.kind, self.message, self.remote_traceback = kind, message, remote_traceback


def _receive_exactly(sock: socket.socket, view: memoryview) -> None:
    """Fill ``view`` from ``sock``; :class:`ChannelClosed` at end of stream."""
    got = 0
    while got < len(view):
        count = sock.recv_into(view[got:])
        if count == 0:
            raise ChannelClosed("the connection closed")
        got += count


def _tune(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one message, one packet


class ChannelServer:
    """The actor's end: a listening socket on ``host`` and the thread that steps the slice.

    Args:
        step: ``step(actions)`` runs one step of the slice on its (n, action_dim) actions and
            leaves the results in ``arrays``.
        actions: the (n, action_dim) float32 array each step's actions are received into.
        arrays: the slice's result arrays, sent back in this order after each step.
        host: the address to listen on (the node's address, which the driver can reach).
    """

    def __init__(self, step: Callable[[np.ndarray], None], actions: np.ndarray,
                 arrays: tuple[np.ndarray, ...], host: str):
        self._step, self._actions, self._arrays = step, actions, arrays
        self._listener = socket.create_server((host, 0))
        self.token = secrets.token_bytes(TOKEN_BYTES)
        self.address: tuple[str, int] = (host, self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, daemon=True,
                                        name="spaceros-step-channel")
        self._thread.start()

    def _accept(self) -> socket.socket | None:
        """The driver's connection (the first to show the token), or None after
        :data:`ACCEPT_TIMEOUT_S`."""
        deadline = time.monotonic() + ACCEPT_TIMEOUT_S
        with self._listener:
            while (left := deadline - time.monotonic()) > 0:
                self._listener.settimeout(left)
                try:
                    sock, _ = self._listener.accept()
                    sock.settimeout(max(0.1, deadline - time.monotonic()))
                    token = memoryview(bytearray(TOKEN_BYTES))
                    _receive_exactly(sock, token)
                except OSError:  # the deadline, or a caller that went away
                    continue
                if hmac.compare_digest(token.tobytes(), self.token):
                    sock.settimeout(None)
                    return sock
                sock.close()
        return None

    def _serve(self) -> None:
        sock = self._accept()
        if sock is None:
            return  # nobody connected: the driver went away before it could
        _tune(sock)
        command = memoryview(bytearray(1))
        actions = memoryview(self._actions).cast("B")
        with sock:
            try:
                while True:
                    spin(lambda: bool(select.select([sock], [], [], 0)[0]))
                    _receive_exactly(sock, command)
                    if command.tobytes() != STEP:
                        return
                    _receive_exactly(sock, actions)
                    sock.sendall(self._result())
            except (ChannelClosed, OSError):
                return  # the driver is gone

    def _result(self) -> bytes:
        try:
            self._step(self._actions)
        except Exception as exc:  # noqa: BLE001 - shipped to the driver, which closes the batch
            report = pickle.dumps((type(exc).__name__, str(exc), traceback.format_exc()))
            return FAILED + _LENGTH.pack(len(report)) + report
        return OK + b"".join(array.tobytes() for array in self._arrays if array.size)


class ChannelClient:
    """The driver's end of one actor's channel.

    Args:
        address: what the actor's :class:`ChannelServer` listens on.
        token: its :attr:`ChannelServer.token`.
        arrays: where each step's results go (the driver's rows of the batch buffers, in the
            order the server sends them).
        timeout_s: connecting may take this long.
    """

    def __init__(self, address: tuple[str, int], token: bytes, arrays: tuple[np.ndarray, ...],
                 timeout_s: float = 5.0):
        self._sock = socket.create_connection(tuple(address), timeout=timeout_s)
        self._sock.sendall(token)
        self._sock.settimeout(None)
        _tune(self._sock)
        self._targets = [memoryview(array).cast("B") for array in arrays if array.size]
        self._reply = memoryview(bytearray(sum(len(view) for view in self._targets)))
        self._status = memoryview(bytearray(1))
        self._got = 0  # bytes of the reply in hand (status included)

    def send_step(self, actions: np.ndarray) -> None:
        """Start a step with ``actions`` ((n, action_dim) float32, C-contiguous)."""
        try:
            self._sock.sendall(STEP + actions.tobytes())
        except OSError as exc:
            raise ChannelClosed(str(exc)) from None

    def wait(self, check: Callable[[], None], poll_s: float) -> None:
        """Receive the step's results into the arrays.

        Args:
            check: called every ``poll_s`` while no reply has come (it raises if the actor
                is gone: a node lost without closing the connection).
            poll_s: see ``check``.

        Raises:
            ChannelClosed: the connection closed (the actor died).
            StepFailed: the step raised in the actor.
        """
        sock = self._sock
        while not select.select([sock], [], [], poll_s)[0]:
            check()
        try:
            if not self._got:
                _receive_exactly(sock, self._status)
                self._got = 1
            if self._status.tobytes() == FAILED:
                self._got = 0
                length = memoryview(bytearray(_LENGTH.size))
                _receive_exactly(sock, length)
                report = memoryview(bytearray(_LENGTH.unpack(length)[0]))
                _receive_exactly(sock, report)
                raise StepFailed(*pickle.loads(report))
            while self._got <= len(self._reply):  # resumable after Ctrl-C: no byte is lost
                count = sock.recv_into(self._reply[self._got - 1:])
                if count == 0:
                    raise ChannelClosed("the connection closed")
                self._got += count
        except ChannelClosed:
            raise
        except OSError as exc:
            raise ChannelClosed(str(exc)) from None
        self._got = 0
        offset = 0
        for target in self._targets:
            target[:] = self._reply[offset:offset + len(target)]
            offset += len(target)

    def close(self) -> None:
        """Tell the actor's thread to stop and close the connection (safe to call twice)."""
        try:
            self._sock.sendall(CLOSE)
        except OSError:
            pass
        self._sock.close()
