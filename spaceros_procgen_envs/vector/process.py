"""The ``process`` backend: one worker process per slice of envs, buffers in shared memory.

Protocol (Gymnasium's ``AsyncVectorEnv`` is the model). The parent sends ``(command, data)``
over a duplex pipe; the worker answers ``(payload, ok)``; ``ok=False`` carries
``(exception type, message, traceback)`` home and the worker exits. After each reply a worker
polls its pipe for :data:`~.protocol.SPIN_S` before it blocks, so the next step of a busy loop
starts at once on warm caches, while an idle batch sleeps.

=================  ===========================  =================================================
command            data                         reply payload
=================  ===========================  =================================================
(start-up)         -                            :class:`~.batch.Layout` of the built slice
``attach``         num_envs, then one fd        None (the shared block is mapped)
``step``           None (actions are in shm)    None (results are in shm)
``reset``          (seeds, mask) of the slice   None (first observations are in shm)
``robot_states``   None                         the slice's robot-state arrays
``views``          (width, height)              list of (H, W, 3) uint8 pictures, one per env
``close``          None                         None, then the worker exits
=================  ===========================  =================================================

The shared block holds actions, observations (state and depth, RGB images), info, rewards and
flags of the whole batch;
the parent's :class:`~.batch.Buffers` and every worker's rows are views of it. It is an
anonymous ``memfd`` (no ``/dev/shm`` name at any time) handed to the workers over the pipe,
so the kernel frees it with the last process that maps it: nothing can be left behind by
``close()``, an exception, Ctrl-C, SIGTERM or even SIGKILL of the parent.

Workers are daemon processes that ignore SIGINT (the parent handles Ctrl-C and stops them)
and exit when their pipe closes, i.e. when the parent is gone. A dead worker is seen at once
through its process sentinel and raised as :class:`~.backends.WorkerError` naming its index
and exit code; a worker that raises ships its traceback home the same way. Either closes the
whole batch. ``close()`` asks every worker to close, waits up to 2 s, then terminates (and
kills) the rest; a finalizer does the same at exit when ``close()`` was never called. A worker
that hangs without dying is not detected: the parent waits for it.

Start method: ``fork`` while the parent runs no other Python thread and has made no GL
context (workers inherit the imported modules: 16 perseverance envs in 2 workers are ready in
0.38 s, 2 envs in 0.1 s), else ``forkserver`` with this module preloaded, because forking a
threaded parent (a ROS node, Ray, a renderer's native threads) can deadlock a child on a lock
another thread held; the fork server pays the imports once (+0.6 s), then starts workers as fast
as fork. ``spawn`` (1.1 to 1.7 s here) only where neither exists. Measured on 2 cores;
``start_method=`` overrides the choice. As with any ``multiprocessing`` code, a script that may
start workers without fork needs the ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import mmap
import multiprocessing as mp
import os
import signal
import traceback
import weakref
from multiprocessing import reduction
from multiprocessing.connection import Connection, wait
from typing import Any, NoReturn

import numpy as np

from .. import forksafe, gcfreeze
from ..assets import cache
from ..sim.cameras import gl_started
from .batch import Buffers, EnvFactory, Layout, obs_views, split
from .batch_slice import make_slice
from .protocol import Backend, RemoteTraceback, WorkerError, join_states, spin

CLOSE_TIMEOUT_S = 2.0  # SPEC 9: Ctrl-C / SIGTERM shuts down within 2 s
ALIGN = 64  # bytes: each array of the shared block starts on its own cache line


# --------------------------------------------------------------------------- shared block
def _plan(num_envs: int, layout: Layout) -> tuple[list[tuple], int]:
    """``(name, dtype, shape, offset)`` of each array of the shared block, and its size (B)."""
    n, arrays, size = num_envs, [], 0
    for name, dtype, shape in [("actions", np.float32, (n, layout.action_dim)),
                               ("obs", np.float32, (n, layout.obs_size)),
                               ("info", np.float64, (n, len(layout.info_keys))),
                               ("rewards", np.float64, (n,)),
                               ("terminated", np.bool_, (n,)), ("truncated", np.bool_, (n,)),
                               ("images", np.uint8, (n, layout.image_size))]:
        size = -(-size // ALIGN) * ALIGN
        arrays.append((name, np.dtype(dtype), shape, size))
        size += int(np.prod(shape)) * np.dtype(dtype).itemsize
    return arrays, size


def carve(block: mmap.mmap, num_envs: int, layout: Layout) -> tuple[Buffers, np.ndarray]:
    """The batch :class:`Buffers` and the (num_envs, action_dim) actions, as views of ``block``."""
    views = {name: np.frombuffer(block, dtype, int(np.prod(shape)), offset).reshape(shape)
             for name, dtype, shape, offset in _plan(num_envs, layout)[0]}
    out = Buffers(views["obs"], obs_views(views["obs"], layout.observation_space, views["images"]),
                  views["rewards"], views["terminated"], views["truncated"], views["info"],
                  tuple(layout.info_keys), views["images"])
    return out, views["actions"]


def _anonymous_fd(size: int) -> int:
    """A file descriptor of ``size`` zero bytes of shared memory with no name in any directory."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("spaceros-batch", os.MFD_CLOEXEC)
    else:  # not Linux: an unlinked temporary file
        import tempfile

        fd, path = tempfile.mkstemp(prefix="spaceros-batch-")
        os.unlink(path)
    os.ftruncate(fd, size)
    return fd


