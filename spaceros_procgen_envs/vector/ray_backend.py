"""The ``ray`` backend: Ray actors, each holding a slice of envs, here or on a cluster.

Ray places, starts, restarts and kills the actors and carries the rare calls (reset, robot
states, pictures); a step goes over each actor's own TCP connection (:mod:`.step_channel`):
the slice's actions out, its observations, info, rewards and flags home, one message each way.
A Ray call costs 0.7 to 1.7 ms each way here while the actors compute, the connection tens of
microseconds. An actor whose connection cannot be made (a firewall between the nodes) is
stepped over Ray calls instead, with a warning. By default each node holds one actor, on all of
its CPUs. Without ``ray_address`` a local Ray is started with one CPU per usable core
(unless Ray is already initialised, or ``$RAY_ADDRESS`` names a cluster);
``ray_address="auto"`` or ``"host:port"`` joins an existing cluster. The package must be
installed on its nodes; the driver's ``$SPACEROS_PROCGEN_CACHE_DIR``, when set, is the
actors' asset cache too.

A dead actor (``ray.kill``, a lost node, out of memory) is replaced by a new one that
rebuilds and resets its envs; ``info["worker_restarted"]`` is True for those envs on that
step while the other envs go on. An actor whose code raises, or a replacement that cannot
start, is a :class:`~.backends.WorkerError` with its index and the remote traceback.

``ray`` is imported here only, inside functions: the package imports and runs without it,
and ``backend="ray"`` without it says how to install it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from typing import Any, NoReturn

import numpy as np

from .. import gcfreeze
from ..assets import cache
from ..errors import ProcgenError
from .batch import EnvFactory, Layout, allocate, split
from .batch_slice import make_slice
from .protocol import Backend, RemoteTraceback, WorkerError, available_cores, join_states
from .step_channel import ChannelClient, ChannelClosed, ChannelServer, StepFailed

INSTALL_HINT = ('backend="ray" needs Ray, which is not installed: pip install '
                '"spaceros_procgen_envs[ray]" (or ./run.sh pip install ray)')
PROBE_TIMEOUT_S = 2.0   # TCP connect to the cluster address
JOIN_TIMEOUT_S = 15.0   # ray.init against an address that accepts connections
DEFAULT_PORT = 6379
CONNECT_TIMEOUT_S = 5.0  # the driver's connection to an actor's step channel
PING_PERIOD_S = 1.0     # a step with no reply for this long asks Ray whether its actor lives
log = logging.getLogger(__name__)


def import_ray():
    """``ray``, or a one-line :class:`ProcgenError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ProcgenError(INSTALL_HINT) from None
    return ray


def check_reachable(address: str | None = None) -> None:
    """Fail fast, before any asset work, where :func:`connect` would: Ray missing, or nothing
    listening at the cluster address (which :func:`connect` would join). Starts nothing, so the
    asset pool that runs next still forks from a process without Ray's threads."""
    ray = import_ray()
    if ray.is_initialized():
        return
    address = _resolve(address)
    if address != "local":
        _probe(address)


def _resolve(address: str | None) -> str:
    """The cluster :func:`connect` joins: ``address``, else ``$RAY_ADDRESS``, else ``"local"``."""
    return address or os.environ.get("RAY_ADDRESS") or "local"


def connect(address: str | None = None):
    """Make sure Ray is initialised and return the ``ray`` module.

    Args:
        address: None: use the running Ray, else join ``$RAY_ADDRESS`` if set, else start a
            local Ray (one CPU per usable core, no dashboard; a cluster left by ``ray start``
            is not joined by accident); ``"auto"``, ``"host:port"`` or ``"ray://host:port"``:
            join that cluster. Ignored when Ray is already initialised.

    Raises:
        ProcgenError: Ray is missing, or the cluster does not answer (one line, within
            ``PROBE_TIMEOUT_S`` for a closed port, ``JOIN_TIMEOUT_S`` at most).
    """
    ray = import_ray()
    if ray.is_initialized():
        return ray
    address = _resolve(address)
    if address == "local":
        ray.init(address="local", num_cpus=available_cores(), include_dashboard=False,
                 configure_logging=False)
        return ray
    _probe(address)
    return _join(ray, address)


def _join(ray, address: str):
    """``ray.init(address)`` in a helper thread, so an address that accepts connections but
    never answers like Ray costs ``JOIN_TIMEOUT_S``, not Ray's own minutes of retries."""
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)  # what ray.init does in the main thread
    outcome: dict[str, BaseException] = {}
    thread = threading.Thread(target=_init, args=(ray, address, outcome), daemon=True,
                              name="spaceros-ray-join")
    worker_log = logging.getLogger("ray._private.worker")
    level = worker_log.level
    worker_log.setLevel(logging.ERROR)  # "SIGTERM handler is not set ..." (we set it above)
    try:
        thread.start()
        thread.join(JOIN_TIMEOUT_S)
    finally:
        worker_log.setLevel(level)
    if thread.is_alive():
        raise ProcgenError(f"the Ray cluster at ray_address={address!r} did not answer within "
                           f"{JOIN_TIMEOUT_S:.0f} s; check the address (`ray status` on the head "
                           "node) or leave ray_address unset for a local Ray")
    if "error" in outcome:
        raise ProcgenError(f"cannot join the Ray cluster at ray_address={address!r}: "
                           f"{_first_line(outcome['error'])}") from None
    return ray


def _exit_on_sigterm(signum, frame) -> None:
    sys.exit(signum)


def _init(ray, address: str, outcome: dict) -> None:
    try:
        ray.init(address=address, configure_logging=False)
    except BaseException as exc:  # noqa: BLE001 - reported by connect()
        outcome["error"] = exc


def _probe(address: str) -> None:
    """Fail in seconds when nothing listens at ``host:port`` (Ray itself retries ~1 min)."""
    if address == "auto":
        return  # Ray finds (or fails to find) the local cluster at once
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        host, port = address.removeprefix("ray://"), str(DEFAULT_PORT)
    try:
        socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as exc:
        raise ProcgenError(f"no Ray cluster answers at ray_address={address!r} ({host}:{port}: "
                           f"{exc.strerror or exc or 'timed out'}); start one with `ray start "
                           "--head` or leave ray_address unset for a local Ray") from None


