"""Soft Actor-Critic experts on the true reward, with checkpoints and resume.

``aihfbench experts train Hopper-v5`` trains SAC (sbx-rl, JAX; measured here at ~450
environment steps/s for 64×64 networks against ~63 for Stable-Baselines3's PyTorch SAC)
and writes, under ``<out>/<env>/``:

    checkpoints/step-000050000.safetensors   actor parameters (safetensors, no pickles)
    checkpoints/step-000050000.json          steps, mean/std return over ``eval_episodes``
    progress.jsonl                           the training curve (steps vs evaluation return)
    state/                                   everything needed to resume (not for shipping)

Killing it at any moment loses at most the steps since the last checkpoint: the resume
state (network and optimiser states as flax msgpack, the replay buffer as ``.npz``) is
written atomically next to each checkpoint, and a restart continues from it. Without the
replay buffer (it is not kept in git) a restart continues from the networks and first
refills the buffer with ``learning_starts`` steps.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..io import atomic_write_json, replace_dir

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

ENVS = ("Hopper-v5", "HalfCheetah-v5", "Walker2d-v5")


def resolve_env(name: str) -> str:
    """``hopper`` / ``Hopper-v5`` (any case) -> ``Hopper-v5``; anything else is refused."""
    env_id = {e.split("-")[0].lower(): e for e in ENVS}.get(name.strip().lower().split("-")[0])
    if env_id is None or ("-" in name and name.strip().lower() != env_id.lower()):
        from ..errors import AihfbenchError

        raise AihfbenchError(f"unknown environment {name!r}: choose one of {', '.join(ENVS)}")
    return env_id


@dataclass
class ExpertConfig:
    env_id: str
    algo: str = "sac"                # "sac", or "crossq" (SAC with batch renormalisation, no target nets)
    total_steps: int = 1_000_000
    checkpoint_every: int = 20_000
    eval_episodes: int = 10
    seed: int = 0
    net_arch: tuple[int, ...] = (64, 64)
    learning_rate: float = 3e-4
    batch_size: int = 256
    learning_starts: int = 10_000


def _flatten(actor_state: Any) -> dict[str, np.ndarray]:
    """Actor parameters (and CrossQ's batch-renorm statistics) as ``params/...`` arrays."""
    from flax.traverse_util import flatten_dict

    params = dict(actor_state.params)
    tree = {"params": params["params"] if set(params) == {"params"} else params}   # SAC nests one level more
    if getattr(actor_state, "batch_stats", None) is not None:
        tree["batch_stats"] = actor_state.batch_stats
    return {"/".join(k): np.asarray(v, dtype=np.float32) for k, v in flatten_dict(tree).items()}


def _evaluate(model: Any, env_id: str, episodes: int, seed: int) -> list[float]:
    import gymnasium as gym

    from .policy import episode_returns

    env = gym.make(env_id)
    try:
        return episode_returns(env, lambda obs: model.predict(obs, deterministic=True)[0], episodes,
                               seed=10_000 + seed * 1000)
    finally:
        env.close()


def _save_state(model: Any, folder: Path, meta: dict[str, Any]) -> None:
    """Resume state, atomically: write a sibling folder, then swap it in."""
    from flax.serialization import to_bytes

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "actor.msgpack").write_bytes(to_bytes(model.policy.actor_state))
    (tmp / "critic.msgpack").write_bytes(to_bytes(model.policy.qf_state))
    (tmp / "ent_coef.msgpack").write_bytes(to_bytes(model.ent_coef_state))
    rb = model.replay_buffer
    n = rb.buffer_size if rb.full else rb.pos
    np.savez(tmp / "replay.npz", observations=rb.observations[:n], next_observations=rb.next_observations[:n],
             actions=rb.actions[:n], rewards=rb.rewards[:n], dones=rb.dones[:n], timeouts=rb.timeouts[:n],
             key=np.asarray(model.key))
    atomic_write_json(tmp / "meta.json", {**meta, "pos": int(rb.pos), "full": bool(rb.full),
                                          "num_timesteps": int(model.num_timesteps), "n_updates": int(model._n_updates)})
    replace_dir(tmp, folder)


def _latest_state(state: Path) -> Path | None:
    """The resume state, also after a kill inside ``_save_state``'s swap: ``state``, else a
    complete ``state.tmp`` (its meta.json is written last), else ``state.old``."""
    candidates = [state, state.with_name(state.name + ".tmp"), state.with_name(state.name + ".old")]
    complete = [c for c in candidates if (c / "meta.json").exists()]
    return max(complete, key=lambda c: json.loads((c / "meta.json").read_text())["num_timesteps"]) if complete else None


