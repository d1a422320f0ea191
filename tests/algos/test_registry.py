from dataclasses import dataclass

import numpy as np
import pytest

import aihfbench.algos as algos
from aihfbench.algos import AlgoBase, Trained, get_algo, list_algos
from aihfbench.errors import UnknownAlgoError


def test_builtin_names_case_insensitive():
    assert list_algos() == ["aihf", "aihf-dpo", "bc", "dpo", "rlhf"]
    assert get_algo("AIHF").name == "aihf" and get_algo("aihf-dpo").name == "aihf-dpo"
    for name in list_algos():
        cls = get_algo(name)
        assert cls().config == cls.Config()              # defaults constructible


def test_unknown_algo_suggests():
    with pytest.raises(UnknownAlgoError, match="did you mean 'aihf-dpo'"):
        get_algo("aihf_dpo")
    with pytest.raises(UnknownAlgoError, match="cannot import algorithm"):
        get_algo("no_such_pkg.mod:Algo")
    with pytest.raises(UnknownAlgoError, match="lacks name, Config, fit"):
        get_algo("collections:OrderedDict")

    class DictConfig(Uniform):
        Config = dict

    with pytest.raises(UnknownAlgoError, match="Config must be a dataclass"):
        algos._check(DictConfig, "DictConfig")


@dataclass
class UniformConfig:
    note: str = "baseline"


class Uniform(AlgoBase):
    """Ignores the feedback: the uniform policy (a baseline every method should beat)."""

    name = "uniform"
    Config = UniformConfig
    uses = ()

    def fit(self, task, demos, prefs, *, seed, log):
        return Trained(policy=task.primitives(seed).initial_policy())


class FakeEntryPoint:
    name = "uniform-ep"

    def load(self):
        return Uniform


def test_entry_point_group_and_module_references(monkeypatch):
    monkeypatch.setattr(algos, "entry_points", lambda group: [FakeEntryPoint()] if group == "aihfbench.algos" else [])
    assert "uniform-ep" in list_algos()
    assert get_algo("uniform-ep") is Uniform
    assert get_algo(f"{__name__}:Uniform") is Uniform


def test_a_third_party_algorithm_runs_through_the_runner(tmp_path):
    from aihfbench.runner import Cell, run

    record = run(Cell("bandit", f"{__name__}:Uniform", demos="1k", prefs="10k"), out=tmp_path)
    assert record["algo"] == "uniform" and record["config"] == {"note": "baseline"}
    assert record["metrics"]["uncovered_mass"] == pytest.approx(5 / 50)
    np.testing.assert_allclose(record["task_record"]["policy_probs"], np.full(50, 0.02))
