import numpy as np
import pandas as pd
import pytest

from aihfbench.grid import grid_from_args, run_grid
from aihfbench.leaderboard import aggregate, iqm, markdown_table, render


def frame(values, algo="aihf", demos=100, prefs=1000, profile="cpu"):
    return pd.DataFrame({"task": "T-aihf-v0", "profile": profile, "algo": algo, "demos": demos, "prefs": prefs,
                         "seed": range(len(values)), "metric": "score", "higher_is_better": True, "value": values})


def test_mean_ci_and_iqm_over_seeds():
    agg = aggregate(frame([1.0, 2.0, 3.0, 4.0, 100.0])).iloc[0]
    assert agg["seeds"] == 5 and agg["mean"] == pytest.approx(22.0)
    assert agg["iqm"] == pytest.approx(3.0)                          # trims the outlier
    assert agg["ci_low"] <= agg["mean"] <= agg["ci_high"] and agg["iqm_low"] <= 3.0 <= agg["iqm_high"]
    assert iqm(np.array([0.0, 1.0, 2.0, 3.0])) == pytest.approx(1.5)


def test_fewer_than_five_seeds_has_no_iqm_and_one_seed_no_interval():
    assert "iqm" not in aggregate(frame([1.0, 2.0, 3.0])).columns
    single = aggregate(frame([4.0])).iloc[0]
    assert single["mean"] == 4.0 and np.isnan(single["ci_low"])


def test_table_marks_the_best_per_budget_respecting_direction():
    data = pd.concat([frame([1.0, 1.2, 1.1], algo="a"), frame([2.0, 2.1, 2.2], algo="b")])
    assert "`b` | **2.1**" in markdown_table(aggregate(data))
    data["higher_is_better"] = False
    assert "`a` | **1.1**" in markdown_table(aggregate(data))


@pytest.fixture(scope="module")
def two_profiles(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    for profile in ("cpu", "smoke"):
        run_grid(grid_from_args("bandit", "bc,aihf", "100,2k", "1k,245k", "2", profile).cells(), runs)
    return runs


def test_render_builds_one_page_per_task_and_profile(two_profiles, tmp_path):
    summary = render([two_profiles], tmp_path)
    assert [(p["task"], p["profile"]) for p in summary["pages"]] == [("Bandit-aihf-v0", "cpu"), ("Bandit-aihf-v0", "smoke")]
    page = (tmp_path / "Bandit-aihf-v0" / "cpu.md").read_text()
    assert "| `aihf` |" in page and "2k demos / 245k prefs" in page and "tv_distance" in page
    for name in ("cpu-heatmap.png", "cpu-curves.png", "cpu-records.csv", "smoke.md"):
        assert (tmp_path / "Bandit-aihf-v0" / name).stat().st_size > 0
    per_seed = pd.read_csv(tmp_path / "Bandit-aihf-v0" / "cpu-records.csv")
    assert set(per_seed["profile"]) == {"cpu"} and len(per_seed) == 16           # profiles never mixed
    assert "Bandit-aihf-v0/smoke.md" in (tmp_path / "index.md").read_text()


def test_render_is_deterministic_and_skips_bad_records(two_profiles, tmp_path):
    render([two_profiles], tmp_path / "a")
    victim = next(two_profiles.rglob("result.json"))
    original = victim.read_text()
    try:
        victim.write_text(original.replace('"seed": ', '"seed": 1', 1))
        summary = render([two_profiles], tmp_path / "b")
    finally:
        victim.write_text(original)
    assert len(summary["refused"]) == 1 and "integrity" in summary["refused"][0]
    render([two_profiles], tmp_path / "c")
    assert (tmp_path / "a/Bandit-aihf-v0/cpu.md").read_text() == (tmp_path / "c/Bandit-aihf-v0/cpu.md").read_text()


def test_records_run_with_overrides_never_reach_a_table(tmp_path):
    runs = tmp_path / "runs"
    run_grid(grid_from_args("bandit", "aihf", "100", "1k", "2", None).cells(), runs)
    run_grid(grid_from_args("bandit", "aihf", "100", "1k", "1", None, ["algo.alpha=0"]).cells(), runs)
    summary = render([runs], tmp_path / "lb")
    assert summary["records"] == 2 and len(summary["refused"]) == 1 and "overrides" in summary["refused"][0]
    assert "n=2" in (tmp_path / "lb" / "Bandit-aihf-v0" / "cpu.md").read_text()


def test_win_rates_pair_each_run_with_the_bc_run_of_its_budget_and_seed():
    from aihfbench.leaderboard import win_rate_frame

    def record(algo, seed, rewards, demos=1000):
        return {"task": "IMDb-aihf-v0", "profile": "offline", "algo": algo, "demos": demos, "prefs": 1000,
                "seed": seed, "task_record": {"eval_true_rewards": rewards}}

    records = [record("bc", 0, [0.0, 0.5, 0.5, 1.0]), record("bc", 1, [0.0, 0.0, 0.0, 0.0]),
               record("rlhf", 0, [1.0, 0.5, 0.0, 1.0]),      # win, tie, loss, tie -> (1 + .5 + 0 + .5) / 4
               record("rlhf", 1, [0.1, 0.1, 0.1, -0.1]),     # 3 wins, 1 loss
               record("rlhf", 2, [1.0, 1.0, 1.0, 1.0]),      # no bc run with seed 2: not paired
               record("dpo", 0, [1.0, 1.0, 1.0, 1.0], demos=500)]   # no bc run at 500 demos
    frame = win_rate_frame(records)
    assert sorted(zip(frame["algo"], frame["seed"], frame["value"])) == [("rlhf", 0, 0.5), ("rlhf", 1, 0.75)]
    agg = aggregate(frame)
    assert agg["mean"].iloc[0] == pytest.approx(0.625) and agg["metric"].iloc[0] == "win_rate_vs_bc"
    assert win_rate_frame([record("rlhf", 0, [1.0])]).empty
