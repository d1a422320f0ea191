"""Tabular primitives for the paper's section-4 bandit (numpy/torch, float64, exact).

Units: the bandit's data follow π*(r) = softmax(r/β) and P(i ≻ j) = σ((r_i - r_j)/β),
so the reward model here stores *logit units* s = r/β (report r = β·s). With that,
"improve π against r with KL-coefficient β to a prior π⁰" is exactly
π ∝ π⁰·exp(s) (paper eqs. 7, 22), and DPO's β is 1 in the same units.

Items are action indices. Data are summarised by counts (a batch of unique actions or
ordered pairs with multiplicities as ``weights``), so every loss is the full-data loss
exactly and gradient steps converge to the closed-form/convex optima of eqs. 15–24.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from ..data import Demonstrations, Preferences

DTYPE = torch.float64


class Actions(NamedTuple):
    """A batch of items: ``actions [B]`` with optional multiplicities ``weights [B]``."""

    actions: torch.Tensor
    weights: torch.Tensor | None = None


class Pairs(NamedTuple):
    """Ordered pairs (chosen ≻ rejected) with multiplicities ``weights [B]``."""

    chosen: Actions
    rejected: Actions
    weights: torch.Tensor | None = None


class TabularPolicy:
    """A fixed distribution over actions, held as log-probabilities (``-inf`` = no mass)."""

    def __init__(self, log_probs: torch.Tensor):
        self.log_probs = log_probs.detach().to(DTYPE)

    @property
    def probs(self) -> np.ndarray:
        return self.log_probs.exp().numpy()

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"log_probs": self.log_probs}

    def __repr__(self) -> str:
        return f"TabularPolicy(n_actions={len(self.log_probs)})"


class RelativePolicy(nn.Module):
    """Trainable π_h ∝ π⁰·exp(h), h initialised to 0 so that π = π⁰ (DPO's parameterisation).

    On π⁰'s support this is any distribution; off it, π is 0 and log π/π⁰ = h - log Z is
    still defined (the limit), so DPO needs no smoothing of a reference with zeros.
    """

    def __init__(self, reference: TabularPolicy):
        super().__init__()
        self.register_buffer("reference_log_probs", reference.log_probs.clone())
        self.h = nn.Parameter(torch.zeros_like(reference.log_probs))

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """``[B]`` log π(a)."""
        return torch.log_softmax(self.reference_log_probs + self.h, dim=0)[actions]

    def log_ratio(self, actions: torch.Tensor) -> torch.Tensor:
        """``[B]`` log π(a)/π⁰(a)."""
        return self.h[actions] - torch.logsumexp(self.reference_log_probs + self.h, dim=0)

    def freeze(self) -> TabularPolicy:
        return TabularPolicy(torch.log_softmax(self.reference_log_probs + self.h, dim=0))


class TabularReward(nn.Module):
    """One free reward value per action (the paper's unparameterised reward), logit units."""

    def __init__(self, n_actions: int):
        super().__init__()
        self.values = nn.Parameter(torch.zeros(n_actions, dtype=DTYPE))


class BanditPrimitives:
    def __init__(self, n_actions: int, beta: float, seed: int = 0):
        self.n_actions = n_actions
        self.beta = beta
        self.generator = torch.Generator().manual_seed(seed)
        self._summaries: dict[int, tuple[object, object]] = {}   # id(view) -> (view, batch)

    def _summary(self, view, build):
        """Count summaries are exact and fixed per view: build once, reuse every step."""
        hit = self._summaries.get(id(view))
        if hit is None or hit[0] is not view:
            hit = self._summaries[id(view)] = (view, build(view))
        return hit[1]

    # policies -------------------------------------------------------------
    def initial_policy(self) -> TabularPolicy:
        """π⁰ = uniform (the paper's §4 prior for AIHF)."""
        return TabularPolicy(torch.full((self.n_actions,), -np.log(self.n_actions), dtype=DTYPE))

    def imitate(self, demos: Demonstrations, config=None, log=None) -> TabularPolicy:
        """Behaviour cloning: the maximiser of -nll_loss over all tabular policies is the
        empirical frequency (eq. 21), computed exactly; unseen actions get probability 0."""
        counts = self.demo_counts(demos)
        return TabularPolicy(torch.log(torch.as_tensor(counts / counts.sum(), dtype=DTYPE)))

    def make_policy(self, reference: TabularPolicy) -> RelativePolicy:
        return RelativePolicy(reference)

    def improve(self, policy, reward: TabularReward, *, prior: TabularPolicy, steps: int = 0, log=None) -> TabularPolicy:
        """Policy alignment, solved exactly: argmax_π E_π[r] - β KL(π‖prior) = prior·exp(r/β)/Z."""
        with torch.no_grad():
            return TabularPolicy(torch.log_softmax(prior.log_probs + reward.values, dim=0))

    def sample(self, policy: TabularPolicy, n: int = 0, context=None) -> Actions:
        """τ' ~ π. ``n=0``: the exact expectation (every action weighted by π);
        ``n>0``: n Monte-Carlo draws, as Algorithm 1 does with real rollouts."""
        probs = policy.log_probs.exp()
        if n == 0:
            return Actions(torch.arange(self.n_actions), probs)
        return Actions(torch.multinomial(probs, n, replacement=True, generator=self.generator))

    # rewards --------------------------------------------------------------
    def make_reward(self) -> TabularReward:
        return TabularReward(self.n_actions)

    def returns(self, reward: TabularReward, items: Actions) -> torch.Tensor:
        """``[B]`` R(τ) = s(a) for one-step 'trajectories'."""
        return reward.values[items.actions]

    def log_prob(self, policy: RelativePolicy, items: Actions) -> torch.Tensor:
        """``[B]`` log π(a) of a trainable policy."""
        return policy.log_prob(items.actions)

    def log_ratio(self, policy: RelativePolicy, items: Actions) -> torch.Tensor:
        """``[B]`` log π(a)/π⁰(a) for the policy's reference π⁰."""
        return policy.log_ratio(items.actions)

    def report(self) -> dict[str, float]:
        """Facts for the result record (none: everything here is exact and instantaneous)."""
        return {}

    def optimizer(self, params, lr: float) -> torch.optim.Optimizer:
        """Full-batch Nesterov gradient steps: the losses here are smooth and convex."""
        return torch.optim.SGD(list(params), lr=lr, momentum=0.9, nesterov=True)

    # data -----------------------------------------------------------------
    def demo_counts(self, demos: Demonstrations) -> np.ndarray:
        return np.bincount(demos.columns["action"], minlength=self.n_actions).astype(np.float64)

    def pref_counts(self, prefs: Preferences) -> np.ndarray:
        """``[N, N]`` matrix W with W[i, j] = #{i ≻ j}."""
        cols = prefs.columns
        flat = cols["chosen"] * self.n_actions + cols["rejected"]
        return np.bincount(flat, minlength=self.n_actions**2).reshape(self.n_actions, self.n_actions).astype(np.float64)

    def demo_batch(self, demos: Demonstrations, size: int = 0) -> Actions:
        """Demonstrated actions with counts (``size`` is ignored: the full data is exact and cheap)."""
        def build(view):
            counts = self.demo_counts(view)
            seen = np.flatnonzero(counts)
            return Actions(torch.as_tensor(seen), torch.as_tensor(counts[seen], dtype=DTYPE))

        return self._summary(demos, build)

    def pref_batch(self, prefs: Preferences, size: int = 0) -> Pairs:
        """Unique ordered pairs (i ≻ j) with counts."""
        def build(view):
            counts = self.pref_counts(view)
            i, j = np.nonzero(counts)
            return Pairs(Actions(torch.as_tensor(i)), Actions(torch.as_tensor(j)),
                         torch.as_tensor(counts[i, j], dtype=DTYPE))

        return self._summary(prefs, build)

    def contrast_pairs(self, demo: Actions, agent: Actions) -> Pairs:
        """Pairs (demonstration ≻ policy sample) for AIHF-DPO: every combination,
        weighted by the product of multiplicities (the expectation over both)."""
        chosen = demo.actions.repeat_interleave(len(agent.actions))
        rejected = agent.actions.repeat(len(demo.actions))
        dw = demo.weights if demo.weights is not None else torch.ones(len(demo.actions), dtype=DTYPE)
        aw = agent.weights if agent.weights is not None else torch.ones(len(agent.actions), dtype=DTYPE)
        return Pairs(Actions(chosen), Actions(rejected), torch.outer(dw, aw.detach()).reshape(-1))
