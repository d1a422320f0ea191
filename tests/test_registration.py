import dataclasses

import pytest

import aihfbench
from aihfbench import registration
from aihfbench.errors import UnknownTaskError
from aihfbench.tasks.base import Task


@pytest.fixture
def scratch_registry(monkeypatch):
    """Register test tasks without leaking them into other tests."""
    monkeypatch.setattr(registration, "registry", dict(registration.registry))
    return registration.registry


class EchoTask(Task):
    def __init__(self, spec, size=3):
        super().__init__(spec)
        self.size = size

    def _demo_split(self): ...
    def _pref_split(self): ...
    def evaluate(self, policy): return {}
    def primitives(self, seed=0): return None
    def fingerprint(self): return {}


@pytest.mark.parametrize("name", ["Bandit-aihf-v0", "bandit", "BANDIT", "bandit-AIHF-v0", "Bandit-aihf", " bandit "])
def test_ids_aliases_and_unversioned_resolve(name):
    assert aihfbench.spec(name).id == "Bandit-aihf-v0"


def test_make_returns_task_carrying_its_spec():
    task = aihfbench.make("Bandit-aihf-v0")
    assert task.spec is aihfbench.spec("bandit")
    assert "Bandit-aihf-v0" in repr(task)


@pytest.mark.parametrize("typo,suggestion", [("bandt", "bandit"), ("Bandid-aihf-v0", "Bandit-aihf-v0")])
def test_unknown_id_suggests_the_closest(typo, suggestion):
    with pytest.raises(UnknownTaskError, match=f"did you mean '{suggestion}'"):
        aihfbench.make(typo)


def test_unknown_version_lists_the_registered_ones():
    with pytest.raises(UnknownTaskError, match="registered versions are Bandit-aihf-v0"):
        aihfbench.spec("Bandit-aihf-v7")


def test_nothing_close_gives_no_suggestion():
    with pytest.raises(UnknownTaskError) as info:
        aihfbench.spec("zzzzzz")
    assert "did you mean" not in str(info.value)


def test_spec_is_frozen_including_its_mappings():
    s = aihfbench.spec("bandit")
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.id = "x"
    with pytest.raises(TypeError):
        s.kwargs["n_actions"] = 3


def test_third_party_registration_latest_version_and_retirement(scratch_registry):
    aihfbench.register("lab/Echo-aihf-v0", EchoTask, family="bandit", aliases=("Echo",),
                       retired="v0's split had duplicated pairs; use lab/Echo-aihf-v1")
    aihfbench.register("lab/Echo-aihf-v1", f"{EchoTask.__module__}:EchoTask", family="bandit", kwargs={"size": 5})
    assert aihfbench.spec("echo").id == "lab/Echo-aihf-v1"          # alias -> latest live version
    assert aihfbench.spec("lab/echo-aihf").id == "lab/Echo-aihf-v1"
    task = aihfbench.make("echo", size=7)                            # lazy "module:attr" entry point
    assert isinstance(task, EchoTask) and task.size == 7
    assert aihfbench.make("lab/Echo-aihf-v1").size == 5              # spec kwargs are defaults
    with pytest.raises(UnknownTaskError, match="retired: v0's split"):
        aihfbench.make("lab/Echo-aihf-v0")
    assert "lab/Echo-aihf-v0" not in [s.id for s in aihfbench.list_tasks()]
    assert "lab/Echo-aihf-v0" in [s.id for s in aihfbench.list_tasks(include_retired=True)]


def test_duplicate_ids_bad_ids_and_alias_clashes_are_refused(scratch_registry):
    with pytest.raises(ValueError, match="already registered"):
        aihfbench.register("Bandit-aihf-v0", EchoTask, family="bandit")
    with pytest.raises(ValueError, match="must look like"):
        aihfbench.register("Echo-v0", EchoTask, family="bandit")
    with pytest.raises(ValueError, match="family"):
        aihfbench.register("Echo-aihf-v0", EchoTask, family="vision")
    with pytest.raises(ValueError, match="alias 'bandit' already names"):
        aihfbench.register("Other-aihf-v0", EchoTask, family="bandit", aliases=("bandit",))


def test_spec_json_round_trip_keeps_every_field():
    import json

    s = aihfbench.spec("bandit")
    data = json.loads(s.to_json())
    assert data["id"] == s.id and data["entry_point"] == "aihfbench.tasks.bandit:BanditTask"
    assert registration.TaskSpec(**data) == s
