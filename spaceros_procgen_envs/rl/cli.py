"""``train.py`` and ``eval.py``: parse flags, check them, make sure torch/SB3 exist, run.

Bad input (a flag, a ``--policy`` path, a policy for another task, a run folder that holds
another run, torch missing) is one line ``<prog>: error: ...`` and exit code 2, before any
simulation starts.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..cli import (backend_name, check_task_domain, make_parser, non_negative_int,
                   positive_float, positive_int, video_path)
from . import bundle
from .curves import read_rows
from .deps import MissingRLDependency, ensure_rl


def add_install_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--install_rl", action="store_true",
                        help="install torch and stable-baselines3 (the rl extra) into this "
                             "Python without asking if they are missing")


def fail(parser: argparse.ArgumentParser, exc: Exception) -> None:
    """One line on stderr and exit 2."""
    parser.error(str(exc))


def require_rl(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    try:
        ensure_rl(True if args.install_rl else None)
    except MissingRLDependency as exc:
        fail(parser, exc)


def train_parser() -> argparse.ArgumentParser:
    parser = make_parser("Train a policy with Stable-Baselines3 on the native batch: progress bar "
                         "(env-steps/s, episodes/s, mean return, success), CSV log, checkpoints, "
                         "learning-curve PNG, and a final evaluation on held-out worlds.",
                         prog="train.py")
    parser.set_defaults(num_envs=None)
    parser.add_argument("--algo", choices=("ppo", "sac"), default="ppo", help="SB3 algorithm")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="env steps to train (default: the task's, from rl/defaults.py)")
    parser.add_argument("--minutes", type=positive_float, default=None,
                        help="also stop after this many minutes of training wall time (then "
                             "save and evaluate as at the end of --steps)")
    parser.add_argument("--run_dir", default=None,
                        help="where the run goes (default runs/<task>_<algo>_seed<seed>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --run_dir from its latest checkpoint")
    parser.add_argument("--backend", type=backend_name, default="thread",
                        help="how the batch is stepped (sync, thread, process, ray)")
    parser.add_argument("--eval_envs", type=non_negative_int, default=16,
                        help="held-out worlds for the final evaluation (0: none)")
    parser.add_argument("--eval_steps", type=positive_int, default=None,
                        help="stop the final evaluation after this many batch steps "
                             "(default: one whole episode in every env)")
    parser.add_argument("--log_every", type=positive_int, default=None,
                        help="env steps between CSV rows (default steps / 200)")
    parser.add_argument("--checkpoint_every", type=positive_int, default=None,
                        help="env steps between checkpoints (default steps / 10)")
    parser.add_argument("--torch_threads", type=positive_int, default=1,
                        help="threads for torch (more than 1 competes with the simulation's)")
    add_install_flag(parser)
    return parser


def train_main(argv: Sequence[str] | None = None) -> int:
    """``train.py``."""
    parser = train_parser()
    args = parser.parse_args(argv)
    check_task_domain(parser, args)
    require_rl(parser, args)
    from .training import RunDirError, TrainConfig, train

    cfg = TrainConfig(task=args.task, algo=args.algo, num_envs=args.num_envs, steps=args.steps,
                      seed=args.seed, run_dir=args.run_dir, resume=args.resume,
                      backend=args.backend, domain=args.domain, eval_envs=args.eval_envs,
                      eval_steps=args.eval_steps, torch_threads=args.torch_threads,
                      log_every=args.log_every, checkpoint_every=args.checkpoint_every,
                      minutes=args.minutes)
    try:
        policy_dir, result = train(cfg)
    except RunDirError as exc:
        fail(parser, exc)
    rows = read_rows(Path(cfg.resolved().run_dir) / "progress.csv")
    if rows:
        last = rows[-1]
        print(f"train.py: {last['env_steps']:.0f} env steps in {last['wall_s']:.0f} s "
              f"({last['env_steps'] / max(last['wall_s'], 1e-9):.0f} env-steps/s including "
              f"updates), {last['episodes']:.0f} episodes, last success {last['success_rate']:.2f}")
    print(f"train.py: policy saved in {policy_dir} (eval.py --policy {policy_dir})")
    if result is not None:
        print(result.summary("train.py: held-out"))
    return 0


def eval_parser() -> argparse.ArgumentParser:
    parser = make_parser("Evaluate a saved policy on held-out worlds (seeds training never saw): "
                         "success rate, mean return, episodes/s.", prog="eval.py")
    add_policy_flags(parser)
    parser.set_defaults(num_envs=16)
    parser.add_argument("--backend", type=backend_name, default="thread",
                        help="how the batch is stepped (sync, thread, process, ray)")
    parser.add_argument("--episodes", type=positive_int, default=None,
                        help="episodes per env (default 1; with --steps: every episode that "
                             "ends within them)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="run exactly this many batch steps (with --episodes: at most)")
    parser.add_argument("--video", type=video_path, default=None, metavar="PATH.mp4",
                        help="film every env, tiled, into this mp4")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the figures here")
    add_install_flag(parser)
    return parser


def add_policy_flags(parser: argparse.ArgumentParser) -> None:
    """``--policy`` (required), ``--save_actions``; ``--task``/``--seed`` default to the policy's."""
    parser.add_argument("--policy", required=True, metavar="PATH",
                        help="a saved policy: RUN_DIR/policy from train.py (or its model.zip)")
    parser.add_argument("--save_actions", default=None, metavar="PATH.npy",
                        help="write every step's actions, (steps, num_envs, action_dim) float32")
    parser.set_defaults(task=None, seed=None)


def policy_meta(parser: argparse.ArgumentParser, args: argparse.Namespace) -> bundle.PolicyMeta:
    """Check ``--policy`` against ``--task`` (exit 2 on a mismatch) and fill in the defaults:
    the policy's task, its held-out seed, its domain."""
    try:
        meta = bundle.read_meta(args.policy)
        args.task = bundle.check_task(meta, args.task, args.policy)
    except bundle.PolicyError as exc:
        fail(parser, exc)
    if args.seed is None:
        args.seed = meta.held_out_seed
    args.domain = args.domain or meta.domain
    check_task_domain(parser, args)
    return meta


def eval_main(argv: Sequence[str] | None = None) -> int:
    """``eval.py``."""
    parser = eval_parser()
    args = parser.parse_args(argv)
    policy_meta(parser, args)
    require_rl(parser, args)
    from .evaluate import evaluate

    try:
        policy = bundle.LoadedPolicy(args.policy)
    except bundle.PolicyError as exc:
        fail(parser, exc)
    episodes = args.episodes or (None if args.steps else 1)
    result = evaluate(policy, args.num_envs, args.seed, episodes, args.backend,
                      args.domain, args.steps, record_actions=bool(args.save_actions),
                      video=str(args.video) if args.video else None)
    print(result.summary("eval.py"))
    if args.save_actions:
        np.save(args.save_actions, result.actions)
    if args.json:
        figures = {"success_rate": result.success_rate, "mean_return": result.mean_return,
                   "episodes_per_s": result.episodes_per_s, "episodes": int(result.returns.size),
                   "returns": result.returns.tolist(), "seed": result.seed,
                   "num_envs": result.num_envs, "steps": result.steps, "task": result.task}
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0

