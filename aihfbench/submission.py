"""Submissions: run a task's official grid for a new algorithm, and check result records.

``submit`` writes the records plus ``submission.json`` (name, algorithm class, task,
profile, the records' integrity hashes and the per-budget summary). ``check`` refuses,
with one line each, records that are corrupted or edited, use other data than the task's
published splits, another profile, unofficial budgets, too few seeds, a method name that
is taken, or metrics that cannot be recomputed from the record itself.
"""
from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from . import __version__
from .algos import _BUILTIN, get_algo
from .grid import GridSpec, run_grid
from .io import atomic_write_json
from .leaderboard import aggregate, find_records, load_records, records_frame
from .registration import make, spec
from .runner import RecordError, load_record

SUBMISSION_SCHEMA = "aihfbench.submission/1"
METRIC_TOLERANCE = 1e-9


def official_cells(algo: str, task: str, profile: str | None = None) -> list:
    """The cells a submission of ``algo`` runs: the task's official budgets × seeds."""
    grid = official_grid(task, profile)
    return GridSpec(grid.tasks, (algo,), grid.demos, grid.prefs, grid.seeds, grid.profile).cells()


def official_grid(task: str, profile: str | None = None) -> GridSpec:
    s = spec(task)
    if not s.official_demos or not s.official_prefs:
        raise RecordError(f"{s.id} has no official grid yet; it cannot take submissions")
    return GridSpec(tasks=(s.id,), algos=(), demos=tuple(map(str, s.official_demos)),
                    prefs=tuple(map(str, s.official_prefs)), seeds=tuple(range(s.official_seeds)),
                    profile=profile or s.default_profile)


