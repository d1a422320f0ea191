"""DPO (paper eq. 13 with α = 0): fit the policy directly to preferences with the
implicit reward β·log π/π⁰, π⁰ = the SFT/BC policy. Control uses the segment form
(Contrastive Preference Learning): log π summed over a segment's steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..losses import dpo_loss
from .base import AlgoBase, Trained, gradient_steps
from .bc import BCConfig


@dataclass
class DPOConfig:
    sft: BCConfig = field(default_factory=BCConfig)
    beta: float = 0.1               # DPO's inverse temperature (Rafailov et al. 2023)
    lr: float = 1e-4
    batch_size: int = 128
    steps: int = 10_000
    tol: float = 0.0


class DPO(AlgoBase):
    name = "dpo"
    Config = DPOConfig

    def fit(self, task, demos, prefs, *, seed, log) -> Trained:
        cfg, fam = self.config, task.primitives(seed)
        reference = fam.imitate(demos, cfg.sft, log)                 # π⁰ = SFT
        policy = fam.make_policy(reference)                          # π initialised at π⁰
        optimizer = fam.optimizer(policy.parameters(), cfg.lr)

        def preference_loss(k):
            log.policy(k, policy.freeze, unit="gradient_steps")
            w, l, weights = fam.pref_batch(prefs, cfg.batch_size)
            return dpo_loss(fam.log_ratio(policy, w), fam.log_ratio(policy, l), cfg.beta, weights)

        info = gradient_steps(policy.parameters(), preference_loss, optimizer,
                              steps=cfg.steps, tol=cfg.tol, log=log, tag="dpo_loss")
        return Trained(policy=policy.freeze(), info=info)
