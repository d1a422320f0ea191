"""AIHF, paper Algorithm 1: alternate policy alignment and reward alignment.

    π⁰ = initial policy (bandit: uniform; control: random; text: SFT/base model)
    for k = 0 .. K-1:
        π^{k+1} ← improve π against r_θ (exact softmax on the bandit, SAC/RL otherwise)
        τ' ~ π^{k+1} (N samples, kept for this iteration's reward steps)
        reward_steps times: τ ~ D, (τ_w ≻ τ_l) ~ P,
        θ ← θ - η ∇[ α·(-(R_θ(τ) - R_θ(τ')))  +  -log σ(R_θ(τ_w) - R_θ(τ_l)) ] / (1 + α)

The demonstration term is linear (Lemma 5.1), not logistic. We minimise the convex
combination (α·L1 + L2)/(1 + α): same optimum as eq. 8, step size independent of α
(Adam is invariant to the scale anyway). ``alpha="ratio"`` sets α = |D|/|P|, which
makes the objective paper §4's |D|·L1 + |P|·L2 (eq. 23).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..losses import btl_loss, demo_contrast_loss
from .base import AlgoBase, Trained, check_alpha, gradient_steps, resolve_alpha


@dataclass
class AIHFConfig:
    alpha: Any = 1.0                 # demo weight α >= 0, or "ratio" for |D|/|P| (eq. 23)
    iterations: int = 200            # K policy alignments (paper control: 200 × 5k SAC steps = 1M)
    reward_steps: int = 1            # reward steps after each policy alignment (IMDb: 12)
    policy_steps: int = 5_000        # RL steps per policy alignment (paper A.2.1: 5k SAC steps)
    reward_lr: float = 1e-4          # paper A.2.1: Adam 1e-4
    demo_batch: int = 64             # N demonstration segments per step
    policy_samples: int = 64         # N segments drawn from π^{k+1} after each policy alignment
                                     # (0: the exact expectation, bandit only)
    pref_batch: int = 64             # M preference pairs per step
    tol: float = 0.0                 # stop once ‖∇θ‖ < tol (0: run all iterations)

    def __post_init__(self) -> None:
        check_alpha(self.alpha)


def reward_alignment_loss(fam, reward, demo, agent, pairs, alpha: float):
    """(α·L1 + L2)/(1 + α): L1 = −(mean R_θ(τ) − mean R_θ(τ')) over demonstration segments τ and
    policy segments τ' (Lemma 5.1, linear), L2 = −mean log σ(R_θ(τ_w) − R_θ(τ_l)) (BTL).
    α = 0 leaves exactly RLHF's Bradley–Terry reward loss."""
    demo_term = demo_contrast_loss(fam.returns(reward, demo), fam.returns(reward, agent),
                                   demo.weights, agent.weights)
    pref_term = btl_loss(fam.returns(reward, pairs.chosen), fam.returns(reward, pairs.rejected), pairs.weights)
    return (alpha * demo_term + pref_term) / (1 + alpha)


class AIHF(AlgoBase):
    name = "aihf"
    Config = AIHFConfig

    def fit(self, task, demos, prefs, *, seed, log) -> Trained:
        cfg, fam = self.config, task.primitives(seed)
        alpha = resolve_alpha(cfg.alpha, demos, prefs)
        prior = fam.initial_policy()                                        # π⁰
        policy = prior
        reward = fam.make_reward()                                          # θ⁰
        optimizer = fam.optimizer(reward.parameters(), cfg.reward_lr)

        agent = None

        def reward_alignment(k):
            nonlocal policy, agent
            if k % cfg.reward_steps == 0:                                   # policy alignment
                policy = fam.improve(policy, reward, prior=prior, steps=cfg.policy_steps, log=log)
                log.policy(k, lambda: policy, unit="reward_steps")
                agent = fam.sample(policy, cfg.policy_samples, context=demos)   # τ' ~ π^{k+1}, once per alignment
            demo = fam.demo_batch(demos, cfg.demo_batch)                    # τ ~ D
            pairs = fam.pref_batch(prefs, cfg.pref_batch)                   # (τ_w ≻ τ_l) ~ P
            return reward_alignment_loss(fam, reward, demo, agent, pairs, alpha)

        info = gradient_steps(reward.parameters(), reward_alignment, optimizer,
                              steps=cfg.iterations * cfg.reward_steps, tol=cfg.tol, log=log, tag="aihf_loss")
        policy = fam.improve(policy, reward, prior=prior, steps=cfg.policy_steps, log=log)
        return Trained(policy=policy, reward=reward, info={**info, "alpha": alpha, **fam.report()})
