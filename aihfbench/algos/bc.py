"""Behaviour cloning / SFT: maximise Σ_demos log π(a|s) (paper eq. 1)."""
from __future__ import annotations

from dataclasses import dataclass

from .base import AlgoBase, Trained


@dataclass
class BCConfig:
    lr: float = 1e-4          # Adam step size for parametric policies (control, text)
    batch_size: int = 256
    steps: int = 10_000       # gradient steps; the bandit's tabular MLE is exact and ignores these


class BC(AlgoBase):
    name = "bc"
    Config = BCConfig
    uses = ("demos",)

    def fit(self, task, demos, prefs, *, seed, log) -> Trained:
        fam = task.primitives(seed)
        policy = fam.imitate(demos, self.config, log)      # argmax_π Σ log π(a|s)
        return Trained(policy=policy)
