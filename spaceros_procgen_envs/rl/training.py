"""One training run of ``train.py``: SB3 on the native batch, logged, checkpointed, evaluated.

A run folder holds::

    progress.csv        one row per log interval (see :mod:`.curves`)
    learning_curve.png  return and success vs env steps and vs wall time
    checkpoints/step_<env steps>/   saved policies (the last few); ``latest`` names the newest
    policy/             the final policy (``eval.py --policy RUN/policy``)
    eval.json           the held-out evaluation at the end

Example:
    >>> run = TrainConfig(task="ingenuity", num_envs=8, steps=4096, run_dir="runs/x")  # doctest: +SKIP
    >>> policy_dir, result = train(run)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from stable_baselines3.common.vec_env import VecNormalize

from ..errors import ProcgenError
from ..registry import get_task
from . import bundle
from .algos import ALGOS
from .curves import CsvLog, LearningCurve
from .defaults import algo_kwargs, defaults_for
from .evaluate import EvalResult, evaluate
from .monitor import ProgressBar, TrainMonitor
from .vec_env import SpaceRosSB3VecEnv, make_native

KEEP_CHECKPOINTS = 3


class RunDirError(ProcgenError, ValueError):
    """``--run_dir`` holds another run (without ``--resume``) or nothing to resume."""


@dataclass
class TrainConfig:
    """What ``train.py`` was asked (None: the task's default from :mod:`.defaults`)."""

    task: str = "perseverance"
    algo: str = "ppo"
    num_envs: int | None = None
    steps: int | None = None
    seed: int = 42
    run_dir: str | None = None
    resume: bool = False
    backend: str = "thread"
    domain: str | None = None
    eval_envs: int = 16
    eval_steps: int | None = None  # cap on the final evaluation's batch steps (None: 1 episode)
    max_episode_steps: int | None = None  # training episodes only (None: the task's limit)
    torch_threads: int = 1  # torch's threads spin between calls and slow MuJoCo's (see train)
    minutes: float | None = None  # wall-time budget of the training (None: only ``steps``)
    log_every: int | None = None
    checkpoint_every: int | None = None

    def resolved(self) -> TrainConfig:
        d = defaults_for(self.task)
        out = TrainConfig(**asdict(self))
        out.num_envs = self.num_envs or d["num_envs"]
        out.steps = self.steps or d["steps"]
        out.run_dir = self.run_dir or f"runs/{self.task}_{self.algo}_seed{self.seed}"
        out.log_every = self.log_every or max(out.num_envs, out.steps // 200)
        out.checkpoint_every = self.checkpoint_every or max(out.num_envs, out.steps // 10)
        return out


def train(cfg: TrainConfig, stream=None) -> tuple[Path, EvalResult | None]:
    """Train, save ``RUN/policy``, evaluate on held-out worlds; returns (policy dir, result).

    Tasks without camera images train on flat observations (``MlpPolicy``, see
    :class:`~.vec_env.SpaceRosSB3VecEnv`); ``_visual`` tasks, and a resumed checkpoint saved
    before flat observations, on the Dict (``MultiInputPolicy``).

    torch runs on ``cfg.torch_threads`` threads (default 1): its idle OpenMP threads spin and
    take the cores MuJoCo's own threads step on. On the 2-core machine one thread made rollout
    collection 1.7x and the PPO update 2.9x faster than two (perseverance, 32 envs).
    """
    import torch

    cfg = cfg.resolved()
    torch.set_num_threads(cfg.torch_threads)
    run = Path(cfg.run_dir)
    checkpoint = _check_run_dir(run, cfg.resume)
    flat = checkpoint is None or bool(bundle.read_meta(checkpoint).observation_layout)
    env = SpaceRosSB3VecEnv(make_native(cfg.task, cfg.num_envs, cfg.seed, cfg.backend,
                                        cfg.domain, max_episode_steps=cfg.max_episode_steps),
                            flat=flat)
    curve = LearningCurve(run / "learning_curve.png",
                          f"{cfg.task} {cfg.algo.upper()}, {cfg.num_envs} envs ({cfg.backend})")
    try:
        model, venv = _model(cfg, env, checkpoint)
        terms = [k for k in env.venv.backend.out.info_keys if k.startswith(("reward/", "stage/"))]
        log = CsvLog(run / "progress.csv", terms)

        def save(steps: int, folder: Path | None = None) -> Path:
            folder = folder or run / "checkpoints" / f"step_{steps:010d}"
            bundle.save(folder, model, venv, _meta(cfg, steps, model, env))
            if folder.parent.name == "checkpoints":
                (run / "checkpoints" / "latest").write_text(folder.name + "\n")
                _prune(run / "checkpoints")
            curve.update(log.path)
            return folder

        bar = ProgressBar(f"train {cfg.task} {cfg.algo}", cfg.steps, stream)
        monitor = TrainMonitor(log, cfg.steps, cfg.log_every, cfg.checkpoint_every, save, bar,
                               wall_budget_s=None if cfg.minutes is None else 60.0 * cfg.minutes)
        remaining = cfg.steps - model.num_timesteps
        if remaining > 0:
            model.learn(total_timesteps=remaining, callback=monitor,
                        reset_num_timesteps=not cfg.resume)
        bar.update(model.num_timesteps, monitor.stats_text(), force=True)
        bar.close()
        if remaining > 0 and (log.last or {}).get("env_steps") != model.num_timesteps:
            log.append(monitor.row(model.num_timesteps))
        policy_dir = save(model.num_timesteps, run / "policy")
    finally:
        curve.close()
        env.close()
    result = None
    if cfg.eval_envs > 0:
        result = evaluate(bundle.LoadedPolicy(policy_dir), cfg.eval_envs,
                          backend=cfg.backend, domain=cfg.domain, max_steps=cfg.eval_steps)
        (run / "eval.json").write_text(json.dumps(_eval_json(result), indent=2) + "\n")
    return policy_dir, result


def _check_run_dir(run: Path, resume: bool) -> Path | None:
    """The checkpoint to resume from (None: a fresh run)."""
    latest = run / "checkpoints" / "latest"
    if resume:
        if not latest.is_file():
            raise RunDirError(f"--resume: no checkpoint in {run} (no checkpoints/latest); "
                              f"drop --resume to start a new run there")
        return run / "checkpoints" / latest.read_text().strip()
    if (run / "progress.csv").exists() or latest.exists():
        raise RunDirError(f"--run_dir {run} already holds a run; add --resume to continue it "
                          f"or give another --run_dir")
    return None


def _model(cfg: TrainConfig, env, checkpoint: Path | None):
    algo = ALGOS[cfg.algo]
    if checkpoint is not None:
        meta = bundle.read_meta(checkpoint)
        if (meta.task, meta.algo, meta.num_envs) != (cfg.task, cfg.algo, cfg.num_envs):
            raise RunDirError(f"--resume: {checkpoint} is {meta.task} {meta.algo} with "
                              f"{meta.num_envs} envs, not {cfg.task} {cfg.algo} with "
                              f"{cfg.num_envs}; use the same --task, --algo and --num_envs")
        venv = VecNormalize.load(str(checkpoint / bundle.NORMALIZER), env)
        return algo.load(checkpoint / bundle.MODEL, env=venv, device="cpu"), venv
    venv = VecNormalize(env, **defaults_for(cfg.task)["normalize"])
    kwargs = algo_kwargs(cfg.task, cfg.algo, cfg.num_envs, cfg.steps)
    policy = "MultiInputPolicy" if env.layout is None else "MlpPolicy"
    return algo(policy, venv, seed=cfg.seed, device="cpu", verbose=0, **kwargs), venv


def _meta(cfg: TrainConfig, steps: int, model, env: SpaceRosSB3VecEnv) -> bundle.PolicyMeta:
    layout = env.layout
    keys = list(model.observation_space.spaces) if layout is None else list(layout.keys)
    return bundle.PolicyMeta(task=cfg.task, algo=cfg.algo, domain=cfg.domain,
                             train_seed=cfg.seed, num_envs=cfg.num_envs, env_steps=int(steps),
                             observation_keys=keys, action_dim=get_task(cfg.task).action_dim,
                             extra={"backend": cfg.backend},
                             observation_layout=[] if layout is None else layout.to_json())


def _prune(folder: Path) -> None:
    steps = sorted(p for p in folder.glob("step_*") if p.is_dir())
    for old in steps[:-KEEP_CHECKPOINTS]:
        shutil.rmtree(old, ignore_errors=True)


def _eval_json(result: EvalResult) -> dict:
    return {"task": result.task, "num_envs": result.num_envs, "seed": result.seed,
            "episodes": int(result.returns.size), "success_rate": result.success_rate,
            "stage_rates": result.stage_rates,
            "mean_return": result.mean_return, "episodes_per_s": result.episodes_per_s,
            "steps": result.steps, "seconds": result.seconds}
