import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file

import aihfbench.algos.aihf as aihf_module
from aihfbench.errors import AihfbenchError, BudgetError
from aihfbench.runner import Cell, run


@pytest.fixture(scope="module")
def aihf_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return run(Cell("bandit", "aihf", demos="2k", prefs="245k", seed=0), out=out), out


def test_run_directory_holds_config_spec_curve_result_and_checkpoints(aihf_run):
    record, out = aihf_run
    run_dir = out / "Bandit-aihf-v0" / "aihf" / "cpu" / "d2k-p245k" / "seed0"
    assert record["run_dir"] == str(run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.yaml", "curve.jsonl", "policy.safetensors", "result.json", "reward.safetensors", "spec.json"]
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["algo"] == "aihf" and config["algo_config"]["alpha"] == "ratio"
    assert config["demos"] == 2000 and config["profile"] == "cpu" and config["task_kwargs"] == {"data_seed": 0}
    assert json.loads((run_dir / "spec.json").read_text())["id"] == "Bandit-aihf-v0"
    curve = [json.loads(line) for line in (run_dir / "curve.jsonl").read_text().splitlines()]
    assert any("aihf_loss" in c for c in curve) and any("eval/tv_distance" in c for c in curve)
    assert json.loads((run_dir / "result.json").read_text()) == {k: v for k, v in record.items() if k != "run_dir"}
    probs = np.exp(load_file(run_dir / "policy.safetensors")["log_probs"])
    np.testing.assert_allclose(probs, record["task_record"]["policy_probs"])


def test_result_records_provenance_and_fingerprints(aihf_run):
    record, _ = aihf_run
    assert record["schema"] == "aihfbench.result/1"
    assert {"seed", "profile", "wall_time_s", "metrics", "config"} <= set(record)
    prov = record["provenance"]
    assert prov["versions"]["aihfbench"] and prov["versions"]["torch"] and "commit" in prov["git"]
    assert len(record["data"]["demos_sha256"]) == 64 and record["data"]["recipe"] == "bandit-recipe-1"
    assert record["fit_info"]["converged"] and record["fit_info"]["alpha"] == pytest.approx(2000 / 245000)


def test_closed_form_is_recomputable_from_the_record(aihf_run):
    """Anyone can check AIHF's policy from result.json alone, via eq. 24."""
    record, _ = aihf_run
    tr = record["task_record"]
    pi, d, w = (np.asarray(tr[k], dtype=float) for k in ("policy_probs", "demo_counts", "pref_counts"))
    assert d.sum() == record["demos"] and w.sum() == record["prefs"]
    n = w + w.T
    rho = 1 / (pi[:, None] + pi[None, :])
    np.fill_diagonal(n, 0)
    np.testing.assert_allclose(pi * (d.sum() + (n * rho).sum(1)), d + w.sum(1), rtol=1e-6)


def test_infinite_kl_is_written_as_null(tmp_path):
    record = run(Cell("bandit", "bc"), out=tmp_path)
    on_disk = json.loads((tmp_path / "Bandit-aihf-v0/bc/cpu/d2k-p245k/seed0/result.json").read_text())
    assert record["metrics"]["kl_true_policy"] == float("inf") and on_disk["metrics"]["kl_true_policy"] is None


def _no_runs(out):
    return [p for p in out.rglob("result.json")] == [] and not any(p.name.startswith("seed") for p in out.rglob("*"))


@pytest.mark.parametrize("cell", [
    Cell("bandt", "aihf"), Cell("bandit", "aihff"), Cell("bandit", "aihf", demos="3k"),
    Cell("bandit", "aihf", prefs="ten"), Cell("bandit", "aihf", overrides=("algo.nope=1",)),
    Cell("bandit", "aihf", profile="gpu"), Cell("bandit", "bc", demos=0),
])
def test_bad_cells_are_refused_before_anything_is_written(tmp_path, cell):
    with pytest.raises(AihfbenchError):
        run(cell, out=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_unwritable_output_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AihfbenchError, match="cannot write runs under"):
        run(Cell("bandit", "bc"), out=blocker / "runs")


def test_a_crash_inside_fit_leaves_no_run_directory(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("diverged")

    monkeypatch.setattr(aihf_module, "demo_contrast_loss", boom)
    with pytest.raises(RuntimeError, match="diverged"):
        run(Cell("bandit", "aihf"), out=tmp_path)
    assert _no_runs(tmp_path) and list((tmp_path / ".staging").iterdir()) == []


def test_rerunning_a_cell_replaces_it_whole(tmp_path):
    first = run(Cell("bandit", "rlhf", demos="1k", prefs="10k"), out=tmp_path)
    second = run(Cell("bandit", "rlhf", demos="1k", prefs="10k"), out=tmp_path)
    assert first["run_dir"] == second["run_dir"]
    assert [p.name for p in (tmp_path / "Bandit-aihf-v0/rlhf/cpu/d1k-p10k").iterdir()] == ["seed0"]
    assert second["metrics"] == first["metrics"]                   # deterministic


def test_overrides_get_their_own_run_directory(tmp_path):
    plain = run(Cell("bandit", "aihf", demos="1k", prefs="10k"), out=tmp_path)
    tuned = run(Cell("bandit", "aihf", demos="1k", prefs="10k", overrides=("algo.alpha=0",)), out=tmp_path)
    assert plain["run_dir"] != tuned["run_dir"] and tuned["fit_info"]["alpha"] == 0
    assert tuned["overrides"] == ["algo.alpha=0"]


def test_budgets_zero_for_a_source_the_method_does_not_use_are_fine(tmp_path):
    record = run(Cell("bandit", "bc", demos="100", prefs=0), out=tmp_path)
    assert record["prefs"] == 0
    with pytest.raises(BudgetError, match="rlhf learns from prefs"):
        run(Cell("bandit", "rlhf", prefs=0), out=tmp_path)


def test_on_the_bandit_the_seed_draws_the_data(tmp_path):
    """Seed s uses data_seed=s (the paper's repeats); an explicit task.data_seed wins."""
    zero = run(Cell("bandit", "bc", seed=0), out=tmp_path)
    one = run(Cell("bandit", "bc", seed=1), out=tmp_path)
    pinned = run(Cell("bandit", "bc", seed=1, overrides=("task.data_seed=0",)), out=tmp_path)
    assert zero["task_kwargs"]["data_seed"] == 0 and one["task_kwargs"]["data_seed"] == 1
    assert zero["data"]["demos_sha256"] != one["data"]["demos_sha256"]
    assert pinned["data"] == zero["data"]


def test_records_verify_and_edits_are_caught(aihf_run, tmp_path):
    from aihfbench.runner import RecordError, load_record

    record, _ = aihf_run
    path = tmp_path / "result.json"
    path.write_text((Path(record["run_dir"]) / "result.json").read_text())
    assert load_record(path)["integrity"] == record["integrity"]
    path.write_text(path.read_text().replace('"seed": 0', '"seed": 3'))
    with pytest.raises(RecordError, match="integrity hash does not match"):
        load_record(path)
    path.write_text("{not json")
    with pytest.raises(RecordError, match="corrupted"):
        load_record(path)


def test_policies_are_evaluated_on_each_units_own_schedule(tmp_path):
    from aihfbench.runner import RunLogger

    seen = []
    log = RunLogger(tmp_path / "curve.jsonl", lambda policy: {"score": float(policy)},
                    eval_every={"env_steps": 10, "gradient_steps": 4})
    for step in range(25):
        log.policy(step, lambda step=step: seen.append(("env", step)) or step, unit="env_steps")
        log.policy(step, lambda step=step: seen.append(("grad", step)) or step, unit="gradient_steps")
        log.policy(step, lambda: pytest.fail("a unit without a schedule is never evaluated"), unit="reward_steps")
    log.policy(20, lambda: pytest.fail("the same step is evaluated once"), unit="env_steps")
    log.close()
    assert seen == sorted(seen, key=lambda x: (x[1], x[0] != "env"))
    assert [s for u, s in seen if u == "env"] == [0, 10, 20]
    assert [s for u, s in seen if u == "grad"] == [0, 4, 8, 12, 16, 20, 24]
    points = [json.loads(line) for line in (tmp_path / "curve.jsonl").read_text().splitlines()]
    assert {p["unit"] for p in points} == {"env_steps", "gradient_steps"}
    assert all(p["eval/score"] == p["step"] for p in points)

    every = RunLogger(tmp_path / "c2.jsonl", lambda policy: {"score": 0.0}, eval_every=5)   # an int: every unit
    for step in range(6):
        every.policy(step, lambda: 0, unit="anything")
    every.close()
    assert len((tmp_path / "c2.jsonl").read_text().splitlines()) == 2
