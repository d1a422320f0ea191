"""Where a result came from: package versions, git commit, platform."""
from __future__ import annotations

import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

TRACKED = ("aihfbench", "torch", "numpy", "omegaconf", "gymnasium", "minari", "stable-baselines3", "sbx-rl",
           "mujoco", "transformers", "trl", "datasets")


def package_versions() -> dict[str, str]:
    out = {}
    for name in TRACKED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def git_commit() -> dict[str, object]:
    """The commit of the aihfbench checkout (None for an installed wheel) and whether it was dirty."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=5)
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def provenance() -> dict[str, object]:
    return {
        "versions": package_versions(),
        "git": git_commit(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }
