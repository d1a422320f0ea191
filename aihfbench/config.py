"""Resolve a run's configuration: Config defaults (paper values) < profile YAML
(family file, then an optional per-task file) < ``algo.key=value`` / ``task.key=value``
overrides, merged with OmegaConf. Every mistake becomes one ConfigError line."""
from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any, Sequence

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from .errors import ConfigError
from .registration import TaskSpec


@dataclass
class Resolved:
    algo: Any                      # the algorithm's Config dataclass instance
    task_kwargs: dict[str, Any]    # passed to aihfbench.make
    runner: dict[str, Any]         # runner settings of the profile (e.g. eval_every)
    profile: str
    overrides: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"profile": self.profile, "overrides": list(self.overrides), "task_kwargs": self.task_kwargs,
                "runner": self.runner, "algo_config": OmegaConf.to_container(OmegaConf.structured(self.algo))}


def load_profile(spec: TaskSpec, profile: str) -> dict[str, Any]:
    """Profile section for a task: ``profiles/<family>.yaml`` then ``profiles/<task name>.yaml``."""
    if profile not in spec.profiles:
        raise ConfigError(f"{spec.id} has no profile {profile!r}: choose one of {', '.join(spec.profiles)}")
    return copy.deepcopy(_profile_section(spec.family, spec.name.lower(), profile))


@functools.lru_cache(maxsize=None)
def _profile_section(family: str, task_name: str, profile: str) -> dict[str, Any]:
    """Parsed once per process: the YAML files ship with the package and do not change."""
    merged = OmegaConf.create({"task": {}, "algos": {}, "runner": {}})
    for stem in (family, task_name):
        path = resources.files("aihfbench") / "profiles" / f"{stem}.yaml"
        if path.is_file():
            section = OmegaConf.create(path.read_text()).get(profile)
            if section is not None:
                merged = OmegaConf.merge(merged, section)
    return OmegaConf.to_container(merged)


def _field_names(cls: type, prefix: str = "") -> list[str]:
    names = []
    for f in dataclasses.fields(cls):
        names.append(prefix + f.name)
        if dataclasses.is_dataclass(f.default_factory if f.default_factory is not dataclasses.MISSING else None):
            names += _field_names(f.default_factory, prefix + f.name + ".")
    return names


def _split(overrides: Sequence[str]) -> tuple[list[str], list[str]]:
    algo, task = [], []
    for item in overrides:
        key, eq, _ = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"override {item!r} must look like algo.alpha=0.5 or task.covered=40")
        scope, dot, rest = key.strip().partition(".")
        if not dot or scope not in ("algo", "task") or not rest:
            raise ConfigError(f"override key {key!r} must start with 'algo.' or 'task.' (e.g. algo.alpha=0.5)")
        (algo if scope == "algo" else task).append(item.strip()[len(scope) + 1:])
    return algo, task


def resolve(algo_cls: type, spec: TaskSpec, profile: str, overrides: Sequence[str] = ()) -> Resolved:
    section = load_profile(spec, profile)
    algo_over, task_over = _split(overrides)
    name = algo_cls.name
    base = OmegaConf.structured(algo_cls.Config)
    try:
        base = OmegaConf.merge(base, section["algos"].get(name) or {})
    except OmegaConfBaseException as exc:
        raise ConfigError(f"profile {profile!r} of {spec.id} is invalid for {name}: {str(exc).splitlines()[0]}") from None
    for item in algo_over:  # one at a time, to name the culprit
        key = item.partition("=")[0]
        try:
            base = OmegaConf.merge(base, OmegaConf.from_dotlist([item]))
        except ConfigKeyError:
            fields = _field_names(algo_cls.Config)
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"did you mean 'algo.{close[0]}'? " if close else ""
            raise ConfigError(f"unknown override key 'algo.{key}' for {name}: {hint}keys are "
                              + ", ".join(fields)) from None
        except (ValidationError, OmegaConfBaseException, yaml.YAMLError) as exc:
            raise ConfigError(f"bad value in 'algo.{item}': {str(exc).splitlines()[0]}; quote strings, e.g. algo.alpha=ratio") from None
    try:
        algo_config = OmegaConf.to_object(base)  # runs the Config's own checks (__post_init__)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid {name} configuration: {exc}") from None
    task_kwargs = dict(section.get("task") or {})
    if task_over:
        try:
            task_kwargs = OmegaConf.to_container(OmegaConf.merge(OmegaConf.create(task_kwargs),
                                                                 OmegaConf.from_dotlist(task_over)))
        except (OmegaConfBaseException, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot parse task override(s) {task_over}: {str(exc).splitlines()[0]}") from None
    return Resolved(algo=algo_config, task_kwargs=task_kwargs, runner=dict(section.get("runner") or {}),
                    profile=profile, overrides=tuple(overrides))
