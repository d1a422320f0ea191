"""One cell = (task, algo, demos, prefs, seed, profile) -> a run directory:

    config.yaml      resolved configuration (task kwargs, algo Config, overrides)
    spec.json        the task spec
    curve.jsonl      learning curve: training metrics and periodic evaluations
    result.json      final metrics, provenance, dataset fingerprints, task record
    policy.safetensors / reward.safetensors   learned parameters (never pickles)

Everything is validated before anything is written; the run is built in a hidden
staging directory and renamed into place only when complete.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import torch
import yaml
from omegaconf import OmegaConf
from safetensors.torch import save_file

from . import __version__
from .algos import get_algo
from .budgets import format_budget, parse_budget
from .config import Resolved, resolve
from .errors import AihfbenchError, BudgetError, ConfigError, OutputError
from .io import atomic_write_json, atomic_write_text, finite_json
from .provenance import provenance
from .registration import TaskSpec, make, spec

RESULT_SCHEMA = "aihfbench.result/1"


class RecordError(AihfbenchError):
    """A result record that is missing, unreadable, or fails its integrity check."""


@dataclass(frozen=True)
class Cell:
    task: str
    algo: str
    demos: int | str | None = None       # None: the task's default budget
    prefs: int | str | None = None
    seed: int = 0
    profile: str | None = None           # None: the task's default profile
    overrides: tuple[str, ...] = ()

    def relative_dir(self, spec_: TaskSpec, demos: int, prefs: int, profile: str) -> Path:
        leaf = f"seed{self.seed}"
        if self.overrides:
            leaf += "-" + hashlib.sha256("\n".join(sorted(self.overrides)).encode()).hexdigest()[:8]
        return (Path(spec_.id) / self.algo.lower() / profile / f"d{format_budget(demos)}-p{format_budget(prefs)}" / leaf)


@dataclass
class Prepared:
    cell: Cell
    spec: TaskSpec
    algo_cls: Any
    config: Resolved
    task: Any
    demos: Any
    prefs: Any
    out: Path            # the runs root, resolved
    run_dir: Path

    @property
    def key(self) -> str:
        """The cell's identity inside its root: the same however ``--out`` is spelled."""
        return hashlib.sha256(str(self.run_dir.relative_to(self.out)).encode()).hexdigest()[:24]


def prepare(cell: Cell, out: str | os.PathLike = "runs") -> Prepared:
    """Validate a cell completely (ids, budgets, config, output dir) without writing a run."""
    spec_ = spec(cell.task)
    if not isinstance(cell.seed, int) or cell.seed < 0:
        raise ConfigError(f"--seed must be an integer >= 0, got {cell.seed!r}")
    algo_cls = get_algo(cell.algo)
    profile = cell.profile or spec_.default_profile
    config = resolve(algo_cls, spec_, profile, cell.overrides)
    if spec_.seed_resamples_data:                  # e.g. the bandit: seed s = data draw s (paper's repeats)
        config.task_kwargs.setdefault("data_seed", cell.seed)
    task = make(spec_.id, **config.task_kwargs)
    n_demos = parse_budget(cell.demos if cell.demos is not None else spec_.default_demos, what="--demos")
    n_prefs = parse_budget(cell.prefs if cell.prefs is not None else spec_.default_prefs, what="--prefs")
    demos, prefs = task.demos(n_demos), task.preferences(n_prefs)
    for source, n in (("demos", n_demos), ("prefs", n_prefs)):
        if source in getattr(algo_cls, "uses", ("demos", "prefs")) and n == 0:
            raise BudgetError(f"{algo_cls.name} learns from {source}: --{source} must be > 0")
    _check_writable(Path(out))
    root = Path(out).resolve()
    run_dir = root / Cell(**{**cell.__dict__, "algo": algo_cls.name}).relative_dir(spec_, n_demos, n_prefs, profile)
    return Prepared(cell, spec_, algo_cls, config, task, demos, prefs, root, run_dir)


