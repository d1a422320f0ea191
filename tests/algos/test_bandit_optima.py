"""Every method reaches its closed-form / convex optimum of paper §4 (eqs. 15–24).

The references here are computed independently of the package: numpy likelihoods
maximised with scipy, from the raw counts.
"""
import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.sparse.csgraph import connected_components
from scipy.special import expit, log_softmax, softmax

import aihfbench
from aihfbench.algos import get_algo
from aihfbench.config import resolve


def fit(task, name, *overrides, log=None):
    from tests.conftest import RecordingLogger

    cls = get_algo(name)
    config = resolve(cls, task.spec, "cpu", overrides).algo
    return cls(config).fit(task, task.demos(), task.preferences(), seed=0, log=log or RecordingLogger())


def counts(task):
    fam = task.primitives()
    return fam.demo_counts(task.demos()), fam.pref_counts(task.preferences())


def btl_mle(wins):
    """argmax_r Σ_ij W_ij log σ(r_i - r_j) (eq. 18), gauge fixed by centring."""
    n = len(wins)

    def nll(r):
        d = r[:, None] - r[None, :]
        p = expit(d)
        return -(wins * np.log(p)).sum(), -((wins * (1 - p)).sum(1) - (wins * (1 - p)).sum(0))

    r = minimize(nll, np.zeros(n), jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 10_000}).x
    return r - r.mean()


def aihf_optimum(demo_counts, wins):
    """argmax_r |D|·L1(r) + |P|·L2(r) (eq. 23) with π = softmax(r)."""

    def neg(r):
        logpi = log_softmax(r)
        d = r[:, None] - r[None, :]
        l1 = demo_counts @ logpi
        l2 = (wins * np.log(expit(d))).sum()
        pi = np.exp(logpi)
        p = expit(d)
        g = demo_counts - demo_counts.sum() * pi + (wins * (1 - p)).sum(1) - (wins * (1 - p)).sum(0)
        return -(l1 + l2), -g

    r = minimize(neg, np.zeros(len(demo_counts)), jac=True, method="BFGS", options={"gtol": 1e-12, "maxiter": 10_000}).x
    return softmax(r)


def random_task(seed, n_actions=6, covered=None):
    rng = np.random.default_rng(seed)
    covered = covered or n_actions
    return aihfbench.make("bandit", n_actions=n_actions, covered=covered, rewards=rng.normal(0, 1, n_actions).tolist(),
                          n_demos=int(rng.integers(20, 200)), prefs_per_pair=int(rng.integers(5, 30)), data_seed=seed)


# ---- the paper's worked examples ------------------------------------------------------
@pytest.mark.parametrize("preset,sft", [("example1", 0.5), ("example2", 0.6)])
def test_examples_1_and_2(preset, sft):
    task = aihfbench.make("bandit", preset=preset)
    assert fit(task, "aihf").policy.probs[0] == pytest.approx(56 / 110, abs=1e-6)
    assert fit(task, "rlhf").policy.probs[0] == pytest.approx(6 / 10, abs=1e-6)
    assert fit(task, "dpo").policy.probs[0] == pytest.approx(6 / 10, abs=1e-6)
    assert fit(task, "bc").policy.probs[0] == pytest.approx(sft, abs=1e-12)


