"""``Bandit-aihf-v0``: the paper's section-4 model, where every method has a closed form.

N actions with true rewards r; the true policy is π*(r) = softmax(r/β) (eq. 15).
Demonstrations are action draws from π* restricted to the first ``covered`` actions;
preferences are action pairs labelled by the Bradley–Terry model P(i ≻ j) = σ((r_i - r_j)/β),
``prefs_per_pair`` draws for every pair. Defaults reproduce Figure 2: 50 actions,
r_i = N(i/50; μ=0.5, σ=2) density, demonstrations cover actions 1–45, 2,000
demonstrations, 200 draws per pair (245,000 comparisons), β = 1.

Presets: ``figure2`` (default), ``example1`` and ``example2`` (the two-action examples
of §4 with their exact counts; there π₁(AIHF) = 56/110 and π₁(RLHF) = 6/10).
"""
from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from ..data import Demonstrations, Preferences, fingerprint_arrays
from ..errors import ConfigError
from ..families.bandit import BanditPrimitives, TabularPolicy
from .base import Task

RECIPE = "bandit-recipe-1"
DEMO_UNIT = "demonstrations (action draws)"
PREF_UNIT = "comparisons (labelled action pairs)"

FIGURE2 = dict(n_actions=50, mu=0.5, sigma=2.0, rewards=None, covered=45, n_demos=2000,
               prefs_per_pair=200, beta=1.0, data_seed=0, demo_counts=None, pref_counts=None)
PRESETS: dict[str, dict[str, Any]] = {
    "figure2": {},
    # r(τ1) = r(τ2); 50/50 demonstrations; τ1 ≻ τ2 six times, τ2 ≻ τ1 four times.
    "example1": dict(n_actions=2, rewards=[0.0, 0.0], covered=2, demo_counts=[50, 50], pref_counts=[[0, 6], [4, 0]]),
    # r(τ1) = r(τ2); 6/4 demonstrations; 50 comparisons each way (eq. 25).
    "example2": dict(n_actions=2, rewards=[0.0, 0.0], covered=2, demo_counts=[6, 4], pref_counts=[[0, 50], [50, 0]]),
}


