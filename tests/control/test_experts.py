import json

import numpy as np
import pytest

pytest.importorskip("sbx")

from aihfbench.control.experts import ExpertConfig, resolve_env, ship, train  # noqa: E402
from aihfbench.control.policy import SquashedGaussianActor  # noqa: E402
from aihfbench.errors import AihfbenchError  # noqa: E402


def progress(folder):
    return [json.loads(line)["steps"] for line in (folder / "progress.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("algo", ["sac", "crossq"])
def test_training_checkpoints_and_resumes_where_it_stopped(tmp_path, algo):
    config = ExpertConfig("Hopper-v5", algo=algo, total_steps=600, checkpoint_every=300, eval_episodes=1,
                          learning_starts=200, net_arch=(32, 32))
    folder = train(config, tmp_path)
    assert progress(folder) == [300, 600]
    meta = json.loads((folder / "checkpoints" / "step-000000600.json").read_text())
    assert meta["steps"] == 600 and len(meta["episode_returns"]) == 1 and np.isfinite(meta["mean_return"])

    train(ExpertConfig(**{**config.__dict__, "total_steps": 900}), tmp_path)          # a restart continues
    assert progress(folder) == [300, 600, 900]

    (folder / "state" / "replay.npz").unlink()                                     # as after a fresh clone
    train(ExpertConfig(**{**config.__dict__, "total_steps": 1200}), tmp_path)
    assert progress(folder) == [300, 600, 900, 1200]


def test_the_torch_actor_reproduces_the_checkpointed_policy(tmp_path):
    import gymnasium as gym
    from flax.serialization import from_bytes
    from sbx import SAC

    folder = train(ExpertConfig("Hopper-v5", total_steps=400, checkpoint_every=400, eval_episodes=1,
                                learning_starts=200, net_arch=(32, 32)), tmp_path)
    actor = SquashedGaussianActor.from_sbx_checkpoint(folder / "checkpoints" / "step-000000400.safetensors")
    model = SAC("MlpPolicy", gym.make("Hopper-v5"), policy_kwargs={"net_arch": [32, 32]})
    model.policy.actor_state = from_bytes(model.policy.actor_state, (folder / "state" / "actor.msgpack").read_bytes())
    obs = np.random.default_rng(0).normal(size=(8, 11)).astype(np.float32)
    np.testing.assert_allclose(actor.act(obs), model.predict(obs, deterministic=True)[0], atol=1e-5)


def test_ship_copies_the_graded_checkpoints_only(tmp_path):
    from tests.control.conftest import fake_checkpoints

    source = fake_checkpoints(tmp_path / "src", returns=(100.0, 400.0, 700.0, 1000.0))   # 100 is below every grade
    shipped = ship("HalfCheetah-v5", source, tmp_path / "pkg")
    assert [c["grade"] for c in shipped] == ["low", "medium", "high"]
    assert sorted(p.name for p in (tmp_path / "pkg").glob("*.safetensors")) == [
        "step-000020000.safetensors", "step-000030000.safetensors", "step-000040000.safetensors"]


def test_environment_names():
    assert resolve_env("walker2d") == "Walker2d-v5" and resolve_env("HalfCheetah-v5") == "HalfCheetah-v5"
    with pytest.raises(AihfbenchError, match="choose one of Hopper-v5"):
        resolve_env("Ant-v5")
