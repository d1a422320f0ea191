"""Atomic file writing: a reader sees the old file or the whole new one, never half."""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable


_UMASK = os.umask(0)
os.umask(_UMASK)


def finite_json(value: Any) -> Any:
    """JSON has no Infinity/NaN: write them as null (documented per metric)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)          # mkstemp makes 0600; give files the usual mode
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_dir(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Swap a complete folder ``src`` in as ``dst``. The previous ``dst`` waits as ``<dst>.old``
    until the swap is done, so a kill at any moment leaves ``dst``, ``<dst>.old`` or both."""
    src, dst = Path(src), Path(dst)
    old = dst.with_name(dst.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if dst.exists():
        os.replace(dst, old)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


def sha256_file(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, read in 1 MiB blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_root() -> Path:
    """Built splits, tables and manifests: ``$AIHFBENCH_DATA`` or ``~/.cache/aihfbench``."""
    return Path(os.environ.get("AIHFBENCH_DATA", Path.home() / ".cache" / "aihfbench"))


def first_bad_file(files: dict[str, str], locate: Callable[[str], Path]) -> str | None:
    """Check ``{relative name: sha256}`` against the files ``locate(name)`` finds; the first
    problem as ``"<path> is missing"`` / ``"<path> does not match its checksum ..."``, else None."""
    for rel, expected in files.items():
        path = locate(rel)
        if not path.exists():
            return f"{path} is missing"
        if sha256_file(path) != expected:
            return f"{path} does not match its checksum (corrupted or truncated)"
    return None


def atomic_write_json(path: str | os.PathLike, data: Any) -> None:
    atomic_write_text(path, json.dumps(finite_json(data), indent=2, sort_keys=True, allow_nan=False) + "\n")
