"""Grids: many cells, each run exactly once, resumable after any interruption.

Exactly-once rests on three facts:
1. a cell's run directory appears by one atomic rename, only when complete (runner);
2. a cell runs only under an exclusive ``flock`` on its lock file (``runner.cell_lock``,
   keyed by the cell's path inside the resolved runs root, and also taken by
   ``aihfbench run``), so two grids, a grid and a run, or an orphaned worker never run it at
   the same time; the holder re-checks for a finished record after taking the lock;
3. local workers die with the grid process (``PR_SET_PDEATHSIG``), so ``kill -9`` of the
   grid leaves no worker that could publish late.
A record that fails its integrity check counts as unfinished and is re-run (reported).
"""
from __future__ import annotations

import ctypes
import itertools
import os
import signal
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .budgets import parse_budget
from .errors import AihfbenchError
from .runner import Cell, RecordError, cell_lock, execute, load_record, prepare


class GridError(AihfbenchError):
    pass


@dataclass(frozen=True)
class GridSpec:
    tasks: tuple[str, ...]
    algos: tuple[str, ...]
    demos: tuple[str, ...]
    prefs: tuple[str, ...]
    seeds: tuple[int, ...]
    profile: str | None = None
    overrides: tuple[str, ...] = ()

    def cells(self) -> list[Cell]:
        return [Cell(task=t, algo=a, demos=d, prefs=p, seed=s, profile=self.profile, overrides=self.overrides)
                for t, a, d, p, s in itertools.product(self.tasks, self.algos, self.demos, self.prefs, self.seeds)]


def parse_list(text: str, *, what: str) -> tuple[str, ...]:
    items = tuple(x.strip() for x in str(text).split(","))
    if not text or any(not x for x in items):
        raise GridError(f"--{what} {text!r} must be a comma-separated list without empty items, e.g. a,b")
    if len(set(items)) != len(items):
        raise GridError(f"--{what} {text!r} repeats an item")
    return items


def parse_seeds(text: str) -> tuple[int, ...]:
    """``3`` -> seeds 0, 1, 2; ``0,4,7`` -> exactly those."""
    text = str(text).strip()
    try:
        if "," in text:
            seeds = tuple(int(x) for x in parse_list(text, what="seeds"))
        else:
            seeds = tuple(range(int(text)))
    except ValueError:
        raise GridError(f"--seeds {text!r} must be a count (3) or a list (0,4,7) of integers") from None
    if not seeds or min(seeds) < 0:
        raise GridError(f"--seeds {text!r} must give at least one seed >= 0")
    return seeds


def grid_from_args(tasks: str, algos: str, demos: str, prefs: str, seeds: str, profile: str | None,
                   overrides: Sequence[str] = ()) -> GridSpec:
    demo_list, pref_list = parse_list(demos, what="demos"), parse_list(prefs, what="prefs")
    for budget in demo_list:
        parse_budget(budget, what="--demos")
    for budget in pref_list:
        parse_budget(budget, what="--prefs")
    return GridSpec(parse_list(tasks, what="tasks"), parse_list(algos, what="algos"), demo_list, pref_list,
                    parse_seeds(seeds), profile, tuple(overrides))


# ---- one cell, exactly once -------------------------------------------------------------
def cell_state(run_dir: Path) -> str | None:
    """None when the cell is finished and its record verifies; else why it must (re)run."""
    record = run_dir / "result.json"
    if not record.exists():
        return "missing"
    try:
        load_record(record)
        return None
    except RecordError as exc:
        return str(exc)


