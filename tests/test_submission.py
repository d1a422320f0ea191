"""The outside researcher's path: submit -> check -> render, and what check refuses."""
import json
import shutil

import pytest

from aihfbench.cli import main
from aihfbench.runner import record_digest
from aihfbench.submission import check, official_grid, submit

PLUGIN = "examples.dpo_sft:DPOSFT"


@pytest.fixture(scope="module")
def submission(tmp_path_factory):
    out = tmp_path_factory.mktemp("submissions")
    result = submit(PLUGIN, "bandit", out=out)
    return out / "dpo-sft", result


@pytest.fixture
def copy(submission, tmp_path):
    folder = tmp_path / "dpo-sft"
    shutil.copytree(submission[0], folder)
    return folder


def rewrite(path, change, keep_integrity=False):
    record = json.loads(path.read_text())
    change(record)
    if not keep_integrity:
        record["integrity"] = record_digest(record)
    path.write_text(json.dumps(record))


def test_submit_runs_the_official_grid_and_writes_a_manifest(submission):
    folder, result = submission
    grid = official_grid("bandit")
    assert result["records"] == len(grid.demos) * len(grid.prefs) * len(grid.seeds) == 45
    manifest = json.loads((folder / "submission.json").read_text())
    assert manifest["name"] == "dpo-sft" and manifest["algo_class"] == PLUGIN and manifest["profile"] == "cpu"
    assert len(manifest["records"]) == 45 and len(manifest["summary"]) == 9


def test_check_accepts_the_submission_and_render_shows_it(submission, tmp_path, capsys):
    folder, _ = submission
    assert check([folder]) == (45, [])
    assert main(["leaderboard", "check", str(folder)]) == 0
    assert main(["leaderboard", "render", "--runs", str(folder), "--out", str(tmp_path / "lb")]) == 0
    assert "| `dpo-sft` |" in (tmp_path / "lb" / "Bandit-aihf-v0" / "cpu.md").read_text()


def test_an_edited_metric_is_refused(copy, capsys):
    victim = next(copy.rglob("seed2/result.json"))
    rewrite(victim, lambda r: r["metrics"].update(tv_distance=0.001), keep_integrity=True)
    assert main(["leaderboard", "check", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "integrity hash does not match" in err and all(line.startswith("refused: ") for line in err.splitlines())


def test_an_edited_metric_with_a_recomputed_hash_is_still_refused(copy):
    victim = next(copy.rglob("seed2/result.json"))
    rewrite(victim, lambda r: r["metrics"].update(tv_distance=0.001))
    _, problems = check([copy])
    assert any("metric tv_distance=0.001 does not match" in p for p in problems)
    assert any("integrity differs" in p for p in problems)           # nor is it the record the manifest lists


def test_other_data_profile_budget_and_overrides_are_refused(copy):
    records = sorted(copy.rglob("result.json"))
    rewrite(records[0], lambda r: r["data"].update(prefs_sha256="0" * 64))
    rewrite(records[1], lambda r: r.update(profile="gpu"))
    rewrite(records[2], lambda r: r.update(demos=123))
    rewrite(records[3], lambda r: r.update(overrides=["algo.alpha=5"]))
    _, problems = check(records[:4])
    assert any("dataset checksums differ" in p for p in problems)
    assert any("profile 'gpu'" in p for p in problems)
    assert any("not on Bandit-aihf-v0's official grid" in p for p in problems)
    assert any("run with overrides" in p for p in problems)


def test_missing_seeds_are_refused(copy):
    shutil.rmtree(next(copy.rglob("seed4")))
    _, problems = check([copy])
    assert any("has 4 seed(s), needs >= 5" in p for p in problems)
    assert any("which is missing" in p for p in problems)


def test_a_taken_method_name_is_refused(copy):
    for path in copy.rglob("result.json"):
        rewrite(path, lambda r: r.update(algo="aihf"))
    _, problems = check([copy])
    assert any("taken by the built-in aihfbench.algos.aihf:AIHF" in p for p in problems)


def test_a_tampered_summary_is_refused(copy):
    manifest = copy / "submission.json"
    data = json.loads(manifest.read_text())
    data["summary"][0]["mean"] = 0.0
    manifest.write_text(json.dumps(data))
    _, problems = check([copy])
    assert any("summary does not match" in p for p in problems)