def submit(algo: str, task: str, *, profile: str | None = None, out: str | Path = "submissions",
           workers: int = 1, executor: str = "local", on_result: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Run the official grid of ``task`` for ``algo`` and write ``<out>/<name>/submission.json``."""
    cls = get_algo(algo)
    grid = official_grid(task, profile)
    folder = Path(out) / cls.name
    cells = official_cells(algo, task, profile)
    report = run_grid(cells, folder, workers=workers, executor=executor, on_result=on_result)
    if report.failed:
        first = report.failed[0]
        raise RecordError(f"{len(report.failed)} cell(s) failed, e.g. {first['cell']}: {first['error']}; "
                          "fix the algorithm and submit again (finished cells are kept)")
    records = [load_record(p) for p in find_records([folder])]
    summary = aggregate(records_frame(records))
    manifest = {
        "schema": SUBMISSION_SCHEMA,
        "name": cls.name,
        "algo_class": f"{cls.__module__}:{cls.__qualname__}",
        "task": spec(task).id,
        "profile": grid.profile,
        "aihfbench": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "records": sorted(({"path": str(Path(r).relative_to(folder)), "integrity": load_record(r)["integrity"]}
                           for r in find_records([folder])), key=lambda x: x["path"]),
        "summary": json.loads(summary.to_json(orient="records")),
    }
    atomic_write_json(folder / "submission.json", manifest)
    return {"folder": str(folder), "records": len(records), "manifest": manifest}


# ---- checking ---------------------------------------------------------------------------
def _record_problems(record: dict[str, Any], path: str) -> list[str]:
    """Per-record checks: task, profile, budgets, data checksums, recomputable metrics."""
    problems = []
    try:
        s = spec(record["task"])
    except Exception as exc:  # noqa: BLE001
        return [f"{path}: {exc}"]
    if record["profile"] not in s.profiles:
        problems.append(f"{path}: profile {record['profile']!r} is not one of {s.id}'s ({', '.join(s.profiles)})")
    if record["demos"] not in s.official_demos or record["prefs"] not in s.official_prefs:
        problems.append(f"{path}: budget demos={record['demos']}, prefs={record['prefs']} is not on {s.id}'s official grid "
                        f"(demos {list(s.official_demos)} × prefs {list(s.official_prefs)})")
        return problems
    if record.get("overrides"):
        problems.append(f"{path}: run with overrides {record['overrides']}; official results use the profile as is")
    try:
        task = make(s.id, **record["task_kwargs"])
        data = {**task.fingerprint(), "demos_view_sha256": task.demos(record["demos"]).fingerprint(),
                "prefs_view_sha256": task.preferences(record["prefs"]).fingerprint()}
    except Exception as exc:  # noqa: BLE001
        return problems + [f"{path}: cannot rebuild the task's data ({exc})"]
    if s.seed_resamples_data and record["task_kwargs"].get("data_seed") != record["seed"]:
        problems.append(f"{path}: data_seed {record['task_kwargs'].get('data_seed')} differs from seed {record['seed']}")
    if data != record["data"]:
        differing = sorted(k for k in set(data) | set(record["data"]) if data.get(k) != record["data"].get(k))
        problems.append(f"{path}: dataset checksums differ from the published splits ({', '.join(differing)})")
    recomputed = task.recompute_metrics({**record, "_path": str(path)})
    if recomputed is None:
        problems.append(f"{path}: metrics cannot be recomputed from this record (no stored policy for {s.id})")
    else:
        for key, value in recomputed.items():
            stored = record["metrics"].get(key, "missing")
            same = (stored is None and not np.isfinite(value)) or (
                isinstance(stored, (int, float)) and np.isclose(stored, value, rtol=METRIC_TOLERANCE, atol=METRIC_TOLERANCE))
            if not same:
                problems.append(f"{path}: metric {key}={stored} does not match {value:.12g} recomputed from the stored policy")
                break
    return problems


def check(paths: Iterable[str | Path]) -> tuple[int, list[str]]:
    """Validate records (files, run folders or submission folders). Returns (accepted, problems)."""
    paths = [Path(p) for p in paths]
    loaded, problems = load_records(paths)
    records: list[dict[str, Any]] = []
    for record in loaded:
        record_problems = _record_problems(record, record["_path"])
        problems += record_problems
        if not record_problems:
            records.append(record)
    for manifest_path in [p / "submission.json" for p in paths if (p / "submission.json").is_file()]:
        problems += _manifest_problems(manifest_path)
    if not records and not problems:
        problems.append(f"no result records found under {', '.join(map(str, paths))}")
    problems += _set_problems(records)
    return len(records), problems


def _set_problems(records: list[dict[str, Any]]) -> list[str]:
    """Across records: names unique per algorithm class, one profile per (task, method), complete grid with seeds."""
    problems = []
    classes: dict[str, set[str]] = defaultdict(set)
    for r in records:
        classes[r["algo"]].add(r.get("algo_class", "?"))
    for name, owners in sorted(classes.items()):
        builtin = _BUILTIN.get(name)
        if len(owners) > 1:
            problems.append(f"method name {name!r} is used by several algorithms ({', '.join(sorted(owners))}); rename one")
        elif builtin and owners != {builtin}:
            problems.append(f"method name {name!r} is taken by the built-in {builtin}; give {owners.pop()} another name")
    groups: dict[tuple, list] = defaultdict(list)
    for r in records:
        groups[(r["task"], r["algo"])].append(r)
    for (task, algo), rs in sorted(groups.items()):
        s = spec(task)
        profiles = {r["profile"] for r in rs}
        if len(profiles) > 1:
            problems.append(f"{algo} on {task}: records mix profiles {sorted(profiles)}; submit one profile")
        seeds: dict[tuple[int, int], set[int]] = defaultdict(set)
        for r in rs:
            seeds[(r["demos"], r["prefs"])].add(r["seed"])
        need = max(3, s.official_seeds)
        for d in s.official_demos:
            for p in s.official_prefs:
                have = len(seeds.get((d, p), ()))
                if have < need:
                    problems.append(f"{algo} on {task}: budget demos={d}, prefs={p} has {have} seed(s), needs >= {need}")
    return problems


def _manifest_problems(path: Path) -> list[str]:
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return [f"{path}: not readable JSON ({exc.__class__.__name__})"]
    if manifest.get("schema") != SUBMISSION_SCHEMA:
        return [f"{path}: not an {SUBMISSION_SCHEMA} manifest"]
    problems = []
    folder = path.parent
    listed = {entry["path"]: entry["integrity"] for entry in manifest.get("records", [])}
    present = {str(p.relative_to(folder)): p for p in find_records([folder])}
    for rel in sorted(set(listed) - set(present)):
        problems.append(f"{path}: lists {rel}, which is missing")
    for rel in sorted(set(present) - set(listed)):
        problems.append(f"{path}: {rel} is not listed in the manifest")
    records = []
    for rel in sorted(set(listed) & set(present)):
        try:
            record = load_record(present[rel])
        except RecordError:
            continue  # reported per record
        if record["integrity"] != listed[rel]:
            problems.append(f"{path}: {rel} is not the record the manifest lists (integrity differs)")
        records.append(record)
    if records:
        recomputed = json.loads(aggregate(records_frame(records)).to_json(orient="records"))
        if not _same_summary(recomputed, manifest.get("summary", [])):
            problems.append(f"{path}: its summary does not match the aggregate recomputed from the per-seed records")
    return problems


def _same_summary(a: list[dict], b: list[dict]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if set(x) != set(y):
            return False
        for key in x:
            u, v = x[key], y[key]
            if isinstance(u, float) or isinstance(v, float):
                if u is None or v is None or not np.isclose(u, v, rtol=1e-12, atol=1e-12):
                    if not (u is None and v is None):
                        return False
            elif u != v:
                return False
    return True