def _first_line(exc: BaseException) -> str:
    """``Type: first line`` of the innermost cause (Ray wraps the useful error)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def node_placements(ray) -> list[tuple[str | None, float]]:
    """``(node id, CPUs)`` of every live node with a CPU, most CPUs first: one actor each."""
    nodes = [(node["NodeID"], float(node.get("Resources", {}).get("CPU", 0)))
             for node in ray.nodes() if node.get("Alive")]
    nodes = sorted((node for node in nodes if node[1] >= 1), key=lambda node: -node[1])
    return nodes or [(None, 1.0)]


def split_by(n: int, weights: list[float]) -> list[tuple[int, int]]:
    """Contiguous (start, stop) ranges covering ``range(n)``, sized in proportion to
    ``weights`` (every range holds at least one env; at most ``n`` ranges)."""
    weights = list(weights[:max(1, n)])
    if len(set(weights)) <= 1:
        return split(n, len(weights))
    edges = np.round(np.cumsum([0.0, *weights]) / sum(weights) * n).astype(int)
    edges = np.maximum(edges, np.arange(len(edges)))  # at least one env each ...
    edges = np.minimum(edges, n - np.arange(len(edges))[::-1])  # ... and room for the rest
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


class SliceActor:
    """Envs ``start..stop-1`` in one Ray actor (wrapped with ``ray.remote`` at run time)."""

    def __init__(self, factory: EnvFactory, start: int, stop: int, cache_dir: str | None,
                 nthread: int = 1):
        if cache_dir:
            os.environ[cache.ENV_VAR] = cache_dir
        os.environ.setdefault("LP_NUM_THREADS", "1")  # a render thread draws on one core
        # (see process.py); a slice has one render thread per MuJoCo thread
        self.slice = make_slice(factory.build(start, stop), nthread)
        gcfreeze.hold()  # the actor lives as long as its slice (see gcfreeze)
        self.layout = Layout.of(self.slice.envs[0])
        self.out = allocate(stop - start, self.layout.observation_space, self.layout.info_keys)

    def get_layout(self) -> Layout:
        return self.layout

    def ping(self) -> int:
        """The actor's process id: answers while the actor lives (its step runs in the
        channel's thread, so this answers during a step too)."""
        return os.getpid()

    def threads(self) -> int:
        """The MuJoCo threads stepping this actor's slice."""
        return self.slice.view.batch.nthread

    def open_channel(self) -> tuple[tuple[str, int], bytes]:
        """Listen for the driver's step connection on this node's address; that address and
        the token the connection must open with."""
        import ray

        actions = np.zeros((self.slice.n, self.layout.action_dim), np.float32)
        server = ChannelServer(lambda acts: self.slice.step(acts, self.out), actions,
                               self.out.arrays(), ray.util.get_node_ip_address())
        return server.address, server.token

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        self.slice.step(actions, self.out)
        return self.out.arrays()

    def reset(self, seeds: list[int | None], mask: np.ndarray | None) -> tuple[np.ndarray, ...]:
        self.slice.reset(self.out, seeds, mask)
        return self.out.arrays()

    def robot_states(self, ee: bool = True) -> dict[str, Any]:
        return self.slice.robot_state_arrays(ee)

    def views(self, width: int, height: int) -> list[np.ndarray]:
        return self.slice.views(width, height)


