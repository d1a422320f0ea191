import numpy as np
import pytest

import aihfbench
from aihfbench.errors import BudgetError, ConfigError
from aihfbench.tasks.bandit import as_policy, gaussian_rewards


@pytest.fixture(scope="module")
def fig2():
    return aihfbench.make("Bandit-aihf-v0")


def test_defaults_are_the_figure_2_setup(fig2):
    assert fig2.n_actions == 50 and fig2.covered == 45 and fig2.beta == 1.0
    x = np.arange(1, 51) / 50
    np.testing.assert_allclose(fig2.rewards, np.exp(-((x - 0.5) ** 2) / 8) / (2 * np.sqrt(2 * np.pi)))
    assert fig2.max_demos == 2000 and fig2.max_prefs == 200 * 50 * 49 // 2
    demos = fig2.demos().columns["action"]
    assert demos.min() >= 0 and demos.max() < 45            # demonstrations cover actions 1-45 only
    prefs = fig2.preferences().columns
    pair_counts = np.zeros((50, 50), int)
    np.add.at(pair_counts, (prefs["chosen"], prefs["rejected"]), 1)
    total = pair_counts + pair_counts.T
    assert (total[~np.eye(50, dtype=bool)] == 200).all()     # 200 draws for every pair


def test_preference_labels_follow_bradley_terry(fig2):
    # Rewards differ by at most ~2e-3, so each label is a near-fair coin: the share of
    # "lower index wins" over 245k draws is 0.5 within a few standard errors.
    prefs = fig2.preferences().columns
    share = np.mean(prefs["chosen"] < prefs["rejected"])
    assert abs(share - 0.5) < 4 * 0.5 / np.sqrt(len(prefs["chosen"])) + 1e-3


def test_splits_are_fixed_and_nested(fig2):
    again = aihfbench.make("bandit")
    assert again.fingerprint() == fig2.fingerprint()
    np.testing.assert_array_equal(fig2.demos(100).columns["action"], fig2.demos(1000).columns["action"][:100])
    np.testing.assert_array_equal(fig2.preferences(500).columns["chosen"], fig2.preferences(5000).columns["chosen"][:500])
    assert aihfbench.make("bandit", data_seed=1).fingerprint()["demos_sha256"] != fig2.fingerprint()["demos_sha256"]


def test_budget_above_the_split_is_refused_with_the_maximum(fig2):
    with pytest.raises(BudgetError, match="2,000.*<= 2k"):
        fig2.demos(2001)
    with pytest.raises(BudgetError, match="245k"):
        fig2.preferences(300_000)


@pytest.mark.parametrize("preset,demo_counts,wins", [("example1", [50, 50], [[0, 6], [4, 0]]),
                                                     ("example2", [6, 4], [[0, 50], [50, 0]])])
def test_examples_have_their_exact_counts(preset, demo_counts, wins):
    task = aihfbench.make("bandit", preset=preset)
    fam = task.primitives()
    assert fam.demo_counts(task.demos()).tolist() == demo_counts
    assert fam.pref_counts(task.preferences()).tolist() == wins
    np.testing.assert_allclose(task.true_policy, [0.5, 0.5])


def test_evaluate_reports_distances_value_and_uncovered_mass(fig2):
    exact = fig2.evaluate(as_policy(fig2.true_policy))
    assert exact["tv_distance"] == pytest.approx(0, abs=1e-12)
    assert exact["kl_true_policy"] == pytest.approx(0, abs=1e-12)
    assert exact["uncovered_mass"] == pytest.approx(exact["true_uncovered_mass"])
    covered_only = np.r_[np.full(45, 1 / 45), np.zeros(5)]
    m = fig2.evaluate(covered_only)
    assert m["uncovered_mass"] == 0 and m["kl_true_policy"] == np.inf and np.isfinite(m["kl_policy_true"])
    true = fig2.true_policy
    assert m["tv_distance"] == pytest.approx(0.5 * (np.abs(true[:45] - 1 / 45).sum() + true[45:].sum()))
    assert m["expected_reward"] == pytest.approx(fig2.rewards[:45].mean())
    with pytest.raises(ValueError, match="probabilities"):
        fig2.evaluate(np.ones(50))


def test_kwargs_change_the_instance_and_bad_ones_are_refused():
    task = aihfbench.make("bandit", n_actions=10, covered=7, n_demos=300, prefs_per_pair=20, beta=0.5, mu=0.2, sigma=0.3)
    np.testing.assert_allclose(task.rewards, gaussian_rewards(10, 0.2, 0.3))
    assert task.max_demos == 300 and task.max_prefs == 20 * 45
    assert task.demos().columns["action"].max() < 7
    for bad in [dict(covered=0), dict(beta=0), dict(n_actions=1), dict(preset="example9"), dict(colour="red"),
                dict(n_actions=3, rewards=[1, 2]), dict(covered=1.5), dict(covered="abc"), dict(beta="hot"),
                dict(n_actions=2, covered=2, rewards=["a", "b"])]:
        with pytest.raises(ConfigError):
            aihfbench.make("bandit", **bad)