def _load_state(model: Any, folder: Path) -> dict[str, Any]:
    import jax.numpy as jnp
    from flax.serialization import from_bytes

    meta = json.loads((folder / "meta.json").read_text())
    model.policy.actor_state = from_bytes(model.policy.actor_state, (folder / "actor.msgpack").read_bytes())
    model.policy.qf_state = from_bytes(model.policy.qf_state, (folder / "critic.msgpack").read_bytes())
    model.ent_coef_state = from_bytes(model.ent_coef_state, (folder / "ent_coef.msgpack").read_bytes())
    model.num_timesteps, model._n_updates = meta["num_timesteps"], meta["n_updates"]
    replay = folder / "replay.npz"
    if not replay.exists():
        # Networks only (the replay buffer is too large to keep in git): refill the buffer with
        # ``learning_starts`` fresh steps before updating again.
        model.learning_starts = model.num_timesteps + model.learning_starts
        return meta
    with np.load(replay, allow_pickle=False) as data:
        rb = model.replay_buffer
        n = len(data["rewards"])
        for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
            getattr(rb, name)[:n] = data[name]
        model.key = jnp.asarray(data["key"])
    rb.pos, rb.full = meta["pos"], meta["full"]
    return meta


def train(config: ExpertConfig, out: str | Path = "experts",
          on_checkpoint: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Train (or resume) one expert until ``total_steps``; returns its folder."""
    import gymnasium as gym
    from safetensors.numpy import save_file
    from sbx import SAC, CrossQ

    resolve_env(config.env_id)
    folder = Path(out) / config.env_id
    checkpoints = folder / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "config.json", {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()})
    env = gym.make(config.env_id)
    common = dict(seed=config.seed, batch_size=config.batch_size, learning_starts=config.learning_starts,
                  buffer_size=config.total_steps, verbose=0)
    if config.algo == "sac":
        model = SAC("MlpPolicy", env, learning_rate=config.learning_rate,
                    policy_kwargs={"net_arch": list(config.net_arch)}, **common)
    elif config.algo == "crossq":   # its own tuned learning rate; the same widths for actor and critic
        model = CrossQ("MlpPolicy", env, policy_kwargs={"net_arch": {"pi": list(config.net_arch),
                                                                     "qf": list(config.net_arch)}}, **common)
    else:
        from ..errors import AihfbenchError

        raise AihfbenchError(f"expert algorithm must be sac or crossq, got {config.algo!r}")
    state = folder / "state"
    resume_from = _latest_state(state)
    if resume_from is not None:
        _load_state(model, resume_from)
    elapsed = 0.0
    while model.num_timesteps < config.total_steps:
        chunk = min(config.checkpoint_every - model.num_timesteps % config.checkpoint_every,
                    config.total_steps - model.num_timesteps)
        start = time.perf_counter()
        model.learn(chunk, reset_num_timesteps=False, progress_bar=False)
        elapsed += time.perf_counter() - start
        returns = _evaluate(model, config.env_id, config.eval_episodes, config.seed)
        steps = int(model.num_timesteps)
        meta = {"env_id": config.env_id, "steps": steps, "mean_return": float(np.mean(returns)),
                "std_return": float(np.std(returns)), "episode_returns": returns,
                "algo": {"sac": "sbx.SAC", "crossq": "sbx.CrossQ"}[config.algo],
                "net_arch": list(config.net_arch), "seed": config.seed,
                "steps_per_second": chunk / max(time.perf_counter() - start, 1e-9)}
        stem = checkpoints / f"step-{steps:09d}"
        save_file(_flatten(model.policy.actor_state), str(stem) + ".safetensors.tmp",
                  metadata={"env_id": config.env_id, "steps": str(steps)})
        os.replace(str(stem) + ".safetensors.tmp", str(stem) + ".safetensors")
        atomic_write_json(stem.with_suffix(".json"), meta)
        with open(folder / "progress.jsonl", "a") as handle:
            handle.write(json.dumps({k: meta[k] for k in ("steps", "mean_return", "std_return", "steps_per_second")}) + "\n")
        _save_state(model, state, {"env_id": config.env_id})
        if on_checkpoint:
            on_checkpoint(meta)
    return folder


def ship(env_id: str, source: str | Path, target: str | Path) -> list[dict[str, Any]]:
    """Copy the checkpoints the splits use (every graded one) into ``target`` (the package)."""
    from .splits import grade, load_checkpoints

    graded = grade(load_checkpoints(Path(source)))
    final = Path(target)
    target = final.with_name(final.name + ".incoming")     # fill a sibling, then swap it in
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shipped = []
    for grade_name, members in graded.items():
        for c in members:
            weights = Path(c["path"])
            shutil.copy2(weights, target / weights.name)
            meta = {k: v for k, v in c.items() if k != "path"}
            atomic_write_json(target / weights.with_suffix(".json").name, {**meta, "grade": grade_name})
            shipped.append({**meta, "grade": grade_name})
    replace_dir(target, final)
    return sorted(shipped, key=lambda c: c["steps"])