# ---- random instances against independent optima ----------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_random_instances_match_their_closed_forms(seed):
    task = random_task(seed, n_actions=4 + seed % 4, covered=None if seed % 2 else 3)
    d, w = counts(task)
    # precondition: the BTL MLE exists iff the "beat" graph is strongly connected
    assert connected_components(w > 0, connection="strong")[0] == 1
    sft = d / d.sum()
    np.testing.assert_allclose(fit(task, "bc").policy.probs, sft, atol=1e-12)                       # eq. 21

    r_p = btl_mle(w)
    rlhf = fit(task, "rlhf")
    learned = rlhf.reward.values.detach().numpy()
    np.testing.assert_allclose(learned - learned.mean(), r_p, atol=1e-6)                             # eq. 20
    with np.errstate(divide="ignore"):
        closed = softmax(np.log(sft) + r_p)                                                         # eq. 22
    np.testing.assert_allclose(rlhf.policy.probs, closed, atol=1e-6)
    np.testing.assert_allclose(fit(task, "dpo").policy.probs, closed, atol=1e-6)                     # DPO = RLHF here

    aihf = fit(task, "aihf").policy.probs
    np.testing.assert_allclose(aihf, aihf_optimum(d, w), atol=1e-6)                                 # eq. 23
    # and it satisfies the first-order condition of eq. 24
    n_ij = w + w.T
    rho = 1 / (aihf[:, None] + aihf[None, :])
    np.fill_diagonal(n_ij, 0)
    np.testing.assert_allclose(aihf * (d.sum() + (n_ij * rho).sum(1)), d + w.sum(1), atol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_aihf_dpo_reaches_its_self_consistent_fixed_point(seed):
    """At the fixed point the gradient of DPO(P) + α·DPO(demo ≻ y'~π), with π held at the
    final policy, vanishes (reference = SFT, β = 1, α = |D|/|P|)."""
    task = random_task(seed + 10, n_actions=5)
    d, w = counts(task)
    pi = fit(task, "aihf-dpo").policy.probs
    sft = d / d.sum()
    support = sft > 0
    lr = np.full(len(pi), np.nan)
    lr[support] = np.log(pi[support]) - np.log(sft[support])        # log π/π⁰ (π⁰ = SFT); finite on support
    alpha = d.sum() / w.sum()
    # gradient of -Σ W_ij log σ(lr_i - lr_j)/|P| - α Σ_a Σ_b D_a π_b log σ(lr_a - lr_b)/|D| w.r.t. lr
    pair_w = w / w.sum() + alpha * np.outer(d / d.sum(), pi)
    s = expit(-(lr[:, None] - lr[None, :]))
    g = (pair_w * s).sum(1) - (pair_w * s).sum(0)
    np.testing.assert_allclose(g[support], 0, atol=1e-7)


# ---- Figure 2 and the reductions -----------------------------------------------------------
def test_figure_2_only_aihf_reaches_the_uncovered_actions():
    task = aihfbench.make("bandit")
    uncovered = {m: fit(task, m).policy.probs[45:].sum() for m in ("bc", "rlhf", "aihf")}
    assert uncovered["bc"] == 0 and uncovered["rlhf"] == 0
    assert uncovered["aihf"] == pytest.approx(task.true_policy[45:].sum(), abs=0.02)     # ≈ 0.0997


def test_aihf_with_alpha_zero_learns_the_rlhf_reward():
    task = random_task(3)
    aihf = fit(task, "aihf", "algo.alpha=0").reward.values.detach().numpy()
    rlhf = fit(task, "rlhf").reward.values.detach().numpy()
    np.testing.assert_allclose(aihf - aihf.mean(), rlhf - rlhf.mean(), atol=1e-8)


def test_aihf_dpo_with_alpha_zero_is_dpo():
    task = random_task(4)
    np.testing.assert_allclose(fit(task, "aihf-dpo", "algo.alpha=0").policy.probs, fit(task, "dpo").policy.probs,
                               atol=1e-12)


def test_every_iterative_fit_reports_convergence(log):
    task = aihfbench.make("bandit", preset="example1")
    for name in ("rlhf", "dpo", "aihf", "aihf-dpo"):
        info = fit(task, name, log=log).info
        assert info["converged"] and info["grad_norm"] < 1e-10
    assert log.records and all(np.isfinite(r["grad_norm"]) for r in log.records)


def test_sampled_aihf_approaches_the_exact_optimum():
    """Algorithm 1 with Monte-Carlo policy samples (as with real rollouts) lands near the optimum."""
    task = aihfbench.make("bandit", preset="example1")
    exact = fit(task, "aihf").policy.probs
    sampled = fit(task, "aihf", "algo.policy_samples=256", "algo.tol=0", "algo.iterations=3000",
                  "algo.reward_lr=0.05").policy.probs
    np.testing.assert_allclose(sampled, exact, atol=0.02)