def _number(options: dict[str, Any], name: str, kind: type) -> Any:
    """``options[name]`` as ``kind`` (an int option refuses 1.5 rather than truncating it)."""
    value = options[name]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or float(value).is_integer())
    if not ok:
        raise ConfigError(f"bandit: {name} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
    return kind(value)


def gaussian_rewards(n_actions: int, mu: float, sigma: float) -> np.ndarray:
    """r_i = density of N(μ, σ²) at i/N, i = 1..N (paper §4, Numerical Example 2)."""
    x = np.arange(1, n_actions + 1) / n_actions
    return np.exp(-((x - mu) ** 2) / (2 * sigma**2)) / (sigma * np.sqrt(2 * np.pi))


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


class BanditTask(Task):
    def __init__(self, spec, preset: str | None = None, **kwargs: Any):
        super().__init__(spec)
        if preset is not None and preset not in PRESETS:
            raise ConfigError(f"unknown bandit preset {preset!r}: choose one of {', '.join(PRESETS)}")
        unknown = set(kwargs) - set(FIGURE2)
        if unknown:
            raise ConfigError(f"unknown bandit option(s) {', '.join(sorted(unknown))}: options are preset, {', '.join(FIGURE2)}")
        self.preset = preset or "figure2"
        p = {**FIGURE2, **PRESETS[self.preset], **{k: v for k, v in kwargs.items() if v is not None}}
        self.options = p
        self.n_actions = _number(p, "n_actions", int)
        self.beta = _number(p, "beta", float)
        self.covered = _number(p, "covered", int)
        for name, kind in (("n_demos", int), ("prefs_per_pair", int), ("data_seed", int), ("mu", float), ("sigma", float)):
            _number(p, name, kind)
        try:
            self.rewards = (np.asarray(p["rewards"], dtype=np.float64) if p["rewards"] is not None
                            else gaussian_rewards(self.n_actions, float(p["mu"]), float(p["sigma"])))
        except (TypeError, ValueError):
            raise ConfigError(f"bandit: rewards must be a list of numbers, got {p['rewards']!r}") from None
        self._validate(p)
        self.true_policy = softmax(self.rewards / self.beta)

    def _validate(self, p: dict[str, Any]) -> None:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigError(f"bandit: {message}")

        need(self.n_actions >= 2, f"n_actions must be >= 2, got {self.n_actions}")
        need(self.rewards.shape == (self.n_actions,), f"rewards must have n_actions={self.n_actions} values")
        need(1 <= self.covered <= self.n_actions, f"covered must be in 1..n_actions={self.n_actions}, got {self.covered}")
        need(self.beta > 0, f"beta must be > 0, got {self.beta}")
        if p["demo_counts"] is not None:
            counts = np.asarray(p["demo_counts"])
            need(counts.shape == (self.n_actions,) and (counts >= 0).all(), "demo_counts must be n_actions counts >= 0")
        else:
            need(int(p["n_demos"]) >= 1, "n_demos must be >= 1")
        if p["pref_counts"] is not None:
            counts = np.asarray(p["pref_counts"])
            need(counts.shape == (self.n_actions, self.n_actions) and (counts >= 0).all(),
                 "pref_counts must be an n_actions × n_actions matrix of counts W[i][j] = #(i ≻ j)")
        else:
            need(int(p["prefs_per_pair"]) >= 1, "prefs_per_pair must be >= 1")

    def __repr__(self) -> str:
        return (f"BanditTask<{self.spec.id}>(preset={self.preset!r}, n_actions={self.n_actions}, covered={self.covered}, "
                f"beta={self.beta}, demos={self.max_demos:,}, prefs={self.max_prefs:,})")

    # fixed splits: generated deterministically from data_seed, in a fixed order ----------
    @cached_property
    def _streams(self) -> list[np.random.Generator]:
        return [np.random.default_rng(s) for s in np.random.SeedSequence(int(self.options["data_seed"])).spawn(3)]

    @cached_property
    def _demos(self) -> Demonstrations:
        rng, p = self._streams[0], self.options
        if p["demo_counts"] is not None:
            actions = np.repeat(np.arange(self.n_actions), np.asarray(p["demo_counts"], dtype=np.int64))
            actions = rng.permutation(actions)
        else:
            covered_probs = softmax(self.rewards[: self.covered] / self.beta)
            actions = rng.choice(self.covered, size=int(p["n_demos"]), p=covered_probs)
        return Demonstrations({"action": actions.astype(np.int64)}, unit=DEMO_UNIT)

    @cached_property
    def _prefs(self) -> Preferences:
        p = self.options
        if p["pref_counts"] is not None:
            wins = np.asarray(p["pref_counts"], dtype=np.int64)
        else:
            i, j = np.triu_indices(self.n_actions, k=1)
            p_ij = 1.0 / (1.0 + np.exp(-(self.rewards[i] - self.rewards[j]) / self.beta))
            k = self._streams[1].binomial(int(p["prefs_per_pair"]), p_ij)
            wins = np.zeros((self.n_actions, self.n_actions), dtype=np.int64)
            wins[i, j] = k
            wins[j, i] = int(p["prefs_per_pair"]) - k
        ci, ri = np.nonzero(wins)
        chosen = np.repeat(ci, wins[ci, ri])
        rejected = np.repeat(ri, wins[ci, ri])
        order = self._streams[2].permutation(len(chosen))
        return Preferences({"chosen": chosen[order].astype(np.int64), "rejected": rejected[order].astype(np.int64)},
                           unit=PREF_UNIT)

    def _demo_split(self) -> Demonstrations:
        return self._demos

    def _pref_split(self) -> Preferences:
        return self._prefs

    # algorithms and scoring -------------------------------------------------------------
    def primitives(self, seed: int = 0) -> BanditPrimitives:
        return BanditPrimitives(self.n_actions, self.beta, seed)

    def evaluate(self, policy: Any) -> dict[str, float]:
        """Distances to π* and value under the true reward. ``kl_true_policy`` is
        KL(π*‖π): infinite when π puts no mass on an action π* reaches."""
        pi = np.asarray(policy.probs if hasattr(policy, "probs") else policy, dtype=np.float64)
        if pi.shape != (self.n_actions,) or (pi < 0).any() or abs(pi.sum() - 1) > 1e-6:
            raise ValueError(f"a bandit policy is {self.n_actions} probabilities summing to 1")
        true = self.true_policy
        with np.errstate(divide="ignore"):
            kl_true_policy = float(np.sum(true * (np.log(true) - np.log(pi))))
            kl_policy_true = float(np.sum(np.where(pi > 0, pi * (np.log(np.where(pi > 0, pi, 1)) - np.log(true)), 0.0)))
        return {
            "tv_distance": float(0.5 * np.abs(pi - true).sum()),
            "kl_true_policy": kl_true_policy,
            "kl_policy_true": kl_policy_true,
            "expected_reward": float(pi @ self.rewards),
            "true_policy_reward": float(true @ self.rewards),
            "uncovered_mass": float(pi[self.covered:].sum()),
            "true_uncovered_mass": float(true[self.covered:].sum()),
        }

    def recompute_metrics(self, record: dict[str, Any]) -> dict[str, float]:
        """The metrics of a result record, recomputed from the policy it stores."""
        return self.evaluate(np.asarray(record["task_record"]["policy_probs"], dtype=np.float64))

    def fingerprint(self) -> dict[str, str]:
        return {
            "recipe": RECIPE,
            "demos_sha256": self._demos.fingerprint(),
            "prefs_sha256": self._prefs.fingerprint(),
            "options_sha256": fingerprint_arrays({k: np.asarray(v if v is not None else np.nan, dtype=np.float64)
                                                   for k, v in sorted(self.options.items())}),
        }

    def record(self, trained, demos, prefs) -> dict[str, Any]:
        fam = self.primitives()
        out: dict[str, Any] = {
            "policy_probs": np.asarray(trained.policy.probs).tolist(),
            "true_policy_probs": self.true_policy.tolist(),
            "true_rewards": self.rewards.tolist(),
            "demo_counts": fam.demo_counts(demos).astype(int).tolist(),
            "pref_counts": fam.pref_counts(prefs).astype(int).tolist(),
            "beta": self.beta,
        }
        if trained.reward is not None:
            out["reward_logits"] = trained.reward.values.detach().numpy().tolist()
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "preset": self.preset, "n_actions": self.n_actions, "covered": self.covered,
                "beta": self.beta, "presets": list(PRESETS)}


def as_policy(probs: np.ndarray) -> TabularPolicy:
    """Wrap raw probabilities as a policy (e.g. to evaluate a closed form)."""
    import torch

    with np.errstate(divide="ignore"):
        return TabularPolicy(torch.log(torch.as_tensor(np.asarray(probs, dtype=np.float64))))
