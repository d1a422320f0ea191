import json
import subprocess
import sys

import pytest

from aihfbench.cli import main


def test_run_prints_a_table_and_writes_the_run(tmp_path, capsys):
    assert main(["run", "--task", "bandit", "--algo", "aihf", "--demos", "2k", "--prefs", "245k",
                 "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tv_distance" in out and "uncovered_mass" in out and "converged=True" in out
    assert (tmp_path / "Bandit-aihf-v0/aihf/cpu/d2k-p245k/seed0/result.json").exists()


def test_run_json_is_strict_json_even_with_infinite_kl(tmp_path, capsys):
    assert main(["run", "--task", "bandit", "--algo", "bc", "--out", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert summary["metrics"]["kl_true_policy"] is None                       # infinite: null, as in result.json


def test_run_json_and_overrides(tmp_path, capsys):
    assert main(["run", "--task", "Bandit-aihf-v0", "--algo", "rlhf", "--out", str(tmp_path), "--json",
                 "task.preset=example1", "--demos", "100", "--prefs", "10"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["metrics"]["tv_distance"] == pytest.approx(0.1, abs=1e-6)     # π₁(RLHF) = 6/10


def exit_code(argv):
    """main() returns the status; argparse's own errors exit through SystemExit."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


BAD = [
    (["run", "--task", "bandt", "--algo", "aihf"], "did you mean 'bandit'"),
    (["run", "--task", "bandit", "--algo", "aihff"], "did you mean 'aihf'"),
    (["run", "--task", "bandit", "--algo", "aihf", "--demos", "2x"], "not a count"),
    (["run", "--task", "bandit", "--algo", "aihf", "--demos", "3k"], "<= 2k"),
    (["run", "--task", "bandit", "--algo", "aihf", "algo.alhpa=1"], "did you mean 'algo.alpha'"),
    (["run", "--task", "bandit", "--algo", "aihf", "algo.iterations=x"], "bad value"),
    (["run", "--task", "bandit", "--algo", "aihf", "task.colour=red"], "unknown bandit option"),
    (["run", "--task", "bandit", "--algo", "aihf", "--profile", "gpu"], "choose one of"),
    (["run", "--task", "bandit", "--algo", "aihf", "--seed", "x"], "invalid int value"),
    (["run", "--task", "bandit", "--algo", "aihf", "--seed", "-1"], "--seed must be an integer >= 0"),
    (["run", "--task", "bandit", "--algo", "aihf", "--threads", "0"], "--threads must be >= 1"),
    (["run", "--task", "bandit", "--algo", "aihf", "task.covered=1.5"], "covered must be an integer"),
    (["run", "--algo", "aihf"], "required: --task"),
    (["show", "bandt"], "did you mean"),
    (["figure2", "--repeats", "0"], "--repeats must be >= 1"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, argv, message):
    out_dir = tmp_path / "runs"
    extra = ["--out", str(out_dir)] if argv[0] == "run" else []
    assert exit_code(argv + extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out_dir.exists()


def test_unwritable_out_is_exit_2(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    assert main(["run", "--task", "bandit", "--algo", "bc", "--out", str(tmp_path / "f" / "runs")]) == 2
    assert "pass --out DIR with a writable DIR" in capsys.readouterr().err


def test_list_and_show(capsys):
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "Bandit-aihf-v0" in listing and "aihf-dpo" in listing
    assert main(["show", "bandit"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["spec"]["id"] == "Bandit-aihf-v0" and shown["task"]["max_prefs"] == 245_000
    assert len(shown["data"]["prefs_sha256"]) == 64


def test_console_script_exit_status_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "aihfbench", "run", "--task", "bandit", "--algo", "aihf",
                           "--demos", "9k", "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("aihfbench: error:") and "Traceback" not in proc.stderr