class RayBackend(Backend):
    """Ray actors, each owning a contiguous slice of the batch.

    Args:
        factory: how to build a slice (sent to each actor).
        num_envs: batch size.
        workers: number of actors. Default: one actor per node, holding all of the node's CPUs
            and stepping its slice on as many MuJoCo threads, with slices sized to the nodes'
            CPUs (or, with ``ray_num_cpus`` given, the cluster's CPUs // ``ray_num_cpus``).
        ray_address: cluster to join (see :func:`connect`).
        ray_num_cpus: CPUs Ray reserves for each actor (default: 1 with ``workers``, else its
            node's); an actor steps on that many MuJoCo threads.

    Attributes:
        actors: the actor handles, in slice order (``ranges[i]`` is actor i's envs).
        restarts: how many times each actor was replaced.
        channels: each actor's step connection (:mod:`.step_channel`); None where it could not
            be made, and that actor is stepped over Ray calls.
    """

    name = "ray"

    def __init__(self, factory: EnvFactory, num_envs: int, workers: int | None = None,
                 ray_address: str | None = None, ray_num_cpus: float | None = None):
        if ray_num_cpus is not None and float(ray_num_cpus) <= 0:
            raise ValueError(f"ray_num_cpus must be > 0, got {ray_num_cpus}")
        self._ray = ray = connect(ray_address)
        if workers is None and ray_num_cpus is None:
            self._placements = node_placements(ray)[:num_envs]
        else:
            each = float(ray_num_cpus or 1.0)
            cpus = ray.cluster_resources().get("CPU", available_cores())
            self._placements = [(None, each)] * (workers or max(1, int(cpus // each)))
        self.ranges = split_by(num_envs, [cpus for _, cpus in self._placements])
        self._factory = factory
        self._cache_dir = str(cache.cache_dir()) if os.environ.get(cache.ENV_VAR) else None
        self._actor_class = ray.remote(SliceActor)
        self.actors, self.restarts = [], [0] * len(self.ranges)
        self._refs: dict[int, Any] = {}   # actor -> its pending Ray step call
        self._awaiting: set[int] = set()  # actors whose step reply is due on their channel
        self._lost: set[int] = set()      # actors found dead during this step
        self.channels: list[ChannelClient | None] = []
        self._restarted = np.zeros(num_envs, bool)
        try:
            self.actors = [self._spawn(i) for i in range(len(self.ranges))]
            layouts = self._gather([a.get_layout.remote() for a in self.actors], "start-up",
                                   restart=False)
            for index, layout in enumerate(layouts):
                if layout != layouts[0]:
                    raise WorkerError(f"ray actor {index} built envs with another layout", index)
            self.layout = layouts[0]
            self.out = allocate(num_envs, self.layout.observation_space, self.layout.info_keys)
            self.channels = self._connect(range(len(self.actors)))
        except BaseException:
            self.close()
            raise

    def _spawn(self, index: int):
        start, stop = self.ranges[index]
        node, cpus = self._placements[index]
        options = {"num_cpus": cpus, "max_restarts": 0}
        if node is not None:  # its node if it lives, else anywhere (a replacement after a loss)
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node, soft=True)
        return self._actor_class.options(**options).remote(
            self._factory, start, stop, self._cache_dir, max(1, int(cpus)))

    def _connect(self, indices) -> list[ChannelClient | None]:
        """Step channels to actors ``indices`` (their servers opened in one round of calls);
        None where no connection can be made (that actor is then stepped over Ray calls)."""
        indices = list(indices)
        opened = self._gather([self.actors[i].open_channel.remote() for i in indices],
                              "start-up", restart=False)
        channels = []
        for index, (address, token) in zip(indices, opened):
            start, stop = self.ranges[index]
            try:
                channels.append(ChannelClient(address, token, self.out.view(start, stop).arrays(),
                                              CONNECT_TIMEOUT_S))
            except OSError as exc:
                log.warning("ray actor %d: no step connection to %s:%d (%s); stepping it over "
                            "Ray calls, which is slower", index, *address, exc)
                channels.append(None)
        return channels

    def _ping(self, index: int) -> None:
        """Raise :class:`ChannelClosed` when actor ``index`` is dead (asked of Ray)."""
        ray = self._ray
        try:
            ray.get(self.actors[index].ping.remote(), timeout=PING_PERIOD_S * 10)
        except ray.exceptions.RayActorError as exc:
            raise ChannelClosed(str(exc)) from None
        except ray.exceptions.GetTimeoutError:
            pass  # alive but slow to answer: keep waiting for the step

    # --- calls --------------------------------------------------------------------------------
    def _gather(self, refs: list, call: str, restart: bool = True) -> list[Any]:
        """Results of one call per actor, all awaited; a dead actor's entry is None (when
        ``restart``). An actor that raised (or, without ``restart``, died) closes the batch."""
        ray = self._ray
        try:
            return ray.get(refs)
        except ray.exceptions.RayError:
            pass  # find out which actors failed, and how
        results, errors = [], []
        for index, ref in enumerate(refs):
            try:
                results.append(ray.get(ref))
                continue
            except ray.exceptions.RayActorError as exc:
                if not restart:
                    errors.append(self._error(index, call, "could not start", exc))
            except ray.exceptions.RayError as exc:
                errors.append(self._error(index, call, "failed", exc))
            results.append(None)
        if errors:
            self._fail(errors[0])
        return results

    def _error(self, index: int, call: str, what: str, exc: BaseException) -> WorkerError:
        start, stop = self.ranges[index]
        return WorkerError(f"ray actor {index} (envs {start}..{stop - 1}) {what} during {call}: "
                           f"{_first_line(exc)}", index, remote_traceback=str(exc))

    def _fail(self, error: WorkerError, cause: BaseException | None = None) -> NoReturn:
        """The batch lost a slice for good: kill every actor, then raise ``error``."""
        self.closed_because = f" since actor {error.index} failed ({error})"
        self.close()
        raise error from cause

    def _restart(self, index: int, seeds: list[int | None] | None = None) -> tuple[np.ndarray, ...]:
        """Replace dead actor ``index``: rebuild and reset its envs; their first results."""
        ray, (start, stop) = self._ray, self.ranges[index]
        try:
            ray.kill(self.actors[index])
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.restarts[index] += 1
        self.actors[index] = actor = self._spawn(index)
        seeds = seeds if seeds is not None else [None] * (stop - start)
        if self.channels[index] is not None:
            self.channels[index].close()
        try:
            arrays = ray.get(actor.reset.remote(seeds, None))
            self.channels[index] = self._connect([index])[0]
        except (ray.exceptions.RayError, WorkerError) as exc:
            self._fail(self._error(index, "restart", "died and could not be restarted", exc))
        self._restarted[start:stop] = True
        return arrays

    def _write(self, results: list, seeds: list[int | None] | None = None) -> None:
        """Each actor's arrays into the batch buffers (``True``: its channel wrote them); a
        dead actor's (None) are its replacement's first ones."""
        for index, arrays in enumerate(results):
            start, stop = self.ranges[index]
            if arrays is None:
                arrays = self._restart(index, None if seeds is None else seeds[start:stop])
            if arrays is not True:
                self.out.view(start, stop).write(arrays)

    # --- Backend ------------------------------------------------------------------------------
    def _step_async(self, actions: np.ndarray) -> None:
        self._refs, self._awaiting, self._lost = {}, set(), set()
        for index, (a, b) in enumerate(self.ranges):
            channel = self.channels[index]
            if channel is None:
                self._refs[index] = self.actors[index].step.remote(actions[a:b])
                continue
            try:
                channel.send_step(actions[a:b])
                self._awaiting.add(index)
            except ChannelClosed:
                self._lost.add(index)  # dead: restarted in _step_wait

    def _step_wait(self) -> np.ndarray:
        """Every actor's step; interrupted (Ctrl-C), the replies still due are awaited again."""
        results: list = [True] * len(self.actors)
        if self._refs:
            refs, self._refs = self._refs, {}
            for index, arrays in zip(refs, self._gather(list(refs.values()), "step")):
                results[index] = arrays
        while self._awaiting:
            index = min(self._awaiting)
            try:
                self.channels[index].wait(lambda: self._ping(index), PING_PERIOD_S)
            except ChannelClosed:
                self._lost.add(index)
            except StepFailed as exc:
                start, stop = self.ranges[index]
                error = WorkerError(f"ray actor {index} (envs {start}..{stop - 1}) failed during "
                                    f"step: {exc}", index, remote_traceback=exc.remote_traceback)
                self._fail(error, RemoteTraceback(exc.remote_traceback))
            self._awaiting.discard(index)
        for index in self._lost:
            results[index] = None
        self._lost = set()
        self._write(results)
        return self._take_restarted()

    def _reset(self, seeds: list[int | None], mask: np.ndarray | None) -> np.ndarray:
        refs = [actor.reset.remote(seeds[a:b], None if mask is None else mask[a:b])
                for actor, (a, b) in zip(self.actors, self.ranges)]
        self._write(self._gather(refs, "reset"), seeds)
        return self._take_restarted()

    def _take_restarted(self) -> np.ndarray:
        """Envs restarted since the last step or reset (reported once)."""
        restarted, self._restarted = self._restarted, np.zeros_like(self._restarted)
        return restarted

    def _robot_state_arrays(self, ee: bool) -> dict[str, Any]:
        return join_states(self._per_actor("robot_states", ee))

    def _views(self, width: int, height: int) -> list[np.ndarray]:
        return [view for views in self._per_actor("views", width, height) for view in views]

    def _per_actor(self, method: str, *args) -> list:
        """``SliceActor.<method>(*args)`` of every actor, in batch order; a dead actor is
        restarted (its envs reset) and asked again."""
        results = self._gather([getattr(actor, method).remote(*args) for actor in self.actors],
                               method)
        joined = []
        for index, result in enumerate(results):
            if result is None:
                start, stop = self.ranges[index]
                self.out.view(start, stop).write(self._restart(index))
                result = self._ray.get(getattr(self.actors[index], method).remote(*args))
            joined.append(result)
        return joined

    def _close(self) -> None:
        for channel in self.channels:
            if channel is not None:
                channel.close()
        self.channels = []
        for actor in self.actors:
            try:
                self._ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone, or Ray shut down
                pass
        self.actors, self._refs, self._awaiting = [], {}, set()

