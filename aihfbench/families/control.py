"""Primitives for the MuJoCo control family (DESIGN.md §2–§3), used by every method.

Items are *segments*: ``obs [B, T, obs_dim]``, ``act [B, T, act_dim]`` and a ``mask [B, T]``
(1 on real steps; segments cut at an episode's end are shorter than T = 50). A segment's
return is R_θ(τ) = Σ_t mask_t·r_θ(s_t, a_t); a policy's segment log-probability is
Σ_t mask_t·log π(a_t|s_t) (Contrastive Preference Learning's form of DPO).

Policies are tanh-squashed Gaussian MLPs (SAC's actor). ``improve`` runs SAC (sbx) against
the learned reward with a relabelling replay buffer; the SAC learner persists across
calls, so AIHF's policy alignments continue one another as in Algorithm 1.
"""
from __future__ import annotations

import copy
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from ..control.policy import SquashedGaussianActor
from ..control.sac import SACAgent, SACSettings
from ..control.splits import SEGMENT
from ..data import Demonstrations, Preferences
from ..errors import ConfigError
from ..losses import nll_loss


class Segments(NamedTuple):
    """A batch of segments with optional multiplicities ``weights [B]``."""

    obs: torch.Tensor        # [B, T, obs_dim]
    act: torch.Tensor        # [B, T, act_dim]
    mask: torch.Tensor       # [B, T], 1.0 on real steps
    weights: torch.Tensor | None = None


class Pairs(NamedTuple):
    """Ordered pairs of segments (chosen ≻ rejected)."""

    chosen: Segments
    rejected: Segments
    weights: torch.Tensor | None = None


class RewardMLP(nn.Module):
    """r_θ(s, a): an MLP on the concatenated state and action (paper A.2.1: 64×64 ReLU)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...] = (64, 64)):
        super().__init__()
        layers, width = [], obs_dim + act_dim
        for units in hidden:
            layers += [nn.Linear(width, units), nn.ReLU()]
            width = units
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        """``[...]`` rewards for ``obs [..., obs_dim]`` and ``act [..., act_dim]``."""
        return self.net(torch.cat([obs, act], dim=-1)).squeeze(-1)

    def frozen_numpy(self):
        """This reward as it is *now*, as a numpy function (for relabelling replay batches:
        a few rows cost ~10 µs instead of a torch call's ~100 µs)."""
        layers = [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy())
                  for m in self.net if isinstance(m, nn.Linear)]

        def reward(obs: np.ndarray, act: np.ndarray) -> np.ndarray:
            x = np.concatenate([obs, act], axis=-1)
            for i, (w, b) in enumerate(layers):
                x = x @ w + b
                if i < len(layers) - 1:
                    np.maximum(x, 0.0, out=x)
            return x[..., 0]

        return reward


