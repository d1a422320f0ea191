"""Where built text splits live, and how they are built and checked: one folder per
(dataset, profile) under the data root, built in a staging folder under a lock and swapped in
atomically, with a manifest pinning the sha256 of every file."""
from __future__ import annotations

import fcntl
import json
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..errors import AihfbenchError
from ..io import atomic_write_json, data_root, first_bad_file, replace_dir, sha256_file


class TextDataError(AihfbenchError):
    pass


# Offline policy bases: a tokenizer + small GPT-2 trained by the build, or SmolLM2-135M-Instruct (text/smollm2.py)
POLICY_BASES = ("scratch", "smollm2")


def check_base(base: str) -> None:
    if base not in POLICY_BASES:
        raise TextDataError(f"split base must be one of {', '.join(POLICY_BASES)}, not {base!r}")


def task_folder(dataset: str, profile: str = "offline") -> Path:
    return data_root() / dataset / f"{profile}-v0"


def is_built(dataset: str, profile: str = "offline") -> bool:
    return (task_folder(dataset, profile) / "manifest.json").exists()


def locked_build(dataset: str, profile: str, make: Callable[[Path], dict[str, Any]], *,
                 force: bool = False) -> dict[str, Any]:
    """Run ``make(staging_folder) -> manifest facts`` unless the split is built (or ``force``);
    the manifest gets the sha256 of every file ``make`` wrote."""
    final = task_folder(dataset, profile)
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{profile}.build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "manifest.json").exists() and not force:
            return json.loads((final / "manifest.json").read_text())
        with tempfile.TemporaryDirectory(prefix=f".{profile}-build-", dir=final.parent,
                                         ignore_cleanup_errors=True) as staging:
            folder = Path(staging)
            facts = make(folder)
            files = {str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}
            manifest = {**facts, "files": files}
            atomic_write_json(folder / "manifest.json", manifest)
            replace_dir(staging, final)
            Path(staging).mkdir()          # let TemporaryDirectory clean up an empty folder
    return manifest


def verify(dataset: str, profile: str = "offline", build_hint: str = "") -> dict[str, Any]:
    final = task_folder(dataset, profile)
    path = final / "manifest.json"
    hint = build_hint or f"aihfbench data build {dataset}"
    if not path.exists():
        raise TextDataError(f"{dataset} {profile} data is not built: run `{hint}`")
    manifest = json.loads(path.read_text())
    problem = first_bad_file(manifest["files"], lambda rel: final / rel)
    if problem:
        raise TextDataError(f"{problem}: rebuild with `{hint} --force`")
    return manifest
