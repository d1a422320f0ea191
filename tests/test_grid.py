import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from aihfbench.algos import AlgoBase
from aihfbench.cli import main
from aihfbench.grid import GridSpec, grid_from_args, parse_seeds, run_grid
from aihfbench.runner import load_record

ALGOS = "bc,rlhf,dpo,aihf,aihf-dpo"


def records(out: Path) -> dict[str, tuple[str, int]]:
    """Finished cells: run dir -> (integrity, inode of result.json)."""
    found = {}
    for path in out.rglob("result.json"):
        if any(part.startswith(".") for part in path.relative_to(out).parts):
            continue
        found[str(path.parent)] = (load_record(path)["integrity"], path.stat().st_ino)
    return found


def test_parsing_expands_every_combination():
    grid = grid_from_args("bandit", "bc,aihf", "100,2k", "1k", "3", "smoke")
    assert len(grid.cells()) == 2 * 2 * 1 * 3
    assert parse_seeds("3") == (0, 1, 2) and parse_seeds("0,4,7") == (0, 4, 7)


@pytest.mark.parametrize("argv,message", [
    (["--tasks", "bandit,", "--algos", "bc", "--demos", "1k", "--prefs", "1k"], "without empty items"),
    (["--tasks", "bandit", "--algos", "bc,bc", "--demos", "1k", "--prefs", "1k"], "repeats an item"),
    (["--tasks", "bandit", "--algos", "bc", "--demos", "1k,lots", "--prefs", "1k"], "not a count"),
    (["--tasks", "bandit", "--algos", "bc", "--demos", "1k", "--prefs", "1k", "--seeds", "-1"], "at least one seed"),
    (["--tasks", "bandit", "--algos", "bc", "--demos", "1k", "--prefs", "1k", "--seeds", "0"], "at least one seed"),
    (["--tasks", "bandit", "--algos", "bc", "--demos", "9k", "--prefs", "1k"], "<= 2k"),
    (["--tasks", "bandit", "--algos", "bx", "--demos", "1k", "--prefs", "1k"], "did you mean 'bc'"),
    (["--tasks", "bandit", "--algos", "bc", "--demos", "1k", "--prefs", "1k", "--workers", "0"], "--workers must be >= 1"),
    (["--tasks", "bandit", "--algos", "bc", "--demos", "1k", "--prefs", "1k", "--executor", "slurm"], "invalid choice"),
])
def test_malformed_grids_are_refused_before_any_run(tmp_path, capsys, argv, message):
    try:
        code = main(["grid", *argv, "--out", str(tmp_path / "runs")])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not list(tmp_path.rglob("result.json"))


def test_finished_cells_are_never_run_twice(tmp_path):
    cells = grid_from_args("bandit", "bc,rlhf", "100", "1k,10k", "2", None).cells()
    first = run_grid(cells, tmp_path)
    before = records(tmp_path)
    again = run_grid(cells, tmp_path)
    assert first.count("done") == 8 and again.count("skipped") == 8 and again.count("done") == 0
    assert records(tmp_path) == before


def test_a_corrupted_record_is_detected_reported_and_rerun(tmp_path):
    cells = grid_from_args("bandit", "aihf", "100", "1k", "2", None).cells()
    run_grid(cells, tmp_path)
    victim = next(iter(sorted(tmp_path.rglob("seed0/result.json"))))
    victim.write_text(victim.read_text()[:200])                        # truncated
    report = run_grid(cells, tmp_path)
    rerun = [r for r in report.results if r["status"] == "done"]
    assert len(rerun) == 1 and "corrupted" in rerun[0]["rerun_reason"]
    load_record(victim)                                                # whole again


@dataclass
class NoConfig:
    pass


class Exploding(AlgoBase):
    name = "exploding"
    Config = NoConfig

    def fit(self, task, demos, prefs, *, seed, log):
        raise FloatingPointError("reward diverged at step 3")


