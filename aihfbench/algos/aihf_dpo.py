"""AIHF-DPO: the implicit-reward form of AIHF (DESIGN.md §3).

    π⁰ = reference (SFT by default, as DPO), π = π⁰ initially
    for k = 0 .. K-1:
        y' ~ π^k on the demonstration prompts (refreshed every iteration)
        loss = [ DPO(P)  +  α·DPO({demonstration ≻ y'}) ] / (1 + α)
        a few gradient steps on π

α = 0 is DPO exactly. On the bandit the samples y' can be the exact expectation
(``policy_samples=0``), and the fixed point is where the gradient of the loss with the
pairs weighted by the final π vanishes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..losses import dpo_loss
from .base import AlgoBase, Trained, check_alpha, gradient_steps, resolve_alpha
from .bc import BCConfig


@dataclass
class AIHFDPOConfig:
    sft: BCConfig = field(default_factory=BCConfig)
    alpha: Any = 1.0                 # weight of (demonstration ≻ sample) pairs, or "ratio" = |D|/|P|
    beta: float = 0.1
    lr: float = 1e-4
    iterations: int = 100            # sample refreshes
    steps_per_iteration: int = 100   # gradient steps between refreshes
    batch_size: int = 128            # preference pairs per step
    demo_batch: int = 64             # demonstrations paired with fresh samples per step
    policy_samples: int = 64         # y' per refresh (0: exact expectation, bandit only)
    reference: str = "sft"           # π⁰: "sft" (as DPO) or "initial" (the family's initial policy)
    tol: float = 0.0

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        if self.reference not in ("sft", "initial"):
            raise ValueError(f"reference must be 'sft' or 'initial', got {self.reference!r}")


def implicit_alignment_loss(fam, policy, pairs, contrast, alpha: float, beta: float):
    """[DPO(P) + α·DPO({demonstration ≻ y'})] / (1 + α) with the implicit reward
    β·log π/π⁰ (segment sums on control). α = 0 is DPO's loss exactly."""
    pref_term = dpo_loss(fam.log_ratio(policy, pairs.chosen), fam.log_ratio(policy, pairs.rejected), beta, pairs.weights)
    demo_term = dpo_loss(fam.log_ratio(policy, contrast.chosen), fam.log_ratio(policy, contrast.rejected),
                         beta, contrast.weights)
    return (pref_term + alpha * demo_term) / (1 + alpha)


class AIHFDPO(AlgoBase):
    name = "aihf-dpo"
    Config = AIHFDPOConfig

    def fit(self, task, demos, prefs, *, seed, log) -> Trained:
        cfg, fam = self.config, task.primitives(seed)
        alpha = resolve_alpha(cfg.alpha, demos, prefs)
        reference = fam.imitate(demos, cfg.sft, log) if cfg.reference == "sft" else fam.initial_policy()
        policy = fam.make_policy(reference)
        optimizer = fam.optimizer(policy.parameters(), cfg.lr)
        contrast = None

        def loss(k):
            nonlocal contrast
            if k % cfg.steps_per_iteration == 0:                            # refresh y' ~ π^k
                samples = fam.sample(policy.freeze(), cfg.policy_samples, context=demos)   # text: on demo prompts
                contrast = fam.contrast_pairs(fam.demo_batch(demos, cfg.demo_batch), samples)
                log.policy(k, policy.freeze, unit="gradient_steps")
            return implicit_alignment_loss(fam, policy, fam.pref_batch(prefs, cfg.batch_size), contrast,
                                           alpha, cfg.beta)

        info = gradient_steps(policy.parameters(), loss, optimizer, steps=cfg.iterations * cfg.steps_per_iteration,
                              tol=cfg.tol, log=log, tag="aihf_dpo_loss")
        return Trained(policy=policy.freeze(), info={**info, "alpha": alpha, **fam.report()})
