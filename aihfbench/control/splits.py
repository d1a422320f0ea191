"""Build, verify and load the control tasks' fixed splits (paper §6.1, appendix A.2.1).

Recipe ``control-recipe-1`` for one environment:
1. grade expert checkpoints by mean return R relative to the best checkpoint's R*:
   high ≥ 0.9·R*, medium in [0.6, 0.9)·R*, low in [0.3, 0.6)·R* (near-random ones unused);
2. demonstrations = rollouts of the high checkpoints (actions sampled from the squashed
   Gaussian actor) until ≥ ``demo_transitions``; preference pool = rollouts of the low and
   medium checkpoints until ≥ ``pool_transitions``;
3. a preference = two 50-step segments from *different* pool episodes, the one with the
   higher true return preferred; ``pairs`` of them in a fixed random order.

Storage: the two rollout sets are Minari datasets ``aihfbench/<env>/expert-v0`` and
``aihfbench/<env>/pool-v0`` in Minari's own folder (plain ``minari.load_dataset`` reads
them); the pair table is a Hugging Face dataset saved as parquet, and ``manifest.json``
pins the sha256 of every file plus the recipe. Everything is built in staging folders and
moved into place only when complete, so an interrupted build never leaves a dataset that
later loads.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import AihfbenchError
from ..io import atomic_write_json, data_root, first_bad_file, sha256_file

RECIPE = "control-recipe-1"
SEGMENT = 50
GRADES = {"high": (0.9, np.inf), "medium": (0.6, 0.9), "low": (0.3, 0.6)}


class DataError(AihfbenchError):
    pass


@dataclass(frozen=True)
class BuildSpec:
    env_id: str                      # "Hopper-v5"
    short: str                       # "hopper"
    demo_transitions: int = 60_000
    pool_transitions: int = 120_000
    pairs: int = 60_000
    seed: int = 0

    @property
    def expert_id(self) -> str:
        return f"aihfbench/{self.short}/expert-v0"

    @property
    def pool_id(self) -> str:
        return f"aihfbench/{self.short}/pool-v0"


def minari_root() -> Path:
    from minari.storage.datasets_root_dir import get_dataset_path

    return Path(get_dataset_path())


def task_folder(spec: BuildSpec) -> Path:
    return data_root() / spec.short / "v0"


# ---- checkpoints ---------------------------------------------------------------------------
def load_checkpoints(folder: Path) -> list[dict[str, Any]]:
    """Checkpoint metadata (with ``path``) sorted by training step."""
    found = []
    for meta_path in sorted(Path(folder).glob("step-*.json")):
        meta = json.loads(meta_path.read_text())
        weights = meta_path.with_suffix(".safetensors")
        if weights.exists():
            found.append({**meta, "path": str(weights)})
    if not found:
        raise DataError(f"no expert checkpoints in {folder}: run `aihfbench experts train` first")
    return found


def grade(checkpoints: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    best = max(c["mean_return"] for c in checkpoints)
    graded = {name: [] for name in GRADES}
    for c in checkpoints:
        ratio = c["mean_return"] / best if best > 0 else -np.inf
        for name, (lo, hi) in GRADES.items():
            if lo <= ratio < hi:
                graded[name].append(c)
    for name, members in graded.items():
        if not members:
            raise DataError(f"no {name}-quality checkpoint (returns {GRADES[name][0]:.0%}–{GRADES[name][1]:.0%} of the best, "
                            f"{best:.0f}); train the expert further")
    return graded


# ---- rollouts into Minari ---------------------------------------------------------------------
@contextmanager
def _minari_staging(real_root: Path):
    """Point Minari at a temporary root beside the real one while building; restore it afterwards."""
    previous = os.environ.get("MINARI_DATASETS_PATH")
    real_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".aihfbench-build-", dir=real_root.parent))
    os.environ["MINARI_DATASETS_PATH"] = str(staging)
    try:
        yield staging
    finally:
        if previous is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = previous
        shutil.rmtree(staging, ignore_errors=True)


def _collect(env_id: str, dataset_id: str, checkpoints: list[dict[str, Any]], transitions: int, seed: int,
             description: str, progress: Callable[[int], None]) -> None:
    import gymnasium as gym
    import minari
    import torch

    from .policy import SquashedGaussianActor

    env = minari.DataCollector(gym.make(env_id), record_infos=False)
    actors = [SquashedGaussianActor.from_sbx_checkpoint(c["path"]) for c in checkpoints]
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    collected, episode = 0, 0
    while collected < transitions:
        actor = actors[episode % len(actors)]                   # round-robin over the grade's checkpoints
        obs, _ = env.reset(seed=int(rng.integers(2**31)))
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(actor.act(obs, deterministic=False, generator=generator))
            collected += 1
            done = terminated or truncated
        progress(collected)
        episode += 1
    env.create_dataset(dataset_id=dataset_id, algorithm_name="aihfbench experts (sbx SAC), " + RECIPE,
                       code_permalink="https://github.com/aihfbench/aihfbench", author="aihfbench",
                       description=description)
    env.close()


def _episodes(dataset_id: str) -> list[Any]:
    import minari

    return list(minari.load_dataset(dataset_id).iterate_episodes())


def _make_pairs(pool_episodes: list[Any], n_pairs: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 1])
    lengths = np.array([len(e.rewards) for e in pool_episodes])
    usable = np.flatnonzero(lengths >= SEGMENT)
    if len(usable) < 2:
        raise DataError("fewer than two pool episodes are 50 steps long: the low/medium checkpoints fall over at once")
    cumsum = [np.concatenate([[0.0], np.cumsum(e.rewards)]) for e in pool_episodes]
    a = rng.choice(usable, n_pairs)
    b = rng.choice(usable, n_pairs)
    same = a == b
    while same.any():                                            # segments come from different rollouts
        b[same] = rng.choice(usable, same.sum())
        same = a == b
    start_a = rng.integers(0, lengths[a] - SEGMENT + 1)
    start_b = rng.integers(0, lengths[b] - SEGMENT + 1)
    ret_a = np.array([cumsum[e][s + SEGMENT] - cumsum[e][s] for e, s in zip(a, start_a)])
    ret_b = np.array([cumsum[e][s + SEGMENT] - cumsum[e][s] for e, s in zip(b, start_b)])
    a_wins = ret_a >= ret_b
    pick = lambda x, y: np.where(a_wins, x, y)  # noqa: E731
    return {"chosen_episode": pick(a, b), "chosen_start": pick(start_a, start_b), "chosen_return": pick(ret_a, ret_b),
            "rejected_episode": pick(b, a), "rejected_start": pick(start_b, start_a),
            "rejected_return": pick(ret_b, ret_a)}


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def build(spec: BuildSpec, checkpoint_folder: Path, *, force: bool = False,
          progress: Callable[[str, int, int], None] = lambda stage, done, total: None) -> dict[str, Any]:
    """Build the splits of one task from its checkpoints (deterministic for a seed and platform)."""
    final = task_folder(spec)
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{spec.short}.build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)                     # one build of a task at a time
        if (final / "manifest.json").exists() and not force:  # built meanwhile by someone else
            return json.loads((final / "manifest.json").read_text())
        return _build_locked(spec, checkpoint_folder, final, progress)


def _build_locked(spec: BuildSpec, checkpoint_folder: Path, final: Path,
                  progress: Callable[[str, int, int], None]) -> dict[str, Any]:
    from datasets import Dataset

    started = time.perf_counter()
    checkpoints = load_checkpoints(checkpoint_folder)
    graded = grade(checkpoints)
    real_root = minari_root()
    with _minari_staging(real_root) as staging, tempfile.TemporaryDirectory(
            prefix=f".{spec.short}-tables-", dir=final.parent, ignore_cleanup_errors=True) as tables_dir:
        _collect(spec.env_id, spec.expert_id, graded["high"], spec.demo_transitions, spec.seed,
                 f"{spec.env_id} demonstrations: rollouts of high-quality SAC checkpoints ({RECIPE})",
                 lambda n: progress("demonstrations", n, spec.demo_transitions))
        _collect(spec.env_id, spec.pool_id, graded["low"] + graded["medium"], spec.pool_transitions, spec.seed + 1,
                 f"{spec.env_id} preference pool: rollouts of low- and medium-quality SAC checkpoints ({RECIPE})",
                 lambda n: progress("preference pool", n, spec.pool_transitions))
        pairs = _make_pairs(_episodes(spec.pool_id), spec.pairs, spec.seed)
        progress("pairs", spec.pairs, spec.pairs)

        tables = Path(tables_dir)                       # beside the final folder: os.replace is a rename
        Dataset.from_dict(pairs).to_parquet(str(tables / "pairs.parquet"))
        manifest = {
            "recipe": RECIPE, "env_id": spec.env_id, "build": {k: getattr(spec, k) for k in
                                                              ("demo_transitions", "pool_transitions", "pairs", "seed")},
            "datasets": {"expert": spec.expert_id, "pool": spec.pool_id},
            "checkpoints": {grade_name: [{"file": Path(c["path"]).name, "sha256": sha256_file(Path(c["path"])),
                                          "steps": c["steps"], "mean_return": c["mean_return"]} for c in members]
                            for grade_name, members in graded.items()},
            "files": {
                "pairs.parquet": sha256_file(tables / "pairs.parquet"),
                **{f"minari/{spec.expert_id}/{k}": v for k, v in _files(staging / spec.expert_id).items()},
                **{f"minari/{spec.pool_id}/{k}": v for k, v in _files(staging / spec.pool_id).items()},
            },
            "build_seconds": None,
        }
        manifest["build_seconds"] = round(time.perf_counter() - started, 1)
        atomic_write_json(tables / "manifest.json", manifest)
        # publish: remove the old manifest folder first (no manifest = not built), then move the
        # Minari datasets (staged beside Minari's root, so os.replace is a rename), the tables last
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            os.replace(final, old)
        for dataset_id in (spec.expert_id, spec.pool_id):
            target = real_root / dataset_id
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(staging / dataset_id, target)
        os.replace(tables, final)
        shutil.rmtree(old, ignore_errors=True)
    return manifest


def verify(spec: BuildSpec) -> dict[str, Any]:
    """Check every file against the manifest; one DataError line naming the first bad file."""
    final = task_folder(spec)
    manifest_path = final / "manifest.json"
    if not manifest_path.exists():
        raise DataError(f"{spec.short} data is not built: run `aihfbench data build {spec.short}`")
    manifest = json.loads(manifest_path.read_text())
    problem = first_bad_file(manifest["files"], lambda rel: minari_root() / rel.removeprefix("minari/")
                             if rel.startswith("minari/") else final / rel)
    if problem:
        raise DataError(f"{problem}: rebuild with `aihfbench data build {spec.short} --force`")
    return manifest
