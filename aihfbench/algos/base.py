"""The one interface every method implements (DESIGN.md §2)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Protocol, runtime_checkable

import torch

from ..data import Demonstrations, Preferences


@dataclass
class Trained:
    """What ``fit`` returns: the policy, the learned reward model where the method has one,
    and free-form facts about the fit (iterations run, whether it converged...)."""

    policy: Any
    reward: Any | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Logger(Protocol):
    """Passed to ``fit``: ``log(step, **metrics)`` records a learning-curve point;
    ``log.progress(done, total, stage)`` drives the progress bar."""

    def __call__(self, step: int, **metrics: float) -> None: ...

    def progress(self, done: int, total: int, stage: str = "") -> None: ...

    def policy(self, step: int, get_policy: Callable[[], Any], unit: str = "steps") -> None:
        """Offer the current policy at ``step`` counted in ``unit`` (``env_steps``,
        ``gradient_steps``...); the runner calls ``get_policy()`` only when its schedule
        for that unit says so, so offering every step is cheap."""


class NullLogger:
    """A Logger that records nothing (for calling ``fit`` outside the runner)."""

    def __call__(self, step: int, **metrics: float) -> None:
        pass

    def progress(self, done: int, total: int, stage: str = "") -> None:
        pass

    def policy(self, step: int, get_policy: Callable[[], Any], unit: str = "steps") -> None:
        pass


@runtime_checkable
class Algo(Protocol):
    """``AlgoClass(config)`` builds it; ``fit`` trains on a task's feedback, nothing else.

    Evaluation is the runner's job, so every method is scored the same way.
    ``uses`` names the feedback the method needs (a budget of 0 for it is refused).
    """

    name: ClassVar[str]
    Config: ClassVar[type]
    uses: ClassVar[tuple[str, ...]]
    config: Any

    def fit(self, task: Any, demos: Demonstrations, prefs: Preferences, *, seed: int, log: Logger) -> Trained: ...


class AlgoBase:
    """Convenience base: stores the config; subclasses set ``name``, ``Config``, ``fit``."""

    name: ClassVar[str]
    Config: ClassVar[type]
    uses: ClassVar[tuple[str, ...]] = ("demos", "prefs")

    def __init__(self, config: Any | None = None):
        self.config = config if config is not None else self.Config()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


def gradient_steps(params, loss_fn, optimizer: torch.optim.Optimizer, *, steps: int, tol: float, log: Logger,
                   log_every: int = 100, tag: str = "loss") -> dict[str, Any]:
    """Run ``steps`` optimiser steps on ``loss_fn(k)``; stop early once the gradient norm
    falls below ``tol`` (``tol=0``: never). Returns iterations run and convergence facts."""
    params = list(params)
    grad_norm = float("inf")
    k = -1
    for k in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(k)
        loss.backward()
        value = loss.item()
        grad_norm = float(torch.sqrt(sum((p.grad**2).sum() for p in params if p.grad is not None)))
        if k % log_every == 0 or grad_norm < tol:
            log(k, **{tag: value, "grad_norm": grad_norm})
            log.progress(k + 1, steps, tag)
        if grad_norm < tol:
            break
        optimizer.step()
    log.progress(steps, steps, tag)
    return {"iterations": k + 1, "grad_norm": grad_norm, "converged": grad_norm < tol}


def check_alpha(alpha: Any) -> None:
    """Config-time check: α is a number >= 0 or the word "ratio"."""
    if isinstance(alpha, str):
        if alpha.strip().lower() != "ratio":
            raise ValueError(f"alpha must be a number >= 0 or 'ratio' (= |D|/|P|), got {alpha!r}")
    elif not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or alpha < 0:
        raise ValueError(f"alpha must be a number >= 0 or 'ratio' (= |D|/|P|), got {alpha!r}")


def resolve_alpha(alpha: Any, demos: Demonstrations, prefs: Preferences) -> float:
    """The demonstration weight α of eq. 8, or ``"ratio"`` for α = |D|/|P|.

    Paper §4 sums over data points, ``|D|·L1 + |P|·L2`` (eq. 23); dividing by |P| gives
    the mean-normalised eq. 8 with α = |D|/|P|, which is what ``"ratio"`` selects.
    """
    check_alpha(alpha)
    return len(demos) / len(prefs) if isinstance(alpha, str) else float(alpha)