def test_a_failing_cell_is_reported_and_the_others_finish(tmp_path):
    spec = GridSpec(("bandit",), ("bc", f"{__name__}:Exploding"), ("100",), ("1k",), (0, 1))
    report = run_grid(spec.cells(), tmp_path)
    assert report.count("done") == 2 and report.count("failed") == 2
    assert "FloatingPointError: reward diverged at step 3" in report.failed[0]["error"]
    assert len(records(tmp_path)) == 2


def test_concurrent_grids_on_one_folder_run_each_cell_once(tmp_path):
    cells = grid_from_args("bandit", "rlhf,aihf", "100,500", "1k", "2", None).cells()
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(run_grid(cells, tmp_path))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.count("done") for r in reports) == len(cells)
    assert sum(r.count("skipped") for r in reports) == len(cells)
    assert len(records(tmp_path)) == len(cells)


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(x) for x in (task / "children").read_text().split()]
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


KILL_TRIALS = [*range(3), *(pytest.param(t, marks=pytest.mark.slow) for t in range(3, 13))]


@pytest.mark.parametrize("trial", KILL_TRIALS)
def test_kill_9_at_a_random_moment_then_resume_records_every_cell_exactly_once(tmp_path, trial):
    """kill -9 the grid (and with it its workers) at a random moment; resuming never loses,
    duplicates or re-runs a cell."""
    argv = [sys.executable, "-m", "aihfbench", "grid", "--tasks", "bandit", "--algos", ALGOS, "--demos", "100,2k",
            "--prefs", "1k,245k", "--seeds", "2", "--workers", "2", "--out", str(tmp_path)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.Random(trial).uniform(2.5, 7.0) if trial < 3 else random.Random(trial).uniform(0.2, 12.0))
    workers = _children(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while any(_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "workers outlived the killed grid"

    before = records(tmp_path)
    cells = grid_from_args("bandit", ALGOS, "100,2k", "1k,245k", "2", None).cells()
    report = run_grid(cells, tmp_path)
    after = records(tmp_path)
    assert report.count("failed") == 0
    assert len(after) == len(cells) == 40                           # nothing lost
    assert report.count("done") == len(cells) - len(before)         # only the unfinished ran
    assert {k: after[k] for k in before} == before                  # finished ones untouched
    assert list((tmp_path / ".staging").glob("*")) == []            # no half-written runs remain


def test_ray_executor_runs_the_same_cells(tmp_path):
    pytest.importorskip("ray")
    cells = grid_from_args("bandit", "bc,aihf", "100", "1k,10k", "1", None).cells()
    report = run_grid(cells, tmp_path, workers=2, executor="ray")
    assert report.count("done") == 4 and len(records(tmp_path)) == 4
    assert run_grid(cells, tmp_path, workers=2, executor="ray").count("skipped") == 4


class Crashing(AlgoBase):
    """Kills its own worker process, as an out-of-memory kill or a segfault would."""

    name = "crashing"
    Config = NoConfig

    def fit(self, task, demos, prefs, *, seed, log):
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_that_dies_is_reported_and_the_other_cells_still_run(tmp_path):
    crashing = GridSpec(("bandit",), (f"{__name__}:Crashing",), ("100",), ("1k",), (0,)).cells()
    healthy = GridSpec(("bandit",), ("bc", "rlhf"), ("100",), ("1k", "10k"), (0, 1)).cells()
    report = run_grid(crashing + healthy, tmp_path, workers=2)
    crashed = [r for r in report.failed if r["cell"]["algo"].endswith("Crashing")]
    assert len(crashed) == 1 and "worker crashed" in crashed[0]["error"]
    assert len(records(tmp_path)) + len(report.failed) - 1 == len(healthy)      # nothing silently lost
    assert len(records(tmp_path)) >= len(healthy) - 1                           # at most one bystander
    rerun = run_grid(healthy, tmp_path, workers=2)
    assert rerun.count("failed") == 0 and len(records(tmp_path)) == len(healthy)