# --------------------------------------------------------------------------- worker side
class _Worker:
    """What runs in a worker process: its slice, its rows of the shared block, the commands."""

    def __init__(self, factory: EnvFactory, start: int, stop: int, conn: Connection):
        self.start, self.stop, self.conn = start, stop, conn
        self.piece = make_slice(factory.build(start, stop))
        gcfreeze.hold()  # the worker lives as long as its slice (see gcfreeze)
        self.layout = Layout.of(self.piece.envs[0])
        self.out: Buffers | None = None
        self.actions: np.ndarray | None = None

    def serve(self) -> None:
        """Reply to commands until ``close``; raises EOFError when the parent is gone."""
        self.conn.send((self.layout, True))
        handlers = {"step": self.step, "reset": self.reset, "robot_states": self.robot_states,
                    "attach": self.attach, "views": self.views}
        while True:
            command, data = self._next_command()
            if command == "close":
                self.piece.close()
                self.conn.send((None, True))
                return
            if command not in handlers:
                raise RuntimeError(f"unknown command {command!r}; expected one of "
                                   f"{', '.join(handlers)} or close")
            self.conn.send((handlers[command](data), True))

    def _next_command(self) -> tuple[str, Any]:
        """The parent's next ``(command, data)``: polled for :data:`~.protocol.SPIN_S`, then
        waited for."""
        spin(lambda: self.conn.poll(0))
        return self.conn.recv()

    def step(self, _) -> None:
        self.piece.step(self.actions, self.out)

    def reset(self, data: tuple) -> None:
        self.piece.reset(self.out, *data)

    def robot_states(self, ee: bool) -> dict[str, Any]:
        return self.piece.robot_state_arrays(ee)

    def views(self, size: tuple[int, int]) -> list[np.ndarray]:
        return self.piece.views(*size)

    def attach(self, num_envs: int) -> None:
        """Map the shared block (its fd follows the command) and take this slice's rows."""
        block = _map(reduction.recv_handle(self.conn), _plan(num_envs, self.layout)[1])
        whole, actions = carve(block, num_envs, self.layout)
        self.out, self.actions = whole.view(self.start, self.stop), actions[self.start:self.stop]