def run_cell_once(cell: Cell, out: str | os.PathLike) -> dict[str, Any]:
    """Run a cell unless it is finished. Returns ``{status, cell, ...}``; never raises for a
    failing cell (its error is returned), so one bad cell does not stop a grid."""
    started = time.perf_counter()
    out = Path(out)
    try:
        p = prepare(cell, out)
        with cell_lock(p):
            why = cell_state(p.run_dir)
            if why is None:
                return {"status": "skipped", "cell": asdict(cell), "run_dir": str(p.run_dir)}
            record = execute(p, started=started)
            return {"status": "done", "cell": asdict(cell), "run_dir": str(p.run_dir),
                    "rerun_reason": None if why == "missing" else why,
                    "seconds": time.perf_counter() - started, "fit_time_s": record["fit_time_s"]}
    except Exception as exc:  # noqa: BLE001 - reported per cell, the grid goes on
        return {"status": "failed", "cell": asdict(cell), "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(), "seconds": time.perf_counter() - started}


def _crashed(cell: Cell, exc: BaseException) -> dict[str, Any]:
    return {"status": "failed", "cell": asdict(cell), "error": f"worker crashed ({type(exc).__name__}: {exc}); "
            "the cell is unfinished and re-runs when the grid is run again", "traceback": ""}


# ---- executors -----------------------------------------------------------------------------
def _die_with_parent(parent: int) -> None:
    """Worker initializer: one torch thread, and SIGKILL when the grid process dies."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


@dataclass
class GridReport:
    results: list[dict[str, Any]] = field(default_factory=list)
    wall_time_s: float = 0.0

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.results)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] == "failed"]


def _local(cells: list[Cell], out: Path, workers: int, on_result: Callable[[dict], None],
           max_crashes: int = 2) -> None:
    """A process pool with at most ``workers`` cells in flight. If a worker dies (killed,
    out of memory) the pool is rebuilt and the cells that were in flight go back in the
    queue; a cell in flight at ``max_crashes`` breaks is reported as failed (it is the
    culprit or, at worst, one of ``workers - 1`` bystanders), so one bad cell cannot stop
    the grid and no cell is lost."""
    import multiprocessing as mp
    from collections import deque
    from concurrent.futures.process import BrokenProcessPool

    crashes: dict[int, int] = {}
    queue = deque(cells)
    while queue:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                                 initializer=_die_with_parent, initargs=(os.getpid(),)) as pool:
            in_flight: dict[Any, Cell] = {}
            broken = False
            while (queue or in_flight) and not broken:
                while queue and len(in_flight) < workers:
                    cell = queue.popleft()
                    in_flight[pool.submit(run_cell_once, cell, out)] = cell
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    cell = in_flight.pop(future)
                    try:
                        on_result(future.result())
                    except BrokenProcessPool as exc:
                        broken = True
                        crashes[id(cell)] = crashes.get(id(cell), 0) + 1
                        if crashes[id(cell)] >= max_crashes:
                            on_result(_crashed(cell, exc))
                        else:
                            queue.appendleft(cell)
            if broken:                                   # the rest of the flight died with the pool
                for future, cell in in_flight.items():
                    if future.done() and future.exception() is None:
                        on_result(future.result())       # finished just before the break
                        continue
                    crashes[id(cell)] = crashes.get(id(cell), 0) + 1
                    if crashes[id(cell)] >= max_crashes:
                        on_result(_crashed(cell, BrokenProcessPool("worker died")))
                    else:
                        queue.appendleft(cell)


def _ray(cells: list[Cell], out: Path, workers: int, on_result: Callable[[dict], None], address: str | None) -> None:
    try:
        import ray
    except ImportError:
        raise GridError("--executor ray needs Ray: pip install 'aihfbench[ray]'") from None
    env = {"PYTHONPATH": os.pathsep.join([os.getcwd(), *sys.path[1:]]), "OMP_NUM_THREADS": "1",
           "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}
    started_here = not ray.is_initialized()
    if started_here:
        kwargs = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        ray.init(runtime_env={"env_vars": env}, log_to_driver=False, **kwargs)
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(_ray_cell)
        refs = {remote.remote(cell, str(out.resolve())): cell for cell in cells}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                on_result(ray.get(done[0]))
            except Exception as exc:  # noqa: BLE001 - the Ray worker or node died
                on_result(_crashed(refs[done[0]], exc))
    finally:
        if started_here:
            ray.shutdown()


def _ray_cell(cell: Cell, out: str) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    return run_cell_once(cell, out)


def run_grid(cells: Iterable[Cell], out: str | os.PathLike = "runs", *, workers: int = 1, executor: str = "local",
             address: str | None = None, on_result: Callable[[dict], None] | None = None) -> GridReport:
    """Run every cell not yet finished. Cells are validated first: a bad grid fails before any run."""
    cells = list(cells)
    out = Path(out)
    if workers < 1:
        raise GridError(f"--workers must be >= 1, got {workers}")
    if executor not in ("local", "ray"):
        raise GridError(f"--executor {executor!r} must be local or ray")
    seen: dict[Path, Cell] = {}
    for cell in cells:                                     # every cell is checked before any runs
        run_dir = prepare(cell, out).run_dir
        if run_dir in seen:
            raise GridError(f"cells {seen[run_dir]} and {cell} are the same run; remove the duplicate")
        seen[run_dir] = cell
    report = GridReport()
    start = time.perf_counter()

    def collect(result: dict[str, Any]) -> None:
        report.results.append(result)
        if on_result:
            on_result(result)

    if executor == "ray":
        _ray(cells, out, workers, collect, address)
    elif workers == 1:
        import torch

        torch.set_num_threads(1)
        for cell in cells:
            collect(run_cell_once(cell, out))
    else:
        _local(cells, out, workers, collect)
    report.wall_time_s = time.perf_counter() - start
    return report
