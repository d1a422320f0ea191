"""The squashed-Gaussian MLP actor (SAC's), in torch, loadable from expert checkpoints."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
RENORM_EPSILON = 1e-3   # sbx BatchRenorm's epsilon
ACTION_EPSILON = 1e-5   # actions are clipped to ±(1 − ε) before atanh in log-likelihoods


class FrozenRenorm(nn.Module):
    """Batch renormalisation at evaluation time: (x - running mean) / sqrt(var + ε) · scale + bias."""

    def __init__(self, width: int):
        super().__init__()
        for name, value in (("mean", 0.0), ("var", 1.0), ("scale", 1.0), ("bias", 0.0)):
            self.register_buffer(name, torch.full((width,), value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / torch.sqrt(self.var + RENORM_EPSILON) * self.scale + self.bias


class SquashedGaussianActor(nn.Module):
    """a = tanh(μ(s) + σ(s)·ε): hidden ReLU layers, then mean and log-std heads."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...] = (64, 64), renorm: bool = False):
        super().__init__()
        layers, width = ([FrozenRenorm(obs_dim)] if renorm else []), obs_dim
        for units in hidden:
            layers += [nn.Linear(width, units), nn.ReLU()] + ([FrozenRenorm(units)] if renorm else [])
            width = units
        self.body = nn.Sequential(*layers)
        self.mean = nn.Linear(width, act_dim)
        self.log_std = nn.Linear(width, act_dim)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(obs)
        return self.mean(h), self.log_std(h).clamp(LOG_STD_MIN, LOG_STD_MAX)

    @torch.no_grad()
    def act(self, obs: np.ndarray, *, deterministic: bool = True, generator: torch.Generator | None = None) -> np.ndarray:
        mean, log_std = self(torch.as_tensor(obs, dtype=torch.float32))
        if deterministic:
            return torch.tanh(mean).numpy()
        noise = torch.randn(mean.shape, generator=generator)
        return torch.tanh(mean + log_std.exp() * noise).numpy()

    @classmethod
    def from_sbx_checkpoint(cls, path: str | Path) -> "SquashedGaussianActor":
        """Load actor parameters saved by ``aihfbench experts train`` (flax Dense layers)."""
        from safetensors.numpy import load_file

        return cls.from_flat_params(load_file(str(path)))

    @classmethod
    def from_flat_params(cls, params: dict[str, np.ndarray]) -> "SquashedGaussianActor":
        """Build from sbx's actor parameters flattened as ``params/Dense_i/kernel`` arrays
        (and ``batch_stats/BatchRenorm_i/...`` for CrossQ)."""
        order = lambda name: int(name.split("_")[1])  # noqa: E731
        dense = sorted({k.split("/")[1] for k in params if k.startswith("params/Dense_")}, key=order)
        norms = sorted({k.split("/")[1] for k in params if k.startswith("params/BatchRenorm_")}, key=order)
        kernels = [params[f"params/{d}/kernel"] for d in dense]
        hidden = tuple(k.shape[1] for k in kernels[:-2])
        actor = cls(kernels[0].shape[0], kernels[-1].shape[1], hidden, renorm=bool(norms))
        renorms = [m for m in actor.body if isinstance(m, FrozenRenorm)]
        with torch.no_grad():
            for layer, name in zip(actor.linears(), dense):
                layer.weight.copy_(torch.from_numpy(np.asarray(params[f"params/{name}/kernel"]).T.copy()))
                layer.bias.copy_(torch.from_numpy(np.asarray(params[f"params/{name}/bias"]).copy()))
            for layer, name in zip(renorms, norms):
                for buffer, key in (("scale", f"params/{name}/scale"), ("bias", f"params/{name}/bias"),
                                    ("mean", f"batch_stats/{name}/mean"), ("var", f"batch_stats/{name}/var")):
                    getattr(layer, buffer).copy_(torch.from_numpy(np.asarray(params[key]).copy()))
        return actor

    def flat_params(self) -> dict[str, np.ndarray]:
        """The inverse of ``from_flat_params`` for a SAC actor (no batch renorm): sbx's layout."""
        if any(isinstance(m, FrozenRenorm) for m in self.body):
            raise ValueError("batch-renorm (CrossQ) actors cannot be written back as SAC parameters")
        out = {}
        for i, layer in enumerate(self.linears()):
            out[f"params/Dense_{i}/kernel"] = layer.weight.detach().numpy().T.copy()
            out[f"params/Dense_{i}/bias"] = layer.bias.detach().numpy().copy()
        return out

    def linears(self) -> list[nn.Linear]:
        """Dense layers in sbx's order: hidden layers, then the mean and log-std heads."""
        return [m for m in self.body if isinstance(m, nn.Linear)] + [self.mean, self.log_std]

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> "SquashedGaussianActor":
        """Rebuild from ``state_dict()`` tensors (e.g. a run's policy.safetensors)."""
        renorm = any(k.endswith(".var") for k in state)
        weights = [k for k in state if k.endswith(".weight") and k.startswith("body.")]
        weights.sort(key=lambda k: int(k.split(".")[1]))
        hidden = tuple(state[k].shape[0] for k in weights)
        first = state[weights[0]] if weights else state["mean.weight"]
        actor = cls(first.shape[1], state["mean.weight"].shape[0], hidden, renorm=renorm)
        actor.load_state_dict(state)
        return actor

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``[...]`` log π(a|s) of the tanh-squashed Gaussian for ``obs [..., obs_dim]``,
        ``actions [..., act_dim]`` in (-1, 1) (clipped to ±(1 − 1e-5) so atanh stays finite)."""
        mean, log_std = self(obs)
        bound = 1.0 - ACTION_EPSILON
        a = actions.clamp(-bound, bound)
        u = torch.atanh(a)
        gaussian = -0.5 * ((u - mean) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)
        # log|d tanh(u)/du| = log(1 - tanh(u)^2) = 2·(log 2 - u - softplus(-2u)), stable for large |u|
        jacobian = 2.0 * (math.log(2.0) - u - nn.functional.softplus(-2.0 * u))
        return (gaussian - jacobian).sum(-1)


def episode_returns(env, act, episodes: int, seed: int) -> list[float]:
    """True-reward returns of ``act(obs)`` over ``episodes`` episodes seeded ``seed, seed+1, ...``."""
    returns = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        done, total = False, 0.0
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns
