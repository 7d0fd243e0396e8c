"""The launch file and the parameters file agree with the node's declared parameters.

No ``launch`` / ``launch_ros`` here (they come with a ROS install), so the launch file is compiled,
then run against small stand-ins of the launch classes that record what it builds; the node's
parameters are read from the node's source (``NodeCfg`` and its ``declare_parameter`` calls).
"""

from __future__ import annotations

import ast
import importlib.util
import py_compile
import sys
import types

import pytest

from .conftest import ROOT, SCRIPTS

LAUNCH_FILE = ROOT / "launch" / "spaceros_procgen_envs.launch.py"
NODE_SOURCE = ROOT / "spaceros_procgen_envs" / "ros" / "node.py"
PARAMS_FILE = ROOT / "config" / "spaceros_procgen_envs.yaml"


def node_parameters() -> dict[str, tuple[str, object]]:
    """name -> (type name, default) of every parameter the node declares, from its source.

    The node declares one parameter per ``NodeCfg`` field (``for f in fields(NodeCfg)``); any
    ``declare_parameter("literal", default)`` call is counted too.
    """
    tree = ast.parse(NODE_SOURCE.read_text())
    cfg = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "NodeCfg")
    fields = {stmt.target.id: (ast.unparse(stmt.annotation), ast.literal_eval(stmt.value))
              for stmt in cfg.body if isinstance(stmt, ast.AnnAssign) and stmt.value is not None}
    declared, loops_over_cfg = {}, False
    for node in ast.walk(tree):
        if isinstance(node, ast.For) and "fields(NodeCfg)" in ast.unparse(node.iter):
            loops_over_cfg |= "declare_parameter" in ast.unparse(node)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "declare_parameter" \
                and node.args and isinstance(node.args[0], ast.Constant):
            default = node.args[1] if len(node.args) > 1 else None
            declared[node.args[0].value] = (None, default and ast.literal_eval(default))
    assert loops_over_cfg or declared, "node.py declares no parameters this test can read"
    return {**(fields if loops_over_cfg else {}), **declared}


class _Recorder:
    """Stands in for a launch class: keeps its constructor arguments."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


@pytest.fixture
def launch_description(monkeypatch):
    """Run generate_launch_description() against recording stand-ins of launch/launch_ros."""
    names = {"launch": ["LaunchDescription"], "launch.actions": ["DeclareLaunchArgument"],
             "launch.conditions": ["LaunchConfigurationEquals", "IfCondition", "UnlessCondition"],
             "launch.substitutions": ["LaunchConfiguration", "PythonExpression"],
             "launch_ros.actions": ["Node"], "launch_ros.parameter_descriptions":
             ["ParameterValue"], "launch_ros": []}
    for module, classes in names.items():
        fake = types.ModuleType(module)
        for cls in classes:
            setattr(fake, cls, type(cls, (_Recorder,), {}))
        monkeypatch.setitem(sys.modules, module, fake)
    spec = importlib.util.spec_from_file_location("procgen_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


def test_launch_file_compiles():
    py_compile.compile(str(LAUNCH_FILE), doraise=True)


def test_launch_arguments_are_the_node_parameters_with_the_same_defaults(launch_description):
    entities = launch_description.args[0]
    declared = {e.args[0]: e.kwargs["default_value"] for e in entities
                if type(e).__name__ == "DeclareLaunchArgument"}
    params = node_parameters()
    assert {"task", "num_envs", "seed", "domain", "lockstep"} <= set(declared)
    assert set(declared) - {"agent"} == set(params)
    for name, (type_name, default) in params.items():
        kind = {"int": int, "float": float, "str": str, "bool": None}.get(type_name)
        value = declared[name]
        parsed = (value == "true") if isinstance(default, bool) else (kind or type(default))(value)
        assert parsed == default, f"launch default of {name}: {value!r}, node: {default!r}"


def test_launched_node_gets_every_argument_as_a_typed_parameter(launch_description):
    nodes = [e for e in launch_description.args[0] if type(e).__name__ == "Node"]
    sim = next(n for n in nodes if n.kwargs["executable"] == "run_spaceros.py")
    assert sim.kwargs["package"] == "spaceros_procgen_envs"
    assert sim.kwargs["name"] == "spaceros_procgen_envs"
    (parameters,) = sim.kwargs["parameters"]
    params = node_parameters()
    assert set(parameters) == set(params)
    for name, value in parameters.items():
        assert value.args[0].args == (name,), f"{name} is not passed from its launch argument"
        assert value.kwargs["value_type"] is type(params[name][1])


def test_agents_connect_to_the_launched_node_and_exist_as_scripts(launch_description):
    entities = launch_description.args[0]
    agent_arg = next(e for e in entities if type(e).__name__ == "DeclareLaunchArgument"
                     and e.args[0] == "agent")
    assert agent_arg.kwargs["default_value"] == "none"
    agents = [e for e in entities if type(e).__name__ == "Node"
              and e.kwargs["executable"] != "run_spaceros.py"]
    assert {a.kwargs["condition"].args for a in agents} == \
        {("agent", c) for c in agent_arg.kwargs["choices"] if c != "none"}
    for node in [*agents]:
        assert "--connect" in node.kwargs["arguments"]
        assert (SCRIPTS / node.kwargs["executable"]).is_file()
    assert (SCRIPTS / "run_spaceros.py").is_file()


def test_parameters_file_lists_every_node_parameter_with_its_default():
    yaml = pytest.importorskip("yaml")
    loaded = yaml.safe_load(PARAMS_FILE.read_text())
    values = loaded["spaceros_procgen_envs"]["ros__parameters"]
    assert values == {name: default for name, (_, default) in node_parameters().items()}
