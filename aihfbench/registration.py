"""Task registry, after Gymnasium's: frozen specs, lazy ``"module:attr"`` entry points,
versioned ids ``Name-aihf-vN``, case-insensitive aliases and "did you mean" errors.

>>> import aihfbench
>>> aihfbench.spec("bandit").id
'Bandit-aihf-v0'
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import json
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .errors import UnknownTaskError

ID_PATTERN = re.compile(r"^(?:(?P<namespace>[\w.-]+)/)?(?P<name>[A-Za-z][\w]*)-aihf(?:-v(?P<version>\d+))?$")
FAMILIES = ("bandit", "control", "text")


@dataclass(frozen=True)
class TaskSpec:
    """Everything needed to build a task and to compare results on it.

    ``datasets`` names the fixed splits (with their recipe version), ``reference_scores``
    the values results are normalised against, ``profiles`` the hyperparameter profiles
    the task ships; a change to any split or score bumps the id's version.
    """

    id: str
    entry_point: str | Callable[..., Any]
    family: str
    description: str = ""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    demo_unit: str = "demonstrations"
    pref_unit: str = "preference pairs"
    default_demos: int = 0
    default_prefs: int = 0
    reference_scores: Mapping[str, float] = field(default_factory=dict)
    primary_metric: str = "score"
    higher_is_better: bool = True
    profiles: tuple[str, ...] = ("smoke", "cpu", "paper")
    default_profile: str = "cpu"
    official_demos: tuple[int, ...] = ()      # the leaderboard grid: demos × prefs budgets
    official_prefs: tuple[int, ...] = ()
    official_seeds: int = 3                   # seeds 0..n-1 per budget
    seed_resamples_data: bool = False         # the run seed also draws the data (bandit: repeats)
    retired: str | None = None

    def __post_init__(self) -> None:
        match = ID_PATTERN.match(self.id)
        if not match or match["version"] is None:
            raise ValueError(f"task id {self.id!r} must look like 'Name-aihf-v0' (optionally 'namespace/Name-aihf-v0')")
        if self.family not in FAMILIES:
            raise ValueError(f"task family {self.family!r} must be one of {', '.join(FAMILIES)}")
        if self.default_profile not in self.profiles:
            raise ValueError(f"default profile {self.default_profile!r} is not among {self.profiles}")
        # Freeze the mappings too: a spec is a value, shared by every task made from it.
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))
        object.__setattr__(self, "reference_scores", MappingProxyType(dict(self.reference_scores)))
        object.__setattr__(self, "aliases", tuple(a.lower() for a in self.aliases))
        for name in ("datasets", "profiles", "official_demos", "official_prefs"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    @property
    def namespace(self) -> str | None:
        return ID_PATTERN.match(self.id)["namespace"]

    @property
    def name(self) -> str:
        return ID_PATTERN.match(self.id)["name"]

    @property
    def version(self) -> int:
        return int(ID_PATTERN.match(self.id)["version"])

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["kwargs"] = dict(self.kwargs)
        out["reference_scores"] = dict(self.reference_scores)
        for name in ("aliases", "datasets", "profiles", "official_demos", "official_prefs"):
            out[name] = list(out[name])
        ep = self.entry_point
        out["entry_point"] = ep if isinstance(ep, str) else f"{ep.__module__}:{ep.__qualname__}"
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)


registry: dict[str, TaskSpec] = {}


def register(id: str, entry_point: str | Callable[..., Any], **fields: Any) -> TaskSpec:
    """Register a task. Third-party code calls this at import time with its own ids."""
    spec_ = TaskSpec(id=id, entry_point=entry_point, **fields)
    if spec_.id in registry:
        raise ValueError(f"task {spec_.id!r} is already registered; bump its version (-v{spec_.version + 1}) instead")
    for alias in spec_.aliases:
        owner = _alias_owner(alias)
        if owner is not None and owner != _base(spec_):
            raise ValueError(f"alias {alias!r} already names {owner!r}")
    registry[spec_.id] = spec_
    return spec_


def _base(s: TaskSpec) -> str:
    return s.id.rsplit("-v", 1)[0]


def _alias_owner(alias: str) -> str | None:
    for s in registry.values():
        if alias in s.aliases:
            return _base(s)
    return None


def _latest(base: str) -> TaskSpec:
    versions = [s for s in registry.values() if _base(s) == base and s.retired is None]
    if not versions:
        versions = [s for s in registry.values() if _base(s) == base]
    return max(versions, key=lambda s: s.version)


def spec(id: str) -> TaskSpec:
    """Resolve an id, an unversioned id (-> latest) or an alias (any case) to its spec."""
    if isinstance(id, TaskSpec):
        return id
    text = str(id).strip()
    if text in registry:
        return registry[text]
    lowered = text.lower()
    for s in registry.values():
        if s.id.lower() == lowered:
            return s
    owner = _alias_owner(lowered)
    if owner is not None:
        return _latest(owner)
    bases = {_base(s).lower(): _base(s) for s in registry.values()}
    if lowered in bases:  # "Bandit-aihf" -> latest version
        return _latest(bases[lowered])
    match = ID_PATTERN.match(text)
    if match and match["version"] is not None:
        base = text.rsplit("-v", 1)[0].lower()
        if base in bases:
            known = sorted(s.id for s in registry.values() if _base(s) == bases[base])
            raise UnknownTaskError(f"unknown task version {text!r}: registered versions are {', '.join(known)}")
    raise UnknownTaskError(f"unknown task {text!r}{_suggestion(lowered)}; `aihfbench list` shows every task")


def _suggestion(lowered: str) -> str:
    names = {s.id.lower(): s.id for s in registry.values()}
    names.update({a: a for s in registry.values() for a in s.aliases})
    close = difflib.get_close_matches(lowered, list(names), n=1, cutoff=0.6)
    return f": did you mean {names[close[0]]!r}?" if close else ""


def load_entry_point(ref: str | Callable[..., Any]) -> Callable[..., Any]:
    """``"package.module:Attr"`` -> the object, imported only when first needed."""
    if callable(ref):
        return ref
    module_name, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def make(id: str, **kwargs: Any) -> Any:
    """Build a task: ``aihfbench.make("Bandit-aihf-v0", covered=40)``."""
    s = spec(id)
    if s.retired:
        raise UnknownTaskError(f"{s.id} is retired: {s.retired}")
    factory = load_entry_point(s.entry_point)
    return factory(spec=s, **{**s.kwargs, **kwargs})


def list_tasks(include_retired: bool = False) -> list[TaskSpec]:
    return sorted((s for s in registry.values() if include_retired or not s.retired), key=lambda s: s.id)