def _worker(index: int, factory: EnvFactory, start: int, stop: int, conn: Connection,
            parent_end: Connection, cache_dir: str | None = None) -> None:
    """A worker process's whole life: build envs ``start..stop-1``, then serve commands.

    ``cache_dir`` is the parent's asset cache now: a worker from the fork server inherits the
    server's environment, which may be older than the parent's."""
    if cache_dir is not None:
        os.environ[cache.ENV_VAR] = cache_dir
    else:
        os.environ.pop(cache.ENV_VAR, None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a forked parent's handler is not ours
    os.environ.setdefault("LP_NUM_THREADS", "1")  # the workers fill the cores: a CPU renderer
    # (llvmpipe) drawing with more threads of its own only adds contention (+33 % without)
    parent_end.close()  # inherited (fork) or passed (spawn): with it open, no EOF would come
    try:
        _Worker(factory, start, stop, conn).serve()
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the parent is gone: exit quietly
    except Exception as exc:  # noqa: BLE001 - shipped home with its traceback
        try:
            conn.send(((type(exc).__name__, str(exc), traceback.format_exc()), False))
        except OSError:
            pass
    finally:
        conn.close()


def _map(fd: int, size: int) -> mmap.mmap:
    try:
        return mmap.mmap(fd, size)
    finally:
        os.close(fd)  # the mapping keeps the memory alive


# --------------------------------------------------------------------------- parent side
def _context(start_method: str | None):
    methods = mp.get_all_start_methods()
    if start_method is None:
        if "fork" in methods and forksafe.fork_is_safe() and not gl_started():
            start_method = "fork"
        else:
            start_method = "forkserver" if "forkserver" in methods else "spawn"
    if start_method not in methods:
        raise ValueError(f"start_method must be one of {', '.join(methods)}, got {start_method!r}")
    ctx = mp.get_context(start_method)
    if start_method == "forkserver":
        ctx.set_forkserver_preload([__name__])
    return ctx


def _shutdown(processes: list, conns: list[Connection], timeout_s: float = CLOSE_TIMEOUT_S) -> None:
    """Ask every worker to close, then terminate (and kill) the ones still alive."""
    for conn in conns:
        try:
            conn.send(("close", None))
        except (OSError, ValueError):
            pass
    processes = [process for process in processes if process.pid is not None]  # started
    for process in processes:
        process.join(timeout_s)
    for process in processes:
        if process.is_alive():
            process.terminate()
            process.join(0.5)
        if process.is_alive():
            process.kill()
            process.join(0.5)
    for conn in conns:
        conn.close()


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "closed its pipe"
    if exitcode < 0:
        try:
            return f"died with exit code {exitcode} (killed by {signal.Signals(-exitcode).name})"
        except ValueError:
            pass
    return f"died with exit code {exitcode}"


class ProcessBackend(Backend):
    """``workers`` processes, each owning a contiguous slice of the batch.

    Args:
        factory: how to build a slice (pickled to each worker).
        num_envs: batch size.
        workers: number of processes (at most ``num_envs``).
        start_method: ``fork``, ``forkserver`` or ``spawn``; None picks (see the module doc).

    Attributes:
        processes: the worker processes, in slice order (``ranges[i]`` is worker i's envs).
    """

    name = "process"

    def __init__(self, factory: EnvFactory, num_envs: int, workers: int,
                 start_method: str | None = None):
        ctx = _context(start_method)
        self.ranges = split(num_envs, workers)
        self.processes, self._conns = [], []
        self._awaiting: set[int] = set()  # workers whose reply to ``_command`` is due
        self._command, self._replies = "start-up", {}
        self._finalizer = weakref.finalize(self, _shutdown, self.processes, self._conns)
        try:
            for index, (start, stop) in enumerate(self.ranges):
                parent, child = ctx.Pipe(duplex=True)
                process = ctx.Process(target=_worker, name=f"spaceros-worker-{index}",
                                      args=(index, factory, start, stop, child, parent,
                                            os.environ.get(cache.ENV_VAR)),
                                      daemon=True)
                self.processes.append(process)
                self._conns.append(parent)
                process.start()
                child.close()  # only the worker holds it now, so its death reads as EOF
                self._awaiting.add(index)  # its start-up reply: the Layout
            self.layout = self._check_layouts(self._receive("start-up"))
            self._attach(num_envs)
        except BaseException:
            self.close()
            raise

    def _check_layouts(self, layouts: list[Layout]) -> Layout:
        for index, layout in enumerate(layouts[1:], 1):
            if layout != layouts[0]:
                raise WorkerError(f"process worker {index} built envs with another layout "
                                  f"({layout}) than worker 0 ({layouts[0]})", index)
        return layouts[0]

    def _attach(self, num_envs: int) -> None:
        size = _plan(num_envs, self.layout)[1]
        fd = _anonymous_fd(size)
        try:
            self._block = _map(os.dup(fd), size)
            self._send("attach", [num_envs] * len(self._conns))
            for process, conn in zip(self.processes, self._conns):
                reduction.send_handle(conn, fd, process.pid)
            self._receive("attach")
        finally:
            os.close(fd)
        self.out, self._actions = carve(self._block, num_envs, self.layout)

    # --- the protocol -------------------------------------------------------------------------
    def _send(self, command: str, per_worker: list[Any] | None = None) -> None:
        if self._awaiting:  # a call interrupted by Ctrl-C: its replies come first
            self._receive(self._command)
        self._command, self._replies = command, {}
        for index, conn in enumerate(self._conns):
            try:
                conn.send((command, None if per_worker is None else per_worker[index]))
            except OSError:
                self._died(index, command)
            self._awaiting.add(index)

    def _receive(self, command: str) -> list[Any]:
        """Every worker's reply payload, in worker order; a failed or dead worker raises.

        Interrupted (Ctrl-C), it can be called again and waits for the replies still due."""
        sentinels = {process.sentinel: i for i, process in enumerate(self.processes)}
        conns = {conn: i for i, conn in enumerate(self._conns)}
        while self._awaiting:
            ready = wait([self._conns[i] for i in self._awaiting] +
                         [self.processes[i].sentinel for i in self._awaiting])
            for obj in sorted(ready, key=lambda o: o in sentinels):  # replies before deaths
                index = conns.get(obj, sentinels.get(obj))
                if index not in self._awaiting:
                    continue
                if obj in sentinels and not self._conns[index].poll(0):
                    self._died(index, command)
                self._replies[index] = self._reply(index, command)
                self._awaiting.discard(index)
        return [self._replies[i] for i in range(len(self._conns))]

    def _reply(self, index: int, command: str) -> Any:
        try:
            payload, ok = self._conns[index].recv()
        except (EOFError, OSError):
            self._died(index, command)
        if not ok:
            kind, message, remote_tb = payload
            start, stop = self.ranges[index]
            error = WorkerError(f"process worker {index} (envs {start}..{stop - 1}) failed during "
                                f"{command}: {kind}: {message}", index, remote_traceback=remote_tb)
            self._fail(error, RemoteTraceback(remote_tb))
        return payload

    def _died(self, index: int, command: str) -> NoReturn:
        process = self.processes[index]
        process.join(1.0)
        start, stop = self.ranges[index]
        self._fail(WorkerError(f"process worker {index} (pid {process.pid}, envs {start}..{stop - 1})"
                               f" {_describe_exit(process.exitcode)} during {command}",
                               index, exitcode=process.exitcode))

    def _fail(self, error: WorkerError, cause: BaseException | None = None) -> NoReturn:
        """The batch lost a slice: stop every worker, then raise ``error``."""
        self.closed_because = f" since worker {error.index} failed ({error})"
        self.close()
        raise error from cause

    # --- Backend ------------------------------------------------------------------------------
    def _step_async(self, actions: np.ndarray) -> None:
        self._actions[...] = actions
        self._send("step")

    def _step_wait(self) -> None:
        self._receive("step")
        return None

    def _reset(self, seeds: list[int | None], mask: np.ndarray | None) -> None:
        self._send("reset", [(seeds[a:b], None if mask is None else mask[a:b])
                             for a, b in self.ranges])
        self._receive("reset")

    def _robot_state_arrays(self, ee: bool) -> dict[str, Any]:
        self._send("robot_states", [ee] * len(self._conns))
        return join_states(self._receive("robot_states"))

    def _views(self, width: int, height: int) -> list[np.ndarray]:
        self._send("views", [(width, height)] * len(self._conns))
        return [frame for frames in self._receive("views") for frame in frames]

    def _close(self) -> None:
        self._finalizer()  # runs _shutdown once (also at interpreter exit if never called)
