"""The policy optimiser every control method shares: SAC (sbx, JAX) on a *learned* reward.

The replay buffer stores transitions as collected and relabels rewards with the current
reward model r_θ(s, a) each time a batch is sampled (DESIGN.md §3), so a reward model
updated between policy alignments (AIHF) never leaves stale rewards in the buffer.
The environment's own reward is stored by SB3's collector but never reaches a gradient.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback

from .policy import SquashedGaussianActor

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")


@dataclass(frozen=True)
class SACSettings:
    """One SAC configuration for every method on a task (fair comparisons).
    Defaults: paper appendix A.2.1 (64×64 ReLU actor and critics, step size 3e-3)."""

    hidden: tuple[int, ...] = (64, 64)
    learning_rate: float = 3e-3
    batch_size: int = 256
    buffer_size: int = 1_000_000
    learning_starts: int = 1_000      # uniform random actions before the first update
    gamma: float = 0.99
    tau: float = 0.005
    train_freq: int = 1
    gradient_steps: int = 1

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "SACSettings":
        values = dict(values or {})
        if "hidden" in values:
            values["hidden"] = tuple(int(x) for x in values["hidden"])
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown SAC setting(s) {sorted(unknown)}: known are {sorted(cls.__dataclass_fields__)}")
        return cls(**values)


class RelabellingReplayBuffer(ReplayBuffer):
    """SB3 replay buffer whose sampled rewards are r_θ(s, a) of the *current* ``reward_model``.

    Labels are cached per stored transition and keyed by the reward model's parameter versions
    (every in-place update, e.g. an optimiser step, bumps them): after a reward update the whole
    buffer is relabelled in a few large batched passes, new transitions are labelled when first
    sampled, and a sample is a gather. The result is the same as evaluating r_θ on every batch,
    at a fraction of the cost. A reward callable without parameters is evaluated per batch."""

    reward_model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    relabel_seconds: float = 0.0
    CHUNK = 32_768

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._labels = np.full((self.buffer_size, self.n_envs), np.nan, dtype=np.float32)
        self._labels_key: tuple | None = None
        self._params: tuple[Any, list] | None = None
        self._evaluate: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None

    def add(self, obs, next_obs, action, reward, done, infos) -> None:
        self._labels[self.pos] = np.nan                     # this slot is about to hold a new transition
        super().add(obs, next_obs, action, reward, done, infos)

    def _label(self, rows: np.ndarray) -> np.ndarray:
        """r_θ of stored transitions ``rows`` (the cached path serves one environment)."""
        obs = np.asarray(self.observations[rows, 0], dtype=np.float32)
        act = np.asarray(self.actions[rows, 0], dtype=np.float32)
        return np.asarray(self._evaluate(obs, act), dtype=np.float32).reshape(-1)

    def _torch_evaluate(self, obs: np.ndarray, act: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.reward_model(torch.from_numpy(obs), torch.from_numpy(act)).numpy()

    def _refresh(self) -> None:
        """Relabel everything stored when the reward model changed since the last labels."""
        if self._params is None or self._params[0] is not self.reward_model:
            self._params = (self.reward_model, list(self.reward_model.parameters()))
        key = (id(self.reward_model), tuple(p._version for p in self._params[1]))
        if key == self._labels_key:
            return
        # a frozen numpy copy of r_θ when the model offers one (cheap on a few rows), else torch
        frozen = getattr(self.reward_model, "frozen_numpy", None)
        self._evaluate = frozen() if frozen is not None else self._torch_evaluate
        self._labels[:] = np.nan
        filled = self.buffer_size if self.full else self.pos
        for start in range(0, filled, self.CHUNK):
            rows = np.arange(start, min(start + self.CHUNK, filled))
            self._labels[rows, 0] = self._label(rows)
        self._labels_key = key

    def _get_samples(self, batch_inds: np.ndarray, env=None):
        if self.reward_model is None:
            raise RuntimeError("RelabellingReplayBuffer has no reward_model: set one before learning")
        if self.n_envs != 1 or not hasattr(self.reward_model, "parameters"):
            samples = super()._get_samples(batch_inds, env)
            start = time.perf_counter()
            with torch.no_grad():
                rewards = self.reward_model(samples.observations.float(), samples.actions.float()).reshape(-1, 1)
            self.relabel_seconds += time.perf_counter() - start
            return samples._replace(rewards=rewards.to(samples.rewards.dtype))
        start = time.perf_counter()
        self._refresh()
        labels = self._labels[batch_inds, 0]
        missing = np.flatnonzero(np.isnan(labels))
        if len(missing):                                    # added since the last refresh
            rows = batch_inds[missing]
            self._labels[rows, 0] = self._label(rows)
            labels = self._labels[batch_inds, 0]
        self.relabel_seconds += time.perf_counter() - start
        samples = super()._get_samples(batch_inds, env)
        return samples._replace(rewards=torch.from_numpy(labels.reshape(-1, 1).copy()).to(samples.rewards.dtype))


class _Offer(BaseCallback):
    """Offers the current policy to the run's logger at every environment step (the runner
    evaluates on its own schedule) and drives the progress bar."""

    def __init__(self, agent: "SACAgent", log: Any, start: int, total: int):
        super().__init__()
        self.agent, self.log, self.start, self.total = agent, log, start, total

    def _on_step(self) -> bool:
        steps = self.agent.env_steps
        if self.log is not None:
            self.log.policy(steps, self.agent.actor, unit="env_steps")
            if steps % 1000 == 0:
                self.log.progress(steps - self.start, self.total, "SAC env steps")
        return True


class SACAgent:
    """A SAC learner that persists across policy alignments (actor, critics, entropy
    coefficient and replay buffer carry over), and acts like a policy: ``act``,
    ``state_dict`` and ``actor()`` give the current actor as a torch module."""

    def __init__(self, env: Any, settings: SACSettings, seed: int, actor: SquashedGaussianActor | None = None):
        from sbx import SAC

        self.settings = settings
        self.model = SAC("MlpPolicy", env, learning_rate=settings.learning_rate, buffer_size=settings.buffer_size,
                         learning_starts=settings.learning_starts, batch_size=settings.batch_size, tau=settings.tau,
                         gamma=settings.gamma, train_freq=settings.train_freq, gradient_steps=settings.gradient_steps,
                         policy_kwargs={"net_arch": list(settings.hidden)},
                         replay_buffer_class=RelabellingReplayBuffer, seed=seed, verbose=0)
        if actor is not None:
            self.load_actor(actor)
        self._snapshot: tuple[int, SquashedGaussianActor] | None = None

    # learning ------------------------------------------------------------------------------
    def load_actor(self, actor: SquashedGaussianActor) -> None:
        """Start from ``actor``'s weights (e.g. the BC policy for RLHF); widths must match."""
        import jax.numpy as jnp
        from flax.traverse_util import unflatten_dict

        state = self.model.policy.actor_state
        flat = {tuple(k.split("/")): jnp.asarray(v) for k, v in actor.flat_params().items()}
        params = unflatten_dict(flat)
        expected = {k: tuple(v.shape) for k, v in _flat_shapes(state.params).items()}
        given = {k: tuple(v.shape) for k, v in _flat_shapes(params).items()}
        if expected != given:
            raise ValueError(f"actor widths {given} do not match SAC's {expected}: use the same hidden sizes")
        self.model.policy.actor_state = state.replace(params=params)
        self._snapshot = None

    def learn(self, reward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], steps: int, log: Any = None) -> "SACAgent":
        """``steps`` more environment steps of SAC against ``reward`` (relabelled at sampling)."""
        self.model.replay_buffer.reward_model = reward
        if steps > 0:
            callback = _Offer(self, log, self.env_steps, steps)
            self.model.learn(steps, reset_num_timesteps=False, progress_bar=False, callback=callback)
        self._snapshot = None
        return self

    @property
    def env_steps(self) -> int:
        return int(self.model.num_timesteps)

    @property
    def relabel_seconds(self) -> float:
        buffer = self.model.replay_buffer
        return buffer.relabel_seconds if buffer is not None else 0.0

    # acting like a policy --------------------------------------------------------------------
    def actor(self) -> SquashedGaussianActor:
        """The current actor as a torch module (cached until the next update)."""
        from ..control.experts import _flatten

        if self._snapshot is None or self._snapshot[0] != self.env_steps:
            actor = SquashedGaussianActor.from_flat_params(_flatten(self.model.policy.actor_state))
            actor.requires_grad_(False)
            self._snapshot = (self.env_steps, actor)
        return self._snapshot[1]

    def act(self, obs: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.actor().act(obs, **kwargs)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.actor().state_dict()

    def __repr__(self) -> str:
        return f"SACAgent(env_steps={self.env_steps}, hidden={self.settings.hidden})"


def _flat_shapes(tree: Any) -> dict[tuple[str, ...], Any]:
    from flax.traverse_util import flatten_dict

    tree = dict(tree)
    return flatten_dict({"params": tree["params"]} if set(tree) == {"params"} else {"params": tree})
