import pytest

import aihfbench
from aihfbench.algos import get_algo
from aihfbench.algos.aihf import AIHFConfig
from aihfbench.config import load_profile, resolve
from aihfbench.errors import ConfigError

BANDIT = aihfbench.spec("bandit")


def test_precedence_config_defaults_then_profile_then_overrides():
    assert AIHFConfig().alpha == 1.0                                       # paper-style default
    assert resolve(get_algo("aihf"), BANDIT, "cpu").algo.alpha == "ratio"  # bandit profile: eq. 23
    cfg = resolve(get_algo("aihf"), BANDIT, "cpu", ["algo.alpha=0.5", "algo.iterations=7"]).algo
    assert cfg.alpha == 0.5 and cfg.iterations == 7 and cfg.reward_lr == 1.0


def test_nested_and_task_overrides():
    resolved = resolve(get_algo("dpo"), BANDIT, "smoke", ["algo.sft.lr=0.01", "task.covered=40", "task.preset=example1"])
    assert resolved.algo.sft.lr == 0.01
    assert resolved.task_kwargs == {"covered": 40, "preset": "example1"}
    assert resolved.to_dict()["algo_config"]["sft"]["lr"] == 0.01


@pytest.mark.parametrize("override,message", [
    ("algo.alhpa=1", "unknown override key 'algo.alhpa' for aihf: did you mean 'algo.alpha'"),
    ("algo.iterations=many", "bad value in 'algo.iterations=many'"),
    ("algo.alpha=lots", "alpha must be a number >= 0 or 'ratio'"),
    ("algo.alpha=-1", "alpha must be a number >= 0"),
    ("alpha=1", "must start with 'algo.' or 'task.'"),
    ("algo.alpha", "must look like algo.alpha=0.5"),
    ("algo.alpha=[1", "bad value"),
])
def test_bad_overrides_are_one_line_config_errors(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")) as info:
        resolve(get_algo("aihf"), BANDIT, "cpu", [override])
    assert "\n" not in str(info.value)


def test_unknown_profile_names_the_choices():
    with pytest.raises(ConfigError, match="no profile 'gpu': choose one of smoke, cpu, paper"):
        load_profile(BANDIT, "gpu")


def test_control_profiles_and_deep_task_overrides():
    hopper = aihfbench.spec("hopper")
    cpu = resolve(get_algo("aihf"), hopper, "cpu")
    assert cpu.algo.policy_steps == 5000 and cpu.algo.iterations == 20           # paper A.2.1: 5k SAC steps per alignment
    assert cpu.task_kwargs["sac"]["hidden"] == [64, 64] and cpu.runner["eval_every"]["env_steps"] == 10_000
    assert resolve(get_algo("aihf"), hopper, "paper").task_kwargs["sac"]["learning_rate"] == 3e-3
    over = resolve(get_algo("rlhf"), hopper, "cpu", ["task.sac.learning_rate=0.001", "algo.sft.steps=5"])
    assert over.task_kwargs["sac"] == {**cpu.task_kwargs["sac"], "learning_rate": 0.001}   # merged, not replaced
    assert over.algo.sft.steps == 5 and over.algo.sft.lr == 1e-3
