"""ROS 2 adapter: the ``spaceros_procgen_envs`` node, its message conversions and the agents.

This is the only package that imports ``rclpy``. The rest of ``spaceros_procgen_envs``
imports and runs without it; here a missing ``rclpy`` is one clear error
(:class:`RosUnavailableError`) instead of an ``ImportError`` traceback.

Modules:
    convert: message <-> numpy functions (no running graph needed).
    commands: the held per-env action table that ROS commands write into.
    node: :class:`~.node.SpaceRosNode`, the simulation node (SPEC 6).
    launcher: the shared ``main`` logic of the scripts (start or connect, stop, signals).
    agents: the random and zero agents (``agent_random.py``, ``agent_zero.py``).
    teleop, keyboard: keyboard teleop (``teleop.py``) and its key sources.
    status: the live status lines, the real-time warning, teleop's console.
    graph: two simulations on one domain (exit 2 with the fix); ``--connect`` checks.
    cli_tools: ``ros2 topic list/echo/hz``, ``ros2 node list`` without a ROS install.

Example::

    from spaceros_procgen_envs.ros import require_rclpy
    require_rclpy()                      # one-line error if ROS 2 is missing
    from spaceros_procgen_envs.ros.node import SpaceRosNode
"""

from __future__ import annotations

from ..errors import ProcgenError

INSTALL_HINT = ("install the ROS 2 extra (pip install 'spaceros_procgen_envs[ros]'), source a "
                "ROS 2 installation, or run through ./run.sh, which sets up both")


class RosUnavailableError(ProcgenError, ImportError):
    """``rclpy`` or a message package cannot be imported."""


def require_rclpy() -> None:
    """Import ``rclpy`` and the message packages the node uses, or raise one clear error.

    Raises:
        RosUnavailableError: naming the missing module and how to get it.
    """
    try:
        import geometry_msgs.msg  # noqa: F401
        import rclpy  # noqa: F401
        import rosgraph_msgs.msg  # noqa: F401
        import sensor_msgs.msg  # noqa: F401
        import std_msgs.msg  # noqa: F401
        import std_srvs.srv  # noqa: F401
    except ImportError as exc:
        raise RosUnavailableError(f"ROS 2 Python packages are missing ({exc}); "
                                  f"{INSTALL_HINT}.") from None


__all__ = ["INSTALL_HINT", "RosUnavailableError", "require_rclpy"]