def _check_writable(out: Path) -> None:
    """Create the runs root (only that) and prove a file can be written in it."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write runs under {str(out)!r} ({exc.strerror or exc}): pass --out DIR with a writable DIR") from None


class RunLogger:
    """Writes curve.jsonl, drives a progress bar and evaluates offered policies.

    ``eval_every``: an int (every that many steps of any unit) or a mapping from a step unit
    (``env_steps``, ``gradient_steps``...) to its interval; units the mapping omits are not
    evaluated. Control methods offer policies in environment steps, so curves are return vs
    environment steps there."""

    def __init__(self, curve_path: Path, evaluate: Callable[[Any], dict[str, float]], *,
                 eval_every: int | dict[str, int] = 100, progress: bool = False, description: str = ""):
        self._file = open(curve_path, "a", encoding="utf-8", buffering=1)   # line-buffered: tail -f works
        self._evaluate = evaluate
        self._eval_every = eval_every
        self._last_eval: dict[str, int] = {}
        self.evaluations = 0
        self._description, self._stage = description, ""
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=1, desc=description, unit="step", leave=False, dynamic_ncols=True)

    def _write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(finite_json(record), allow_nan=False) + "\n")

    def __call__(self, step: int, **metrics: float) -> None:
        self._write({"step": step, **metrics})

    def progress(self, done: int, total: int, stage: str = "") -> None:
        if self.bar is not None:
            if stage and stage != self._stage:
                self._stage = stage
                self.bar.set_description(f"{self._description} · {stage}", refresh=False)
            self.bar.total = total
            self.bar.n = done
            self.bar.refresh()

    def interval(self, unit: str) -> int | None:
        if isinstance(self._eval_every, int):
            return self._eval_every
        value = self._eval_every.get(unit)
        return int(value) if value else None

    def policy(self, step: int, get_policy: Callable[[], Any], unit: str = "steps") -> None:
        every = self.interval(unit)
        if every and step % every == 0 and self._last_eval.get(unit) != step:
            self._last_eval[unit] = step
            self.evaluations += 1
            metrics = {f"eval/{k}": v for k, v in self._evaluate(get_policy()).items()}
            self._write({"step": step, "unit": unit, **metrics})

    def close(self) -> None:
        self._file.close()
        if self.bar is not None:
            self.bar.close()


def run(cell: Cell, out: str | os.PathLike = "runs", *, progress: bool = False,
        eval_every: int | dict[str, int] | None = None) -> dict[str, Any]:
    """Run one cell (re-running it if it exists) and return its result record."""
    started = time.perf_counter()
    p = prepare(cell, out)
    with cell_lock(p):
        return execute(p, progress=progress, eval_every=eval_every, started=started)


@contextmanager
def cell_lock(p: Prepared):
    """Exclusive ``flock`` on the cell: one process at a time runs or publishes it."""
    locks = p.out / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{p.key}.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def execute(p: Prepared, *, progress: bool = False, eval_every: int | None = None,
            started: float | None = None) -> dict[str, Any]:
    """Run a prepared cell; the caller holds ``cell_lock(p)``. The run is built in a hidden
    staging directory and renamed into place; stale staging of earlier killed attempts at
    this cell is removed first. ``eval_every``: steps between evaluations of offered
    policies (default: the profile's, else 100)."""
    if not eval_every:
        eval_every = p.config.runner.get("eval_every", 100)
        eval_every = dict(eval_every) if isinstance(eval_every, dict) else int(eval_every)
    started = time.perf_counter() if started is None else started
    staging_root = p.out / ".staging"      # hidden; a crash leaves nothing that looks like a run
    staging_root.mkdir(parents=True, exist_ok=True)
    prefix = f"run-{p.key}-"
    for stale in staging_root.glob(prefix + "*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=prefix, dir=staging_root))
    try:
        record = _execute(p, staging, progress=progress, eval_every=eval_every, started=started)
        _publish(staging, p.run_dir, staging_root / f"{prefix}old")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    record["run_dir"] = str(p.run_dir)
    return record


def _execute(p: Prepared, staging: Path, *, progress: bool, eval_every: int, started: float) -> dict[str, Any]:
    cell, spec_ = p.cell, p.spec
    config = {"task": spec_.id, "algo": p.algo_cls.name, "demos": len(p.demos), "prefs": len(p.prefs),
              "seed": cell.seed, **p.config.to_dict()}
    atomic_write_text(staging / "config.yaml", yaml.safe_dump(config, sort_keys=False))
    atomic_write_text(staging / "spec.json", spec_.to_json() + "\n")

    torch.manual_seed(cell.seed)
    algo = p.algo_cls(p.config.algo)
    log = RunLogger(staging / "curve.jsonl", p.task.evaluate, eval_every=eval_every, progress=progress,
                    description=f"{p.algo_cls.name} on {spec_.id}")
    fit_start = time.perf_counter()
    try:
        trained = algo.fit(p.task, p.demos, p.prefs, seed=cell.seed, log=log)
    finally:
        log.close()
    fit_time = time.perf_counter() - fit_start
    metrics = p.task.evaluate(trained.policy)                      # the runner scores, never fit
    if trained.reward is not None:
        metrics.update(p.task.evaluate_reward(trained.reward, trained.policy))

    for name, model in (("policy", trained.policy), ("reward", trained.reward)):
        if model is not None and hasattr(model, "state_dict"):
            tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
            save_file(tensors, str(staging / f"{name}.safetensors"), metadata={"aihfbench": __version__})

    record = {
        "schema": RESULT_SCHEMA,
        "task": spec_.id,
        "family": spec_.family,
        "algo": p.algo_cls.name,
        "algo_class": f"{p.algo_cls.__module__}:{p.algo_cls.__qualname__}",
        "demos": len(p.demos),
        "prefs": len(p.prefs),
        "demo_unit": p.demos.unit,
        "pref_unit": p.prefs.unit,
        "seed": cell.seed,
        "profile": p.config.profile,
        "overrides": list(cell.overrides),
        "config": OmegaConf.to_container(OmegaConf.structured(p.config.algo)),
        "task_kwargs": p.config.task_kwargs,
        "primary_metric": spec_.primary_metric,
        "higher_is_better": spec_.higher_is_better,
        "metrics": metrics,
        "fit_info": trained.info,
        "data": {**p.task.fingerprint(), "demos_view_sha256": p.demos.fingerprint(),
                 "prefs_view_sha256": p.prefs.fingerprint()},
        "task_record": p.task.record(trained, p.demos, p.prefs),
        "fit_time_s": fit_time,
        "wall_time_s": time.perf_counter() - started,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "provenance": provenance(),
    }
    record["integrity"] = record_digest(record)
    atomic_write_json(staging / "result.json", record)
    return record


def record_digest(record: dict[str, Any]) -> str:
    """sha256 of the record's canonical JSON without its ``integrity`` and ``run_dir`` fields.

    It catches corruption and casual edits; the leaderboard checker also recomputes metrics."""
    body = {k: v for k, v in record.items() if k not in ("integrity", "run_dir")}
    canonical = json.dumps(finite_json(body), sort_keys=True, allow_nan=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_record(path: str | os.PathLike) -> dict[str, Any]:
    """Read and verify a result.json; raises RecordError naming what is wrong."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"{path}: not readable JSON ({exc.__class__.__name__}); the record is corrupted") from None
    if not isinstance(record, dict) or record.get("schema") != RESULT_SCHEMA:
        raise RecordError(f"{path}: not an {RESULT_SCHEMA} record")
    if record.get("integrity") != record_digest(record):
        raise RecordError(f"{path}: integrity hash does not match its content (edited or corrupted)")
    return record


def _publish(staging: Path, run_dir: Path, trash: Path) -> None:
    """Rename the complete staging directory into place. An older run of the cell is first
    moved into the staging area (``trash``), where a kill at any moment leaves it to be
    cleaned up by the next attempt at the cell, never visible as a run."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    if run_dir.exists():
        shutil.rmtree(trash, ignore_errors=True)
        os.replace(run_dir, trash)
        os.replace(staging, run_dir)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staging, run_dir)
