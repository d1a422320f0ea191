import subprocess
import sys

import numpy as np
import pytest

import aihfbench
from aihfbench.control.splits import DataError, build, grade, load_checkpoints, task_folder, verify


def test_grading_by_share_of_the_best_return(control_data):
    graded = grade(load_checkpoints(control_data["checkpoints"]))
    assert [c["mean_return"] for c in graded["high"]] == [1000.0, 950.0]
    assert [c["mean_return"] for c in graded["medium"]] == [700.0]
    assert [c["mean_return"] for c in graded["low"]] == [400.0]


def test_a_missing_grade_is_refused(tmp_path):
    from tests.control.conftest import fake_checkpoints

    with pytest.raises(DataError, match="no low-quality checkpoint"):
        grade(load_checkpoints(fake_checkpoints(tmp_path, returns=(1000.0, 800.0))))


def test_minari_reads_the_datasets_in_a_fresh_process(control_data):
    code = "import minari; d = minari.load_dataset('aihfbench/halfcheetah/expert-v0'); print(d.total_steps)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout.split()[-1]) >= 2000


def test_manifest_pins_every_file_and_the_task_serves_nested_budgets(control_data):
    manifest = verify(control_data["spec"])
    assert manifest["recipe"] == "control-recipe-1" and "pairs.parquet" in manifest["files"]
    assert any(name.endswith("main_data.hdf5") for name in manifest["files"])
    task = aihfbench.make("halfcheetah", build=False)
    assert task.max_demos >= 2000 and task.max_prefs == 3000
    small, large = task.preferences(100), task.preferences(1000)
    np.testing.assert_array_equal(small.columns["chosen_start"], large.columns["chosen_start"][:100])
    p = task.preferences().columns
    assert (p["chosen_return"] >= p["rejected_return"]).all() and (p["chosen_episode"] != p["rejected_episode"]).all()


def test_segment_batches_have_the_true_returns(control_data):
    task = aihfbench.make("halfcheetah", build=False)
    prefs = task.preferences(500)
    batch = next(task.preference_batches(prefs, 32, seed=1))
    assert batch["obs_w"].shape == (32, 50, 17) and batch["act_l"].shape == (32, 50, 6)
    cols = prefs.columns
    rows = task.pool["offsets"][cols["chosen_episode"][:5]][:, None] + cols["chosen_start"][:5, None] + np.arange(50)
    np.testing.assert_allclose(task.pool["reward"][rows].sum(1), cols["chosen_return"][:5], rtol=1e-4)
    demo = next(task.demo_batches(task.demos(1000), 64))
    assert demo["obs"].shape == (64, 17) and demo["action"].shape == (64, 6)


def test_teacher_noise_is_deterministic_and_recorded(control_data):
    clean = aihfbench.make("halfcheetah", build=False)
    noisy = aihfbench.make("halfcheetah", build=False, teacher="mistake", epsilon=0.2)
    again = aihfbench.make("halfcheetah", build=False, teacher="mistake", epsilon=0.2)
    flips = noisy.preferences().columns["flipped"]
    assert 0.15 < flips.mean() < 0.25
    np.testing.assert_array_equal(flips, again.preferences().columns["flipped"])
    assert noisy.fingerprint() != clean.fingerprint()
    bt = aihfbench.make("halfcheetah", build=False, teacher="bt", temperature=5.0).preferences().columns
    margin = np.abs(bt["chosen_return"] - bt["rejected_return"])
    assert bt["flipped"][margin > 50].mean() < bt["flipped"][margin < 5].mean()   # close calls flip more


def test_env_and_evaluation_use_the_true_reward(control_data):
    from aihfbench.control.policy import SquashedGaussianActor
    from gymnasium.utils.env_checker import check_env

    task = aihfbench.make("halfcheetah", build=False)
    check_env(task.env().unwrapped, skip_render_check=True)   # no display here
    actor = SquashedGaussianActor.from_sbx_checkpoint(next(control_data["checkpoints"].glob("*.safetensors")))
    result = task.evaluate(actor, episodes=2)
    assert result["episodes"] == 2
    assert result["normalized_score"] == pytest.approx(100 * (result["return_mean"] + 280.178953) / (12135.0 + 280.178953))


def test_a_corrupted_file_is_named_with_the_fix(control_data):
    parquet = task_folder(control_data["spec"]) / "pairs.parquet"
    original = parquet.read_bytes()
    try:
        parquet.write_bytes(original[: len(original) // 2])
        with pytest.raises(DataError, match=r"pairs.parquet does not match its checksum.*data build halfcheetah --force"):
            aihfbench.make("halfcheetah", build=False)
    finally:
        parquet.write_bytes(original)


def test_building_is_deterministic(control_data, tmp_path, monkeypatch):
    monkeypatch.setenv("AIHFBENCH_DATA", str(tmp_path / "a"))
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "m"))
    again = build(control_data["spec"], control_data["checkpoints"])
    assert again["files"] == control_data["manifest"]["files"]          # same seed: the same bytes, file by file


def test_an_interrupted_build_leaves_nothing_that_loads(control_data, tmp_path, monkeypatch):
    import aihfbench.control.splits as splits

    monkeypatch.setenv("AIHFBENCH_DATA", str(tmp_path / "a"))
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "m"))

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(splits, "_make_pairs", crash)
    with pytest.raises(KeyboardInterrupt):
        build(control_data["spec"], control_data["checkpoints"])
    assert not (tmp_path / "m" / "aihfbench").exists()
    assert [p.name for p in (tmp_path / "a" / "halfcheetah").iterdir()] == [".halfcheetah.build.lock"]
    with pytest.raises(DataError, match="not built: run `aihfbench data build halfcheetah`"):
        verify(control_data["spec"])
