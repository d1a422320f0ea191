"""Algorithm registry: built-in names, the ``aihfbench.algos`` entry-point group, and
``"package.module:Class"`` references for unregistered third-party code."""
from __future__ import annotations

import dataclasses
import difflib
from importlib.metadata import entry_points
from typing import Any

from ..errors import UnknownAlgoError
from ..registration import load_entry_point
from .base import Algo, AlgoBase, Logger, Trained, gradient_steps

ENTRY_POINT_GROUP = "aihfbench.algos"
_BUILTIN = {
    "bc": "aihfbench.algos.bc:BC",
    "rlhf": "aihfbench.algos.rlhf:RLHF",
    "dpo": "aihfbench.algos.dpo:DPO",
    "aihf": "aihfbench.algos.aihf:AIHF",
    "aihf-dpo": "aihfbench.algos.aihf_dpo:AIHFDPO",
}
_registered: dict[str, Any] = {}


def register_algo(cls: Any) -> Any:
    """Class decorator for algorithms defined in code (tests, notebooks)."""
    _check(cls, cls)
    _registered[cls.name.lower()] = cls
    return cls


def _entry_points() -> dict[str, Any]:
    return {ep.name.lower(): ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _known() -> dict[str, Any]:
    return {**_entry_points(), **_BUILTIN, **_registered}


def list_algos() -> list[str]:
    return sorted(_known())


def _check(cls: Any, ref: Any) -> Any:
    missing = [a for a in ("name", "Config", "fit") if not hasattr(cls, a)]
    if missing:
        raise UnknownAlgoError(f"{ref!r} is not an aihfbench algorithm: it lacks {', '.join(missing)} (see aihfbench.algos.base.Algo)")
    if not dataclasses.is_dataclass(cls.Config):
        raise UnknownAlgoError(f"{ref!r}: its Config must be a dataclass (one field per hyperparameter)")
    return cls


def get_algo(name: str) -> Any:
    """``"aihf"`` / ``"AIHF"`` / an entry-point name / ``"my_pkg.module:MyAlgo"`` -> the class."""
    key = str(name).strip().lower()
    known = {**_BUILTIN, **_registered}                 # cheap first: no entry-point scan
    if key not in known:
        known = _known()
    if key in known:
        target = known[key]
        try:
            cls = target.load() if hasattr(target, "load") else load_entry_point(target)
        except (ImportError, AttributeError) as exc:
            raise UnknownAlgoError(f"algorithm {name!r} is registered but cannot be imported ({exc}); "
                                   "reinstall the package that provides it") from None
        return _check(cls, name)
    if ":" in name:
        try:
            cls = load_entry_point(name)
        except (ImportError, AttributeError) as exc:
            raise UnknownAlgoError(f"cannot import algorithm {name!r} ({exc}); check the module path and that it is installed") from None
        return _check(cls, name)
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
    hint = f": did you mean {close[0]!r}?" if close else ""
    raise UnknownAlgoError(f"unknown algorithm {name!r}{hint}; known: {', '.join(sorted(known))}")


__all__ = ["Algo", "AlgoBase", "Trained", "Logger", "gradient_steps", "get_algo", "list_algos", "register_algo", "ENTRY_POINT_GROUP"]
