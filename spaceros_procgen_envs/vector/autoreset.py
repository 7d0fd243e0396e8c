"""Gymnasium's three autoreset modes on top of the slices' own NEXT_STEP autoreset.

The slices always restart an ended env at its next step (NEXT_STEP). SAME_STEP resets the
ended envs right after the step through the backend's masked ``reset`` (which also clears the
slice's pending restart) and files their last observation and info under ``final_obs`` /
``final_info``; DISABLED refuses to step an ended env until the user resets it. Every layout
(info masks, object array of final observations) is the one ``gymnasium.vector.SyncVectorEnv``
produces, so code written against Gymnasium works unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode

from ..errors import ProcgenError, did_you_mean

MODES = tuple(mode.value for mode in AutoresetMode)


class AutoresetError(ProcgenError, ValueError):
    """A bad ``autoreset_mode``, ``reset_mask`` or a step of an ended env in DISABLED mode."""


def check_mode(mode: str | AutoresetMode) -> AutoresetMode:
    """The :class:`AutoresetMode` for ``mode``: the enum, its value (``"SameStep"``) or its
    name in any case (``"same_step"``, ``"SAME_STEP"``)."""
    if isinstance(mode, AutoresetMode):
        return mode
    wanted = str(mode).replace("_", "").lower()
    for member in AutoresetMode:
        if wanted == member.value.lower():
            return member
    raise AutoresetError(
        f"autoreset_mode must be one of {', '.join(MODES)} (or gymnasium.vector.AutoresetMode), "
        f"got {mode!r}.{did_you_mean(str(mode), MODES)}")


def check_task_options(spec, task_options: dict[str, Any], vector_init: Callable) -> None:
    """Refuse keywords neither ``make_vec`` nor the task class takes, naming the accepted ones.

    Raises:
        TypeError: one line naming the unknown keyword(s), a close match and the accepted ones.
    """
    if not task_options:
        return
    params = inspect.signature(spec.task_class().__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    task_keys = [n for n in list(params)[4:]]  # after self, spec, domain, assets
    vector_keys = [n for n, p in inspect.signature(vector_init).parameters.items()
                   if n != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD]
    accepted = sorted({"num_envs", *vector_keys, *task_keys})
    unknown = sorted(set(task_options) - set(task_keys))
    if unknown:
        hint = did_you_mean(unknown[0], accepted)
        raise TypeError(f"make_vec('spaceros/{spec.name}') got unknown keyword "
                        f"{', '.join(map(repr, unknown))}.{hint} Accepted: {', '.join(accepted)}.")


def check_mask(mask, num_envs: int) -> np.ndarray:
    """``options["reset_mask"]`` as a (num_envs,) bool array.

    Raises:
        AutoresetError: another shape, or a non-boolean dtype.
    """
    arr = np.asarray(mask)
    if arr.shape != (num_envs,) or arr.dtype != np.bool_:
        raise AutoresetError(f"options['reset_mask'] must be a ({num_envs},) bool array, got "
                             f"shape {arr.shape} dtype {arr.dtype}; e.g. terminated | truncated")
    return arr.copy()


def require_reset(ended: np.ndarray) -> None:
    """DISABLED mode: refuse a step while an env's episode has ended and it was not reset."""
    if ended.any():
        envs = np.flatnonzero(ended).tolist()
        raise AutoresetError(
            f"autoreset_mode is disabled and envs {envs} ended their episode: reset them "
            f"with env.reset(options={{'reset_mask': terminated | truncated}}) before stepping")


def env_seed_info(env_seeds: np.ndarray, reset: np.ndarray) -> dict[str, np.ndarray]:
    """``env_seed`` (each env's world seed) for the envs that started an episode, as the
    single env's ``reset`` info reaches ``SyncVectorEnv``'s info (0 and mask False elsewhere)."""
    return {"env_seed": np.where(reset, env_seeds, 0), "_env_seed": reset.copy()}


def add_final(info: dict[str, np.ndarray], obs: dict[str, np.ndarray],
              ended: np.ndarray) -> None:
    """SAME_STEP: file the ended envs' last observation and step info as Gymnasium does.

    ``info["final_obs"]`` is a (num_envs,) object array holding each ended env's observation
    dict (None elsewhere), ``info["final_info"]`` the step info of the ended envs only (its
    own ``_key`` masks), ``_final_obs`` / ``_final_info`` the ended mask. The ended envs'
    top-level step info is then cleared (value 0, mask False): it belongs to the old episode.
    """
    final_obs = np.full(len(ended), None, dtype=object)
    for i in np.flatnonzero(ended):
        final_obs[i] = {key: np.array(value[i]) for key, value in obs.items()}
    final_info = {}
    for key in [k for k in info if not k.startswith("_") and k != "worker_restarted"]:
        final_info[key] = np.where(ended, info[key], np.zeros_like(info[key]))
        final_info[f"_{key}"] = ended.copy()
        info[key] = np.where(ended, np.zeros_like(info[key]), info[key])
        info[f"_{key}"] = info[f"_{key}"] & ~ended
    info.update(final_obs=final_obs, _final_obs=ended.copy(), final_info=final_info,
                _final_info=ended.copy())
