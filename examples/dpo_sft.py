"""An example third-party algorithm: DPO with an SFT term (paper eq. 13 with α > 0,
Liu et al. 2024), written the way an outside researcher would plug a method in.

    max_π  α·E_D[log π(a|s)]  +  E_P[log σ(β log π(y_w)/π⁰(y_w) - β log π(y_l)/π⁰(y_l))]

It uses only the public pieces: the shared losses, the task family's primitives and the
``Algo`` contract (name, Config, fit). Run it through the official flow with

    aihfbench submit --algo examples.dpo_sft:DPOSFT --task bandit --out submissions
    aihfbench leaderboard check submissions/dpo-sft
    aihfbench leaderboard render --runs runs submissions --out leaderboards
"""
from __future__ import annotations

from dataclasses import dataclass, field

from aihfbench.algos import AlgoBase, Trained, gradient_steps
from aihfbench.algos.bc import BCConfig
from aihfbench.losses import dpo_loss, nll_loss


@dataclass
class DPOSFTConfig:
    # Defaults suit the bandit family (exact full-batch optimisation in logit units).
    sft: BCConfig = field(default_factory=BCConfig)
    alpha: float = 0.1        # weight of the SFT log-likelihood term
    beta: float = 1.0
    lr: float = 0.5
    steps: int = 20_000
    tol: float = 1e-10
    batch_size: int = 128


class DPOSFT(AlgoBase):
    name = "dpo-sft"
    Config = DPOSFTConfig

    def fit(self, task, demos, prefs, *, seed, log) -> Trained:
        cfg, fam = self.config, task.primitives(seed)
        reference = fam.imitate(demos, cfg.sft, log)                  # π⁰ = SFT
        policy = fam.make_policy(reference)
        optimizer = fam.optimizer(policy.parameters(), cfg.lr)
        demo = fam.demo_batch(demos)

        def loss(k):
            log.policy(k, policy.freeze)
            w, l, weights = fam.pref_batch(prefs, cfg.batch_size)
            preference = dpo_loss(fam.log_ratio(policy, w), fam.log_ratio(policy, l), cfg.beta, weights)
            return preference + cfg.alpha * nll_loss(fam.log_prob(policy, demo), demo.weights)

        info = gradient_steps(policy.parameters(), loss, optimizer, steps=cfg.steps, tol=cfg.tol, log=log, tag="loss")
        return Trained(policy=policy.freeze(), info=info)
