"""RLHF in three stages (paper §2.2; Brown et al. 2019 for control):

1. SFT/BC on demonstrations -> π_SFT
2. reward model by Bradley–Terry on preferences -> r̂_P
3. RL on r̂_P from π_SFT, KL-regularised towards π_SFT (entropy-regularised SAC for control)

On the bandit stage 3 is exact: π_RLHF ∝ π_SFT·exp(r̂_P/β) = softmax(r̂_D + r̂_P) (eq. 22).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..losses import btl_loss
from .base import AlgoBase, Trained, gradient_steps
from .bc import BCConfig


@dataclass
class RLHFConfig:
    sft: BCConfig = field(default_factory=BCConfig)
    reward_lr: float = 1e-4         # paper A.2.1: Adam 1e-4 for the reward MLP
    reward_batch: int = 128         # preference pairs per reward step
    reward_steps: int = 10_000
    tol: float = 0.0                # stop reward fitting once ‖∇‖ < tol (0: run all steps)
    rl_steps: int = 1_000_000       # policy-optimisation steps on the learned reward


class RLHF(AlgoBase):
    name = "rlhf"
    Config = RLHFConfig

    def fit(self, task, demos, prefs, *, seed, log) -> Trained:
        cfg, fam = self.config, task.primitives(seed)
        sft = fam.imitate(demos, cfg.sft, log)                                    # 1. SFT

        reward = fam.make_reward()                                                # 2. reward model
        optimizer = fam.optimizer(reward.parameters(), cfg.reward_lr)

        def preference_nll(k):
            w, l, weights = fam.pref_batch(prefs, cfg.reward_batch)
            return btl_loss(fam.returns(reward, w), fam.returns(reward, l), weights)

        info = gradient_steps(reward.parameters(), preference_nll, optimizer,
                              steps=cfg.reward_steps, tol=cfg.tol, log=log, tag="btl_loss")

        policy = fam.improve(sft, reward, prior=sft, steps=cfg.rl_steps, log=log)  # 3. RL from π_SFT
        return Trained(policy=policy, reward=reward, info={**info, **fam.report()})
