"""The squashed-Gaussian MLP actor (SAC's), in torch, loadable from expert checkpoints."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
RENORM_EPSILON = 1e-3   # sbx BatchRenorm's epsilon


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

        params = load_file(str(path))
        order = lambda name: int(name.split("_")[1])  # noqa: E731
        dense = sorted({k.split("/")[1] for k in params if k.startswith("params/Dense_")}, key=order)
        norms = sorted({k.split("/")[1] for k in params if k.startswith("params/BatchRenorm_")}, key=order)
        kernels = [params[f"params/{d}/kernel"] for d in dense]
        hidden = tuple(k.shape[1] for k in kernels[:-2])
        actor = cls(kernels[0].shape[0], kernels[-1].shape[1], hidden, renorm=bool(norms))
        linears = [m for m in actor.body if isinstance(m, nn.Linear)] + [actor.mean, actor.log_std]
        renorms = [m for m in actor.body if isinstance(m, FrozenRenorm)]
        with torch.no_grad():
            for layer, name in zip(linears, dense):
                layer.weight.copy_(torch.from_numpy(params[f"params/{name}/kernel"].T.copy()))
                layer.bias.copy_(torch.from_numpy(params[f"params/{name}/bias"].copy()))
            for layer, name in zip(renorms, norms):
                for buffer, key in (("scale", f"params/{name}/scale"), ("bias", f"params/{name}/bias"),
                                    ("mean", f"batch_stats/{name}/mean"), ("var", f"batch_stats/{name}/var")):
                    getattr(layer, buffer).copy_(torch.from_numpy(params[key].copy()))
        return actor


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