class UniformPolicy:
    """π⁰ = uniform on the action box [-1, 1]^d (AIHF's random start; its KL is SAC's entropy)."""

    def __init__(self, act_dim: int, seed: int = 0):
        self.act_dim = act_dim
        self.rng = np.random.default_rng(seed)

    def act(self, obs: np.ndarray, **_: Any) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, size=(*np.shape(obs)[:-1], self.act_dim)).astype(np.float32)

    def log_prob(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return torch.full(actions.shape[:-1], -self.act_dim * math.log(2.0))

    def __repr__(self) -> str:
        return f"UniformPolicy(act_dim={self.act_dim})"


class RelativeActor(nn.Module):
    """A trainable actor π initialised at the reference π⁰ (DPO, AIHF-DPO); π⁰ stays frozen."""

    def __init__(self, reference: SquashedGaussianActor | UniformPolicy, fresh: SquashedGaussianActor):
        super().__init__()
        self.actor = fresh
        self.reference = reference

    def log_ratio(self, segments: Segments) -> torch.Tensor:
        """``[B]`` Σ_t mask·(log π(a_t|s_t) − log π⁰(a_t|s_t))."""
        with torch.no_grad():
            ref = self.reference.log_prob(segments.obs, segments.act)
        return ((self.actor.log_prob(segments.obs, segments.act) - ref) * segments.mask).sum(-1)

    def freeze(self) -> SquashedGaussianActor:
        frozen = copy.deepcopy(self.actor)
        frozen.requires_grad_(False)
        return frozen

    def parameters(self, recurse: bool = True):
        return self.actor.parameters(recurse)


@dataclass(frozen=True)
class ControlSettings:
    """Family-wide settings from the task's profile (the same for every method)."""

    sac: SACSettings = SACSettings()
    reward_hidden: tuple[int, ...] = (64, 64)


class ControlPrimitives:
    def __init__(self, task: Any, settings: ControlSettings, seed: int = 0):
        self.task, self.settings, self.seed = task, settings, seed
        probe = task.env()
        self.obs_dim = int(np.prod(probe.observation_space.shape))
        self.act_dim = int(np.prod(probe.action_space.shape))
        probe.close()
        self.rng = np.random.default_rng([seed, 11])
        self.generator = torch.Generator().manual_seed(seed)
        self.timings: dict[str, float] = defaultdict(float)
        self._sampler: dict[str, Any] | None = None
        self._demo_starts: dict[int, tuple[Demonstrations, np.ndarray]] = {}
        self._agents: list[SACAgent] = []

    # policies -------------------------------------------------------------------------------
    def initial_policy(self) -> UniformPolicy:
        """π⁰ for AIHF: the random (uniform) policy; SAC's entropy bonus is its KL term."""
        return UniformPolicy(self.act_dim, seed=self.seed)

    def new_actor(self) -> SquashedGaussianActor:
        torch.manual_seed(int(self.rng.integers(2**31)))
        return SquashedGaussianActor(self.obs_dim, self.act_dim, self.settings.sac.hidden)

    def imitate(self, demos: Demonstrations, config: Any, log: Any) -> SquashedGaussianActor:
        """Behaviour cloning: maximise Σ log π(a|s) over demonstrated transitions (Adam)."""
        from ..algos.base import gradient_steps

        actor = self.new_actor()
        optimizer = self.optimizer(actor.parameters(), config.lr)
        batches = self.task.demo_batches(demos, config.batch_size, seed=int(self.rng.integers(2**31)))

        def likelihood(k):
            log.policy(k, lambda: actor, unit="bc_steps")
            batch = next(batches)
            return nll_loss(actor.log_prob(batch["obs"], batch["action"]))

        gradient_steps(actor.parameters(), likelihood, optimizer, steps=config.steps, tol=0.0, log=log, tag="bc_nll")
        actor.requires_grad_(False)
        return actor

    def make_policy(self, reference: SquashedGaussianActor | UniformPolicy) -> RelativeActor:
        fresh = copy.deepcopy(reference) if isinstance(reference, SquashedGaussianActor) else self.new_actor()
        fresh.requires_grad_(True)
        return RelativeActor(reference, fresh)

    def improve(self, policy: Any, reward: RewardMLP, *, prior: Any, steps: int, log: Any = None) -> SACAgent:
        """Policy alignment: ``steps`` environment steps of SAC on r_θ. A ``SACAgent`` continues
        (AIHF's iterations); an actor (BC for RLHF) seeds a new learner's actor; the uniform π⁰
        starts a fresh one. ``prior`` enters through SAC's entropy term only (DESIGN.md §3)."""
        start = time.perf_counter()
        if not isinstance(policy, SACAgent):
            env = self.task.env()
            env.reset(seed=int(self.rng.integers(2**31)))
            actor = policy if isinstance(policy, SquashedGaussianActor) else None
            policy = SACAgent(env, self.settings.sac, seed=int(self.rng.integers(2**31)), actor=actor)
            self._agents.append(policy)
        policy.learn(reward, steps, log)
        self.timings["policy_alignment_s"] += time.perf_counter() - start
        return policy

    def sample(self, policy: Any, n: int, context: Any = None) -> Segments:
        """n segments of the policy's own behaviour (stochastic actions): consecutive windows of
        ≤ 50 steps of one continuing stream of episodes, cut at episode ends (masked). States come
        from the environment, so ``context`` (the demonstrations, used by the text family) is unused."""
        start = time.perf_counter()
        if self._sampler is None:
            env = self.task.env()
            obs, _ = env.reset(seed=int(self.rng.integers(2**31)))
            self._sampler = {"env": env, "obs": obs}
        env = self._sampler["env"]
        obs_out = np.zeros((n, SEGMENT, self.obs_dim), np.float32)
        act_out = np.zeros((n, SEGMENT, self.act_dim), np.float32)
        mask = np.zeros((n, SEGMENT), np.float32)
        for i in range(n):
            for t in range(SEGMENT):
                obs = self._sampler["obs"]
                action = policy.act(obs[None].astype(np.float32), deterministic=False, generator=self.generator)[0]
                obs_out[i, t], act_out[i, t], mask[i, t] = obs, action, 1.0
                next_obs, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    self._sampler["obs"], _ = env.reset()
                    break
                self._sampler["obs"] = next_obs
        self.timings["sampling_s"] += time.perf_counter() - start
        self.timings["sampled_env_steps"] += float(mask.sum())
        return Segments(torch.from_numpy(obs_out), torch.from_numpy(act_out), torch.from_numpy(mask))

    # rewards --------------------------------------------------------------------------------
    def make_reward(self) -> RewardMLP:
        torch.manual_seed(int(self.rng.integers(2**31)))
        return RewardMLP(self.obs_dim, self.act_dim, self.settings.reward_hidden)

    def returns(self, reward: RewardMLP, segments: Segments) -> torch.Tensor:
        """``[B]`` R_θ(τ) = Σ_t mask_t·r_θ(s_t, a_t)."""
        return (reward(segments.obs, segments.act) * segments.mask).sum(-1)

    def log_prob(self, policy: RelativeActor | SquashedGaussianActor, segments: Segments) -> torch.Tensor:
        """``[B]`` Σ_t mask_t·log π(a_t|s_t)."""
        actor = policy.actor if isinstance(policy, RelativeActor) else policy
        return (actor.log_prob(segments.obs, segments.act) * segments.mask).sum(-1)

    def log_ratio(self, policy: RelativeActor, segments: Segments) -> torch.Tensor:
        """``[B]`` Σ_t mask_t·log π(a_t|s_t)/π⁰(a_t|s_t)."""
        return policy.log_ratio(segments)

    def optimizer(self, params, lr: float) -> torch.optim.Optimizer:
        return torch.optim.Adam(list(params), lr=lr)

    # data -----------------------------------------------------------------------------------
    def _segment_starts(self, demos: Demonstrations) -> np.ndarray:
        """Starts of full 50-step windows inside one episode of the demonstration view."""
        hit = self._demo_starts.get(id(demos))
        if hit is None or hit[0] is not demos:
            episode = demos.columns["episode"]
            n = len(episode)
            if n < SEGMENT:
                raise ConfigError(f"control methods compare 50-step demonstration segments: --demos must be "
                                  f">= {SEGMENT} transitions, got {n}")
            starts = np.flatnonzero(episode[: n - SEGMENT + 1] == episode[SEGMENT - 1:])
            if len(starts) == 0:
                raise ConfigError(f"no demonstration episode in the first {n} transitions is {SEGMENT} steps "
                                  "long: raise --demos")
            hit = self._demo_starts[id(demos)] = (demos, starts)
        return hit[1]

    def demo_batch(self, demos: Demonstrations, size: int) -> Segments:
        """``size`` demonstration segments (50 consecutive transitions of one episode)."""
        starts = self.rng.choice(self._segment_starts(demos), size=size)
        rows = starts[:, None] + np.arange(SEGMENT)
        cols = demos.columns
        return Segments(torch.from_numpy(cols["obs"][rows]), torch.from_numpy(cols["action"][rows]),
                        torch.ones(size, SEGMENT))

    def pref_batch(self, prefs: Preferences, size: int) -> Pairs:
        """``size`` labelled pairs (τ_w ≻ τ_l) of 50-step pool segments."""
        b = prefs.sample(size, self.rng)
        obs_w, act_w = self.task.segments(b["chosen_episode"], b["chosen_start"])
        obs_l, act_l = self.task.segments(b["rejected_episode"], b["rejected_start"])
        ones = torch.ones(size, SEGMENT)
        return Pairs(Segments(torch.from_numpy(obs_w), torch.from_numpy(act_w), ones),
                     Segments(torch.from_numpy(obs_l), torch.from_numpy(act_l), ones))

    def contrast_pairs(self, demo: Segments, agent: Segments) -> Pairs:
        """AIHF-DPO's pairs (demonstration ≻ policy segment), matched one to one."""
        n = min(len(demo.obs), len(agent.obs))
        take = lambda s: Segments(s.obs[:n], s.act[:n], s.mask[:n])  # noqa: E731
        return Pairs(take(demo), take(agent))

    # facts for the result record ---------------------------------------------------------------
    def report(self) -> dict[str, float]:
        """Environment steps and seconds spent by the primitives (for result records and benches)."""
        facts = dict(self.timings)
        facts["sac_env_steps"] = float(sum(a.env_steps for a in self._agents))
        facts["relabel_s"] = sum(a.relabel_seconds for a in self._agents)
        return facts
